// weft::crawl URL helpers: resolve_url, normalize_url, url_host, expand_url_glob.
#include <weft/crawl/url.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using weft::crawl::expand_url_glob;
using weft::crawl::normalize_url;
using weft::crawl::resolve_url;
using weft::crawl::url_host;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

constexpr const char* page = "http://example.org/gallery/page.html?p=1#top";

// The message of the std::invalid_argument that `f` throws ("" if it throws none).
template <class F>
std::string invalid_argument_message(F f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(ResolveUrl, RelativeRootAndProtocolRelative) {
    EXPECT_EQ(resolve_url(page, "a.jpg"), "http://example.org/gallery/a.jpg");
    EXPECT_EQ(resolve_url(page, "./img/a.jpg"), "http://example.org/gallery/img/a.jpg");
    EXPECT_EQ(resolve_url(page, "../x.jpg"), "http://example.org/x.jpg");
    EXPECT_EQ(resolve_url(page, "../../../../x.jpg"), "http://example.org/x.jpg");
    EXPECT_EQ(resolve_url(page, "/x.jpg"), "http://example.org/x.jpg");
    EXPECT_EQ(resolve_url(page, "//cdn.example.net/x.jpg"), "http://cdn.example.net/x.jpg");
    EXPECT_EQ(resolve_url("https://example.org/a/", "//cdn.example.net/x.jpg"), "https://cdn.example.net/x.jpg");
    EXPECT_EQ(resolve_url(page, "https://other.org/y.jpg"), "https://other.org/y.jpg");
    EXPECT_EQ(resolve_url(page, "HTTPS://other.org/y.jpg"), "https://other.org/y.jpg");
    EXPECT_EQ(resolve_url(page, "?p=2"), "http://example.org/gallery/page.html?p=2");
    EXPECT_EQ(resolve_url("http://127.0.0.1:8080/a/", "b.jpg"), "http://127.0.0.1:8080/a/b.jpg");
}

TEST(ResolveUrl, TrimsWhitespaceAndNewlinesInside) {
    EXPECT_EQ(resolve_url(page, "  \n\ta\n.jpg \r\n"), "http://example.org/gallery/a.jpg");
    EXPECT_EQ(resolve_url(page, "/img/\r\nb.jpg"), "http://example.org/img/b.jpg");
}

TEST(ResolveUrl, DropsUnusableReferences) {
    EXPECT_EQ(resolve_url(page, ""), std::nullopt);
    EXPECT_EQ(resolve_url(page, " \n "), std::nullopt);
    EXPECT_EQ(resolve_url(page, "#top"), std::nullopt);
    EXPECT_EQ(resolve_url(page, "javascript:alert(1)"), std::nullopt);
    EXPECT_EQ(resolve_url(page, " JavaScript:void(0)"), std::nullopt);
    EXPECT_EQ(resolve_url(page, "data:image/gif;base64,R0lGODlhAQABAAAAACw="), std::nullopt);
    EXPECT_EQ(resolve_url(page, "mailto:someone@example.org"), std::nullopt);
    EXPECT_EQ(resolve_url(page, "ftp://example.org/x.jpg"), std::nullopt);
    EXPECT_EQ(resolve_url(page, "//"), std::nullopt);
    EXPECT_EQ(resolve_url("not a url", "a.jpg"), std::nullopt);
    EXPECT_EQ(resolve_url("gallery/page.html", "a.jpg"), std::nullopt);
    EXPECT_EQ(resolve_url("ftp://example.org/dir/", "a.jpg"), std::nullopt);  // result is not http(s)
}

TEST(ResolveUrl, DropsTheFragment) {
    EXPECT_EQ(resolve_url(page, "a.jpg#section"), "http://example.org/gallery/a.jpg");
    EXPECT_EQ(resolve_url(page, "b.jpg?x=1#f"), "http://example.org/gallery/b.jpg?x=1");
}

TEST(ResolveUrl, PercentEncodesSpacesAndUtf8ButNotExistingEscapes) {
    EXPECT_EQ(resolve_url(page, "a b.jpg"), "http://example.org/gallery/a%20b.jpg");
    EXPECT_EQ(resolve_url(page, "图 1.jpg"), "http://example.org/gallery/%E5%9B%BE%201.jpg");
    EXPECT_EQ(resolve_url(page, "%E5%9B%BE.jpg"), "http://example.org/gallery/%E5%9B%BE.jpg");
    EXPECT_EQ(resolve_url(page, "a%20b.jpg"), "http://example.org/gallery/a%20b.jpg");
    EXPECT_EQ(resolve_url(page, "100%.jpg"), "http://example.org/gallery/100%25.jpg");
    EXPECT_EQ(resolve_url(page, "say\"hi\"<x>.jpg"), "http://example.org/gallery/say%22hi%22%3Cx%3E.jpg");
}

TEST(ResolveUrl, KeepsQueryAmpersandsAndEquals) {
    EXPECT_EQ(resolve_url(page, "img.php?id=7&size=big"), "http://example.org/gallery/img.php?id=7&size=big");
    EXPECT_EQ(resolve_url(page, "img.php?q=a b"), "http://example.org/gallery/img.php?q=a%20b");
}

TEST(ResolveUrl, ReadsBackslashesAndSameSchemeReferencesAsBrowsersDo) {
    EXPECT_EQ(resolve_url(page, "img\\a.jpg"), "http://example.org/gallery/img/a.jpg");
    EXPECT_EQ(resolve_url(page, "http:x.jpg"), "http://example.org/gallery/x.jpg");
    EXPECT_EQ(resolve_url(page, "https:x.jpg"), std::nullopt);
}

TEST(NormalizeUrl, CanonicalForm) {
    EXPECT_EQ(normalize_url("HTTP://Example.COM:80/a/./b/../%7euser/%2fx?b=1&a=2#top"),
              "http://example.com/a/~user/%2Fx?b=1&a=2");
    EXPECT_EQ(normalize_url("https://Example.com:443"), "https://example.com/");
    EXPECT_EQ(normalize_url("http://example.com:8080/x"), "http://example.com:8080/x");
    EXPECT_EQ(normalize_url("http://h/%41%42%2d%5F%e5%9b%be"), "http://h/AB-_%E5%9B%BE");
}

TEST(NormalizeUrl, RemovesDotSegmentsMadeByDecoding) {
    EXPECT_EQ(normalize_url("http://h/a/b/%2E%2E/c"), "http://h/a/c");
    EXPECT_EQ(normalize_url("http://h/a/%2e/c"), "http://h/a/c");
}

TEST(NormalizeUrl, KeepsTheQueryVerbatim) {
    EXPECT_EQ(normalize_url("http://h/x?%7e=%2f&B=1"), "http://h/x?%7e=%2f&B=1");
    EXPECT_NE(normalize_url("http://h/img.jpg?w=1"), normalize_url("http://h/img.jpg?w=2"));
    EXPECT_NE(normalize_url("http://h/x?a=1&b=2"), normalize_url("http://h/x?b=2&a=1"));
}

TEST(NormalizeUrl, EquivalentSpellingsShareOneKey) {
    std::string a = normalize_url(*resolve_url("http://H.example/d/", "A b.jpg#x"));
    std::string b = normalize_url("http://h.example:80/d/./A%20b.jpg");
    EXPECT_EQ(a, b);
}

TEST(NormalizeUrl, ThrowsNamingTheUrl) {
    EXPECT_THAT(invalid_argument_message([] { normalize_url("a.jpg"); }), HasSubstr("'a.jpg'"));
    EXPECT_THAT(invalid_argument_message([] { normalize_url("http://"); }), HasSubstr("'http://'"));
    EXPECT_THAT(invalid_argument_message([] { normalize_url("http://exa mple.org/"); }),
                HasSubstr("'http://exa mple.org/'"));
}

TEST(UrlHost, LowerCaseHostOrEmpty) {
    EXPECT_EQ(url_host("https://CDN.Example.org:8443/x.jpg"), "cdn.example.org");
    EXPECT_EQ(url_host("http://127.0.0.1:8080/"), "127.0.0.1");
    EXPECT_EQ(url_host("http://[::1]:8080/"), "[::1]");
    EXPECT_EQ(url_host("not a url"), "");
    EXPECT_EQ(url_host("/relative/path"), "");
}

TEST(SplitOrigin, OriginWithPortAndPathWithQuery) {
    auto a = weft::crawl::split_origin("http://A.org/x/y.jpg?s=1#frag");
    EXPECT_EQ(a.origin, "http://a.org:80");
    EXPECT_EQ(a.path_and_query, "/x/y.jpg?s=1");
    auto b = weft::crawl::split_origin("https://127.0.0.1:8443");
    EXPECT_EQ(b.origin, "https://127.0.0.1:8443");
    EXPECT_EQ(b.path_and_query, "/");
    auto bad = weft::crawl::split_origin("not a url");
    EXPECT_TRUE(bad.origin.empty());
    EXPECT_TRUE(bad.path_and_query.empty());
}

TEST(ExpandUrlGlob, NoGlobGivesItself) {
    EXPECT_THAT(expand_url_glob("http://h/a.jpg?x=1"), ElementsAre("http://h/a.jpg?x=1"));
}

TEST(ExpandUrlGlob, NumericRanges) {
    EXPECT_THAT(expand_url_glob("http://h/index_[2-5].html"),
                ElementsAre("http://h/index_2.html", "http://h/index_3.html", "http://h/index_4.html",
                            "http://h/index_5.html"));
    EXPECT_THAT(expand_url_glob("[8-11]"), ElementsAre("8", "9", "10", "11"));
    EXPECT_EQ(expand_url_glob("[1-100]").size(), 100u);
}

TEST(ExpandUrlGlob, ZeroPadding) {
    EXPECT_THAT(expand_url_glob("img[001-003].jpg"), ElementsAre("img001.jpg", "img002.jpg", "img003.jpg"));
    EXPECT_THAT(expand_url_glob("[08-11]"), ElementsAre("08", "09", "10", "11"));
    EXPECT_THAT(expand_url_glob("[0-2]"), ElementsAre("0", "1", "2"));
    auto padded = expand_url_glob("[001-100]");
    EXPECT_EQ(padded.front(), "001");
    EXPECT_EQ(padded.back(), "100");
}

TEST(ExpandUrlGlob, LetterRanges) {
    EXPECT_THAT(expand_url_glob("[a-c]"), ElementsAre("a", "b", "c"));
    EXPECT_THAT(expand_url_glob("x[X-Z]"), ElementsAre("xX", "xY", "xZ"));
}

TEST(ExpandUrlGlob, Steps) {
    EXPECT_THAT(expand_url_glob("[1-10:3]"), ElementsAre("1", "4", "7", "10"));
    EXPECT_THAT(expand_url_glob("[1-100:25]"), ElementsAre("1", "26", "51", "76"));
    EXPECT_THAT(expand_url_glob("[a-e:2]"), ElementsAre("a", "c", "e"));
    EXPECT_THAT(expand_url_glob("[1-5:10]"), ElementsAre("1"));
}

TEST(ExpandUrlGlob, Sets) {
    EXPECT_THAT(expand_url_glob("http://h/{one,two,three}.html"),
                ElementsAre("http://h/one.html", "http://h/two.html", "http://h/three.html"));
    EXPECT_THAT(expand_url_glob("{a,}x"), ElementsAre("ax", "x"));
    EXPECT_THAT(expand_url_glob("{a\\,b,c\\}}"), ElementsAre("a,b", "c}"));
}

TEST(ExpandUrlGlob, CombinationsLeftmostVariesSlowest) {
    EXPECT_THAT(expand_url_glob("http://h/{a,b}/[1-2]-[x-y]"),
                ElementsAre("http://h/a/1-x", "http://h/a/1-y", "http://h/a/2-x", "http://h/a/2-y",
                            "http://h/b/1-x", "http://h/b/1-y", "http://h/b/2-x", "http://h/b/2-y"));
}

TEST(ExpandUrlGlob, EscapesAndIpv6AreLiteral) {
    EXPECT_THAT(expand_url_glob("http://h/\\[1-2\\]/\\{a\\}"), ElementsAre("http://h/[1-2]/{a}"));
    EXPECT_THAT(expand_url_glob("http://[::1]:8080/img[1-2].jpg"),
                ElementsAre("http://[::1]:8080/img1.jpg", "http://[::1]:8080/img2.jpg"));
}

TEST(ExpandUrlGlob, MalformedGlobsNameThePatternAndColumn) {
    struct bad {
        const char* pattern;
        const char* what;
        const char* column;
    };
    const bad cases[] = {
        {"http://h/[1-3", "unmatched '['", "column 10"},
        {"http://h/{a,b", "unmatched '{'", "column 10"},
        {"http://h/x]", "unmatched ']'", "column 11"},
        {"http://h/x}", "unmatched '}'", "column 11"},
        {"[5-1]", "reversed range", "column 1"},
        {"ab[z-a]", "reversed range", "column 3"},
        {"x{}", "empty set", "column 2"},
        {"[a-5]", "mixes letters and numbers", "column 1"},
        {"[1-z]", "mixes letters and numbers", "column 1"},
        {"[A-z]", "upper- and lower-case", "column 1"},
        {"[1-5:0]", "step 0", "column 1"},
        {"[1-5:x]", "bad step", "column 1"},
        {"[1-]", "bad range", "column 1"},
        {"[abc]", "bad range", "column 1"},
        {"{a,[1-2]}", "nested '['", "column 4"},
        {"[1-99999999999999999999999]", "number too large", "column 1"},
    };
    for (const bad& c : cases) {
        std::string message = invalid_argument_message([&] { expand_url_glob(c.pattern); });
        EXPECT_THAT(message, HasSubstr(std::string("'") + c.pattern + "'")) << c.pattern;
        EXPECT_THAT(message, HasSubstr(c.what)) << c.pattern;
        EXPECT_THAT(message, HasSubstr(c.column)) << c.pattern;
    }
}

TEST(ExpandUrlGlob, TooManyUrlsIsAnErrorBeforeBuildingThem) {
    EXPECT_THAT(invalid_argument_message([] { expand_url_glob("[1-4]", 3); }), HasSubstr("more than 3 URLs"));
    EXPECT_EQ(expand_url_glob("[1-3]", 3).size(), 3u);
    std::string message = invalid_argument_message([] { expand_url_glob("x[1-1000]/[1-1000]"); });
    EXPECT_THAT(message, HasSubstr("more than 100000 URLs"));
    EXPECT_THAT(message, HasSubstr("column 11"));
    EXPECT_THAT(invalid_argument_message([] { expand_url_glob("[1-18446744073709551615]"); }),
                HasSubstr("more than 100000 URLs"));
    EXPECT_THAT(invalid_argument_message([] { expand_url_glob("[0-18446744073709551615]"); }),
                HasSubstr("more than 100000 URLs"));
}
