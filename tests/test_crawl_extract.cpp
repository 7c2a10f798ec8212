// weft::crawl extraction: xpath, html_document (select, links, base_url), regex links.
#include <weft/crawl/extract.hpp>
#include <weft/crawl/url.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using weft::crawl::compile_regex;
using weft::crawl::html_document;
using weft::crawl::regex_links;
using weft::crawl::xpath;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

namespace {

// A page with the messy cases real galleries have.
constexpr const char* messy_page = R"html(<!DOCTYPE html>
<HTML><HEAD>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<BASE HREF="/gallery/">
<base href="/ignored/">
<title> 美女 图片 </title>
</HEAD>
<BODY>
<div class=list><ul>
<li><a href="p1.html"><img src="a.jpg" alt="relative"></a>
<li><IMG SRC=B.JPG ALT=unquoted-upper-case>
<li><img src="/root.jpg" alt="root-relative">
<li><img src="//cdn.example.net/p.jpg" alt="protocol-relative">
<li><img src="https://other.example/x.jpg" alt="absolute">
<li><img src="thumb.php?id=1&amp;size=big" alt="entity">
<li><img src="thumb.php?id=2&amp;size=big" alt="second query">
<li><img src="%E5%9B%BE.jpg" alt="percent-encoded">
<li><img src="图 2.jpg" alt="non-ascii">
<li><img src="a.jpg" alt="duplicate">
<li><img src="javascript:void(0)" alt="script">
<li><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="lazy.jpg" alt="lazy">
<li><img srcset="s1.jpg 1x, s2.jpg 2x" alt="srcset">
<li><picture><source SRCSET="w,1.jpg 640w,w2.jpg 1280w"><img src="pic.jpg" alt="picture"></picture>
</ul>
<table><tr><td><img src="t.jpg" alt="table"></td></td><td><p>unclosed <b>bold <img src=u.jpg alt=broken>
</table></div>
<a href="index_3.html" class="next">next</a>
</BODY></HTML>
)html";

constexpr const char* messy_url = "http://example.org/list/page.html";

std::string invalid_argument_message(const auto& f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Xpath, CompilesAndKeepsItsText) {
    xpath x("//img/@src");
    EXPECT_EQ(x.text(), "//img/@src");
    xpath moved(std::move(x));
    EXPECT_EQ(moved.text(), "//img/@src");
    xpath assigned("//a");
    assigned = std::move(moved);
    EXPECT_EQ(assigned.text(), "//img/@src");
}

TEST(Xpath, BadExpressionThrowsNamingItAndPrintsNothing) {
    testing::internal::CaptureStderr();
    std::string message = invalid_argument_message([] { xpath("//img[@src"); });
    std::string unclosed = invalid_argument_message([] { xpath("//img/@"); });
    std::string printed = testing::internal::GetCapturedStderr();
    EXPECT_EQ(message, "bad XPath '//img[@src': Invalid predicate at column 11");
    EXPECT_EQ(unclosed, "bad XPath '//img/@': Invalid expression at column 8");
    EXPECT_EQ(printed, "");
}

TEST(Xpath, EvaluationErrorThrowsNamingTheExpression) {
    html_document doc("<p>x</p>", "http://h/");
    testing::internal::CaptureStderr();
    std::string message = invalid_argument_message([&] { doc.select(xpath("no-such-function(//p)")); });
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    EXPECT_THAT(message, StartsWith("bad XPath 'no-such-function(//p)': "));
}

TEST(HtmlDocument, BaseHrefIsTheFirstResolvedAgainstThePage) {
    html_document doc(messy_page, messy_url);
    EXPECT_EQ(doc.base_url(), "http://example.org/gallery/");

    html_document none("<img src=a.jpg>", "http://h/a/p.html");
    EXPECT_EQ(none.base_url(), "http://h/a/p.html");
    EXPECT_THAT(none.links(xpath("//img/@src")), ElementsAre("http://h/a/a.jpg"));

    html_document relative("<head><base href='../c/'></head><img src=x.jpg>", "http://h/a/b/p.html");
    EXPECT_EQ(relative.base_url(), "http://h/a/c/");
    EXPECT_THAT(relative.links(xpath("//img/@src")), ElementsAre("http://h/a/c/x.jpg"));

    html_document unusable("<base href='javascript:x'><img src=x.jpg>", "http://h/a/p.html");
    EXPECT_EQ(unusable.base_url(), "http://h/a/p.html");
}

TEST(HtmlDocument, MessyPageLinks) {
    html_document doc(messy_page, messy_url);
    auto images = doc.links(xpath("//img/@src"));
    EXPECT_THAT(images, ElementsAre("http://example.org/gallery/a.jpg",                 //
                                    "http://example.org/gallery/B.JPG",                 // unquoted, upper case
                                    "http://example.org/root.jpg",                      //
                                    "http://cdn.example.net/p.jpg",                     //
                                    "https://other.example/x.jpg",                      //
                                    "http://example.org/gallery/thumb.php?id=1&size=big",  // &amp; decoded
                                    "http://example.org/gallery/thumb.php?id=2&size=big",  // another image
                                    "http://example.org/gallery/%E5%9B%BE.jpg",         // not double-encoded
                                    "http://example.org/gallery/%E5%9B%BE%202.jpg",     // encoded
                                    "http://example.org/gallery/pic.jpg",               //
                                    "http://example.org/gallery/t.jpg",                 // broken markup
                                    "http://example.org/gallery/u.jpg"));
    EXPECT_NE(weft::crawl::normalize_url(images[5]), weft::crawl::normalize_url(images[6]));
}

TEST(HtmlDocument, LazyLoadAndSrcsetThroughSelect) {
    html_document doc(messy_page, messy_url);
    EXPECT_THAT(doc.links(xpath("//img/@data-src")), ElementsAre("http://example.org/gallery/lazy.jpg"));
    EXPECT_THAT(doc.select(xpath("//@srcset")), ElementsAre("s1.jpg", "s2.jpg", "w,1.jpg", "w2.jpg"));
    EXPECT_THAT(doc.links(xpath("//img/@src | //@srcset")),
                ::testing::Contains("http://example.org/gallery/w,1.jpg"));
}

TEST(HtmlDocument, SrcsetCandidatesFollowTheHtmlStandard) {
    auto srcset = [](const std::string& value) {
        html_document doc("<img srcset=\"" + value + "\" data-srcset=\"" + value + "\">", "http://h/");
        auto plain = doc.select(xpath("//img/@srcset"));
        EXPECT_EQ(plain, doc.select(xpath("//img/@data-srcset"))) << value;
        return plain;
    };
    EXPECT_THAT(srcset("a.jpg"), ElementsAre("a.jpg"));
    EXPECT_THAT(srcset("a.jpg 1x, b.jpg 2x"), ElementsAre("a.jpg", "b.jpg"));
    EXPECT_THAT(srcset("a.jpg 1x,b.jpg 2x"), ElementsAre("a.jpg", "b.jpg"));
    EXPECT_THAT(srcset("a.jpg, b.jpg 2x"), ElementsAre("a.jpg", "b.jpg"));
    EXPECT_THAT(srcset("a.jpg,b.jpg"), ElementsAre("a.jpg,b.jpg"));  // one URL with a comma
    EXPECT_THAT(srcset("  ,, a.jpg ,  b.jpg 100w ,"), ElementsAre("a.jpg", "b.jpg"));
    EXPECT_THAT(srcset("a.jpg 100w (max, width), b.jpg"), ElementsAre("a.jpg", "b.jpg"));
    EXPECT_THAT(srcset("img.php?a=1,2 1x, c.jpg 2x"), ElementsAre("img.php?a=1,2", "c.jpg"));
    EXPECT_THAT(srcset(""), IsEmpty());
}

TEST(HtmlDocument, SelectResultKinds) {
    html_document doc(messy_page, messy_url);
    EXPECT_THAT(doc.select(xpath("//title")), ElementsAre("美女 图片"));
    EXPECT_THAT(doc.select(xpath("string(//a[@class='next']/@href)")), ElementsAre("index_3.html"));
    EXPECT_THAT(doc.select(xpath("count(//ul/li)")), ElementsAre("14"));
    EXPECT_THAT(doc.select(xpath("boolean(//table)")), ElementsAre("true"));
    EXPECT_THAT(doc.select(xpath("//a[@class='next']/text()")), ElementsAre("next"));
    EXPECT_THAT(doc.select(xpath("string(//nothing)")), IsEmpty());
    EXPECT_THAT(doc.links(xpath("//a[@class='next']/@href")), ElementsAre("http://example.org/gallery/index_3.html"));
}

TEST(HtmlDocument, MetaCharsetDoesNotReDecodeUtf8) {
    std::string html = "<html><head><meta charset=\"gbk\"><title>中文图片</title></head>"
                       "<body><p>你好，世界</p><img src=\"图.jpg\"></body></html>";
    html_document doc(html, "http://h/");
    EXPECT_THAT(doc.select(xpath("//title")), ElementsAre("中文图片"));
    EXPECT_THAT(doc.select(xpath("//p")), ElementsAre("你好，世界"));
    EXPECT_THAT(doc.links(xpath("//img/@src")), ElementsAre("http://h/%E5%9B%BE.jpg"));

    std::string equiv = "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"><p>图片</p>";
    EXPECT_THAT(html_document(equiv, "http://h/").select(xpath("//p")), ElementsAre("图片"));
}

TEST(HtmlDocument, BrokenAndEmptyInputIsQuiet) {
    testing::internal::CaptureStderr();
    html_document broken("<div><td></td></td><p><img src=a.jpg <img src=b.jpg></span>&bogus; <", "http://h/");
    auto images = broken.select(xpath("//img/@src"));
    html_document empty("", "http://h/");
    auto none = empty.select(xpath("//img/@src"));
    auto count = empty.select(xpath("count(//img)"));
    html_document nul(std::string_view("<img src=a.jpg>\0<img src=b.jpg>", 31), "http://h/");
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    EXPECT_FALSE(images.empty());
    EXPECT_THAT(none, IsEmpty());
    EXPECT_THAT(count, ElementsAre("0"));
    EXPECT_THAT(nul.select(xpath("//img/@src")), ::testing::Contains("a.jpg"));
}

TEST(HtmlDocument, IsMoveOnly) {
    html_document a("<img src=a.jpg>", "http://h/d/");
    html_document b(std::move(a));
    EXPECT_THAT(b.links(xpath("//img/@src")), ElementsAre("http://h/d/a.jpg"));
    html_document c("", "http://other/");
    c = std::move(b);
    EXPECT_EQ(c.base_url(), "http://h/d/");
    EXPECT_THAT(c.links(xpath("//img/@src")), ElementsAre("http://h/d/a.jpg"));
}

TEST(HtmlDocument, DocumentsOnSeveralThreadsAtOnce) {
    std::vector<std::thread> threads;
    std::vector<int> ok(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&ok, t] {
            xpath images("//img/@src");  // one per thread
            for (int i = 0; i < 50; ++i) {
                html_document doc(messy_page, messy_url);
                bool bad_rejected = !invalid_argument_message([] { xpath("//[").text(); }).empty();
                if (doc.links(images).size() == 12 && bad_rejected) ++ok[static_cast<std::size_t>(t)];
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_THAT(ok, ElementsAre(50, 50, 50, 50));
}

TEST(CompileRegex, BadPatternThrowsNamingIt) {
    EXPECT_THAT(invalid_argument_message([] { compile_regex("<img src=\"(.*?\" alt"); }),
                StartsWith("bad regex '<img src=\"(.*?\" alt': "));
    EXPECT_THAT(invalid_argument_message([] { compile_regex("[a-"); }), StartsWith("bad regex '[a-': "));
    EXPECT_NO_THROW(compile_regex(R"re(<img src="(.*?)" alt)re"));
}

TEST(RegexLinks, TheTutorialsPatternOverAGallery) {
    // The tutorial's page shape (a GBK page after decoding to UTF-8), with a duplicate.
    const std::string gallery = R"html(<ul class="clearfix">
<li><a href="/tupian/1.html" target="_blank"><img src="/uploads/allimg/a.jpg" alt="风景 一"><b>风景 一</b></a></li>
<li><a href="/tupian/2.html" target="_blank"><img src="/uploads/allimg/b.jpg" alt="风景 二"><b>风景 二</b></a></li>
<li><a href="/tupian/3.html" target="_blank"><img src="//img.example.org/c.jpg" alt="三"></a></li>
<li><a href="/tupian/4.html" target="_blank"><img src="d 4.jpg" alt="四"></a></li>
<li><a href="/tupian/1.html" target="_blank"><img src="/uploads/allimg/a.jpg" alt="again"></a></li>
<li><img class="x" src="/uploads/no-alt.jpg"></li>
</ul>)html";
    auto re = compile_regex(R"re(<img src="(.*?)" alt)re");
    EXPECT_THAT(regex_links(gallery, re, "http://127.0.0.1:8000/4kfengjing/index_2.html"),
                ElementsAre("http://127.0.0.1:8000/uploads/allimg/a.jpg", "http://127.0.0.1:8000/uploads/allimg/b.jpg",
                            "http://img.example.org/c.jpg", "http://127.0.0.1:8000/4kfengjing/d%204.jpg"));
}

TEST(RegexLinks, WholeMatchWithoutGroupAndUnmatchedGroups) {
    const std::string text = "see http://h/a.jpg and /b.jpg, http://h/a.jpg again";
    EXPECT_THAT(regex_links(text, compile_regex(R"(https?://[^ ]+\.jpg)"), "http://base/"),
                ElementsAre("http://h/a.jpg"));
    EXPECT_THAT(regex_links(text, compile_regex(R"((x)?(/b\.jpg))"), "http://base/d/"), IsEmpty());
    EXPECT_THAT(regex_links(text, compile_regex(R"(x?(/b\.jpg))"), "http://base/d/"),
                ElementsAre("http://base/b.jpg"));
    EXPECT_THAT(regex_links("", compile_regex("(.*)"), "http://base/"), IsEmpty());
}

TEST(RegexLinks, AVeryLongLineDoesNotExhaustTheStack) {
    std::string line = "<img src=\"" + std::string(300'000, 'x') + ".jpg\" alt=\"long\">";
    auto found = regex_links(line, compile_regex(R"re(<img src="(.*?)" alt)re"), "http://h/");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found.front().size(), std::string("http://h/").size() + 300'000 + 4);
}

TEST(RegexLinks, BackReferencesStillWork) {
    // Links whose text repeats their href.
    auto re = compile_regex(R"re(<a href="([^"]*)">\1</a>)re");
    EXPECT_THAT(regex_links(R"(<a href="x.jpg">x.jpg</a> <a href="y.jpg">other</a>)", re, "http://h/d/"),
                ElementsAre("http://h/d/x.jpg"));
}
