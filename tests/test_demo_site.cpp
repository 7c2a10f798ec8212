// weft::http::demo_site: deterministic content, manifest, GBK pages, JPEG images.
#include <weft/http/client_session.hpp>
#include <weft/http/demo_site.hpp>
#include <weft/run.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
namespace http = weft::http;

TEST(DemoSite, ContentIsDeterministicAndListedInTheManifest) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto a = co_await http::demo_site::start({.pages = 3, .per_page = 5, .image_bytes = 1000, .seed = 7});
        auto b = co_await http::demo_site::start({.pages = 3, .per_page = 5, .image_bytes = 1000, .seed = 7});
        auto c = co_await http::demo_site::start({.pages = 3, .per_page = 5, .image_bytes = 1000, .seed = 8});
        EXPECT_EQ(a.images().size(), 15u);
        EXPECT_EQ(a.manifest(), b.manifest());
        EXPECT_NE(a.manifest(), c.manifest());
        std::set<std::string> paths;
        for (auto& img : a.images()) {
            paths.insert(img.path);
            EXPECT_TRUE(img.path.starts_with("/uploads/allimg/")) << img.path;
            EXPECT_TRUE(img.path.ends_with(".jpg"));
            EXPECT_EQ(img.size, 1000u);
            EXPECT_EQ(img.sha256.size(), 64u);
            EXPECT_NE(a.manifest().find(img.sha256), std::string::npos);
        }
        EXPECT_EQ(paths.size(), 15u);

        http::client_session session;
        auto m = co_await session.get(a.url() + "/manifest.json");
        EXPECT_EQ(m.body(), a.manifest());
        EXPECT_EQ(m.headers().get("content-type").value_or(""), "application/json");
        auto robots = co_await session.get(a.url() + "/robots.txt");
        EXPECT_NE(robots.body().find("User-agent: *"), std::string::npos);
        auto img = co_await session.get(a.url() + a.images()[3].path);
        EXPECT_TRUE(img.body().starts_with("\xFF\xD8\xFF\xE0"));
        EXPECT_TRUE(img.body().ends_with("\xFF\xD9"));
        auto p1 = co_await session.get(a.page_url(1));
        EXPECT_TRUE(p1.url().ends_with("/4kmeinv/index.html"));
        EXPECT_NE(p1.body().find("<meta charset=\"gbk\">"), std::string::npos);
        EXPECT_NE(p1.text().find("4K美女壁纸 第1页"), std::string::npos);
        EXPECT_NE(p1.text().find("/static/js/common.js"), std::string::npos);  // noise is there too
        auto root = co_await session.get(a.url() + "/");
        EXPECT_EQ(root.status(), 200);  // redirected to the gallery
        EXPECT_EQ((co_await session.get(a.url() + "/4kmeinv/index_4.html")).status(), 404);
        EXPECT_EQ((co_await session.get(a.url() + "/4kmeinv/index_2.html")).status(), 200);
        a.close();
        b.close();
        c.close();
    }());
}

TEST(DemoSite, RejectsNonsensicalOptions) {
    weft::run([]() -> weft::task<> {
        EXPECT_THROW(co_await http::demo_site::start({.pages = 0}), std::invalid_argument);
        EXPECT_THROW(co_await http::demo_site::start({.faults = {.reset = 1.5}}), std::invalid_argument);
    }());
}

TEST(DemoSite, LatencyDelaysAnswers) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 1, .latency = 200ms});
        http::client_session session({.timeout = 50ms});
        bool timed_out = false;
        try {
            co_await session.get(site.page_url(1));
        } catch (const http::error& e) {
            timed_out = e.kind() == http::error::reason::timeout;
        }
        EXPECT_TRUE(timed_out);
        site.close();
    }());
}

// ---- the /messy/ pages ----

namespace {

const http::messy_case& find_case(const std::vector<http::messy_case>& cases, std::string_view name) {
    auto found = std::find_if(cases.begin(), cases.end(), [&](const http::messy_case& c) { return c.name == name; });
    if (found == cases.end()) throw std::out_of_range("no messy case " + std::string(name));
    return *found;
}

std::vector<std::string> urls_of(const http::messy_case& c) {
    std::vector<std::string> out;
    for (auto& img : c.images) out.push_back(img.url);
    return out;
}

}  // namespace

TEST(DemoSiteMessy, OffByDefaultAndTheGalleryIsUnchanged) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto plain = co_await http::demo_site::start({.pages = 2, .per_page = 3, .image_bytes = 300, .seed = 5});
        auto messy = co_await http::demo_site::start({.pages = 2, .per_page = 3, .image_bytes = 300, .seed = 5, .messy = true});
        EXPECT_TRUE(plain.messy_cases().empty());
        EXPECT_EQ(plain.manifest().find("messy"), std::string::npos);
        EXPECT_NE(messy.manifest().find("\"messy\": ["), std::string::npos);
        EXPECT_GT(messy.images().size(), plain.images().size());
        for (std::size_t i = 0; i < std::min(plain.images().size(), messy.images().size()); ++i) {  // the gallery comes first, the same
            EXPECT_EQ(messy.images()[i].path, plain.images()[i].path);
            EXPECT_EQ(messy.images()[i].sha256, plain.images()[i].sha256);
        }
        http::client_session session;
        EXPECT_EQ((co_await session.get(plain.url() + "/messy/index.html")).status(), 404);
        EXPECT_EQ((co_await session.get(plain.url() + "/robots.txt")).body(), "User-agent: *\nDisallow: /admin/\nCrawl-delay: 0\n");
        EXPECT_EQ((co_await session.get(plain.page_url(2))).body(), (co_await session.get(messy.page_url(2))).body());
        EXPECT_EQ(plain.requests_for(plain.page_url(2)), 1u);  // counted without messy too
        EXPECT_EQ(plain.requests_for("/4kmeinv/index_2.html"), 1u);
        EXPECT_EQ(plain.requests_for(plain.page_url(1)), 0u);
        plain.close();
        messy.close();
    }());
}

TEST(DemoSiteMessy, CasesAreDeterministicAndCoverEveryKind) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto a = co_await http::demo_site::start({.pages = 1, .per_page = 1, .image_bytes = 200, .seed = 3, .messy = true});
        auto b = co_await http::demo_site::start({.pages = 1, .per_page = 1, .image_bytes = 200, .seed = 3, .messy = true});
        auto cases = a.messy_cases();
        auto again = b.messy_cases();
        EXPECT_EQ(cases.size(), again.size());
        for (std::size_t c = 0; c < std::min(cases.size(), again.size()); ++c) {
            EXPECT_EQ(cases[c].name, again[c].name);
            EXPECT_TRUE(cases[c].page_url.starts_with(a.url() + "/messy/")) << cases[c].page_url;
            EXPECT_FALSE(cases[c].images.empty()) << cases[c].name;
            EXPECT_EQ(cases[c].images.size(), again[c].images.size());
            for (std::size_t i = 0; i < std::min(cases[c].images.size(), again[c].images.size()); ++i) {
                const auto& img = cases[c].images[i];
                EXPECT_TRUE(img.url.starts_with(a.url() + "/")) << img.url;
                EXPECT_EQ(img.url.substr(a.url().size()), again[c].images[i].url.substr(b.url().size()));
                EXPECT_EQ(img.sha256, again[c].images[i].sha256);
                EXPECT_TRUE(img.expect == "saved" || img.expect == "failed" || img.expect == "skipped") << img.expect;
                EXPECT_EQ(img.sha256.size(), img.expect == "failed" ? 0u : 64u) << img.url;
                EXPECT_FALSE(img.why.empty());
                // Machine-readable in the manifest too.
                EXPECT_NE(a.manifest().find("{\"url\": \"" + img.url + "\", \"expect\": \"" + img.expect + "\""),
                          std::string::npos)
                    << img.url;
                if (!img.sha256.empty()) {
                    EXPECT_NE(a.manifest().find(img.sha256), std::string::npos);
                }
                for (char ch : img.url) EXPECT_TRUE(ch > 0x20 && ch < 0x7F) << img.url;  // percent-encoded ASCII
            }
            EXPECT_NE(a.manifest().find("{\"name\": \"" + cases[c].name + "\", \"page_url\": \"" + cases[c].page_url +
                                        "\", \"select\": \"" + cases[c].select + "\""),
                      std::string::npos)
                << cases[c].name;
        }
        const std::string s = a.url();
        using v = std::vector<std::string>;
        EXPECT_EQ(urls_of(find_case(cases, "base-href")), v{s + "/messy/assets/b.jpg"});
        EXPECT_EQ(urls_of(find_case(cases, "relative")),
                  (v{s + "/messy/x.jpg", s + "/messy/rel/sub/y.jpg", s + "/messy/img/root.jpg", s + "/messy/img/proto.jpg",
                     s + "/messy/img/absolute.jpg"}));
        EXPECT_EQ(urls_of(find_case(cases, "entities")), (v{s + "/messy/img/q.jpg?a=1&b=2", s + "/messy/img/q2.jpg?x=1&y=2"}));
        EXPECT_EQ(urls_of(find_case(cases, "unquoted-uppercase")),
                  (v{s + "/messy/img/upper.jpg", s + "/messy/img/single.jpg", s + "/messy/img/spaced.jpg"}));
        EXPECT_EQ(find_case(cases, "lazy-placeholder").select, "//img/@src");
        EXPECT_EQ(find_case(cases, "lazy-data-src").select, "//img/@data-src");
        EXPECT_EQ(urls_of(find_case(cases, "lazy-data-src")), v{s + "/messy/img/lazy.jpg"});
        EXPECT_EQ(find_case(cases, "srcset").select, "//img/@srcset");
        EXPECT_EQ(find_case(cases, "srcset").images.size(), 4u);
        EXPECT_EQ(urls_of(find_case(cases, "file-names")),
                  (v{s + "/messy/img/%E5%9B%BE%E7%89%87.jpg", s + "/messy/img/%E5%9B%BE%E7%89%872.jpg",
                     s + "/messy/img/my%20photo.jpg"}));
        EXPECT_EQ(urls_of(find_case(cases, "query-strings")), (v{s + "/messy/img/pic.jpg?id=1", s + "/messy/img/pic.jpg?id=2"}));
        EXPECT_EQ(urls_of(find_case(cases, "same-basename")), (v{s + "/messy/a/same.jpg", s + "/messy/b/same.jpg"}));
        EXPECT_EQ(urls_of(find_case(cases, "shared-image-1")), urls_of(find_case(cases, "shared-image-2")));
        EXPECT_NE(find_case(cases, "shared-image-1").page_url, find_case(cases, "shared-image-2").page_url);
        EXPECT_EQ(urls_of(find_case(cases, "charset-header")), v{s + "/messy/gbk/%E9%A3%8E%E6%99%AF.jpg"});
        EXPECT_EQ(urls_of(find_case(cases, "charset-meta")), v{s + "/messy/gbk/%E7%BE%8E%E5%A5%B3.jpg"});
        EXPECT_EQ(find_case(cases, "broken-markup").images.size(), 4u);
        auto& loop = find_case(cases, "redirect-loop").images.at(0);
        EXPECT_EQ(loop.expect + " " + loop.why, "failed too many redirects");
        auto& missing = find_case(cases, "not-found").images.at(0);
        EXPECT_EQ(missing.expect + " " + missing.why, "failed 404");
        EXPECT_EQ(find_case(cases, "redirect").images.at(0).expect, "saved");
        auto hostile = urls_of(find_case(cases, "hostile-names"));
        for (std::string name : {"/messy/evil/..%2F..%2Fx.jpg", "/messy/evil/%2Fetc%2Fpasswd", "/messy/evil/a%2F..%2Fb.jpg",
                                 "/messy/evil/ctl%01name.jpg"})
            EXPECT_NE(std::find(hostile.begin(), hostile.end(), s + name), hostile.end()) << name;
        EXPECT_TRUE(std::any_of(hostile.begin(), hostile.end(), [&](const std::string& u) {
            return u.size() - u.rfind('/') - 1 == 300;  // a 300-character file name
        }));
        EXPECT_EQ(find_case(cases, "hotlink").images.size(), 2u);
        auto& robots = find_case(cases, "robots").images.at(0);
        EXPECT_EQ(robots.url + " " + robots.expect + " " + robots.why, s + "/messy/private/secret.jpg skipped robots");
        a.close();
        b.close();
    }());
}

TEST(DemoSiteMessy, IndexLinksEveryCasePageAndPagesShowEachCase) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 1, .messy = true});
        const std::string s = site.url();
        auto cases = site.messy_cases();
        http::client_session session;
        auto index = co_await session.get(s + "/messy/index.html");
        EXPECT_EQ(index.status(), 200);
        EXPECT_EQ(index.body(), (co_await session.get(s + "/messy/")).body());
        for (auto& c : cases) {
            std::string rel = c.page_url.substr((s + "/messy/").size());
            EXPECT_NE(index.body().find("<a href=\"" + rel + "\">"), std::string::npos) << rel;
        }
        auto body = [&](std::string_view name) -> weft::task<std::string> {
            auto r = co_await session.get(find_case(cases, name).page_url);
            EXPECT_EQ(r.status(), 200) << name;
            co_return r.body();
        };
        auto has = [](const std::string& text, const std::string& part) {
            EXPECT_NE(text.find(part), std::string::npos) << part;
        };
        auto base = co_await body("base-href");
        has(base, "<base href=\"/messy/assets/\">");
        has(base, "<img src=\"b.jpg\"");
        auto rel = co_await body("relative");
        for (std::string src : {"../x.jpg", "sub/y.jpg", "/messy/img/root.jpg"}) has(rel, "src=\"" + src + "\"");
        has(rel, "src=\"//" + s.substr(7) + "/messy/img/proto.jpg\"");
        auto ent = co_await body("entities");
        has(ent, "src=\"/messy/img/q.jpg?a=1&amp;b=2\"");
        has(ent, "src=\"/messy/img/q2.jpg?x=1&#38;y=2\"");
        auto upper = co_await body("unquoted-uppercase");
        has(upper, "<IMG SRC=/messy/img/upper.jpg ALT=upper>");
        has(upper, "src='/messy/img/single.jpg'");
        auto lazy = co_await body("lazy-data-src");
        has(lazy, "src=\"/messy/img/placeholder.gif\" data-src=\"/messy/img/lazy.jpg\"");
        auto srcset = co_await body("srcset");
        has(srcset, "srcset=\"/messy/img/s1.jpg 1x, /messy/img/s2.jpg 2x\"");
        auto names = co_await body("file-names");
        has(names, "src=\"/messy/img/%E5%9B%BE%E7%89%87.jpg\"");
        has(names, "src=\"/messy/img/图片2.jpg\"");  // raw UTF-8
        has(names, "src=\"/messy/img/my photo.jpg\"");
        auto broken = co_await body("broken-markup");
        has(broken, "</td></td>");
        EXPECT_EQ(broken.find("</html>"), std::string::npos);
        EXPECT_EQ(broken.find("</p>"), std::string::npos);
        auto evil = co_await body("hostile-names");
        has(evil, "src=\"/messy/evil/..%2F..%2Fx.jpg\"");
        has(evil, "src=\"/messy/evil/ctl%01name.jpg\"");
        site.close();
    }());
}

TEST(DemoSiteMessy, CharsetOnlyInTheHeaderOrOnlyInMeta) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 1, .messy = true});
        auto cases = site.messy_cases();
        http::client_session session;
        auto header = co_await session.get(find_case(cases, "charset-header").page_url);
        EXPECT_EQ(header.headers().get("content-type").value_or(""), "text/html; charset=gbk");
        EXPECT_EQ(header.body().find("<meta"), std::string::npos);
        EXPECT_NE(header.body().find("src=\"/messy/gbk/\xB7\xE7\xBE\xB0.jpg\""), std::string::npos);  // 风景 in GBK
        EXPECT_EQ(header.charset(), "GBK");
        EXPECT_NE(header.text().find("<img src=\"/messy/gbk/风景.jpg\""), std::string::npos);
        EXPECT_NE(header.text().find("字符集只在响应头里"), std::string::npos);

        auto meta = co_await session.get(find_case(cases, "charset-meta").page_url);
        EXPECT_EQ(meta.headers().get("content-type").value_or(""), "text/html");
        EXPECT_NE(meta.body().find("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">"),
                  std::string::npos);
        EXPECT_NE(meta.body().find("src=\"/messy/gbk/\xC3\xC0\xC5\xAE.jpg\""), std::string::npos);  // 美女 in GBK
        EXPECT_EQ(meta.charset(), "GBK");
        EXPECT_NE(meta.text().find("<img src=\"/messy/gbk/美女.jpg\""), std::string::npos);

        // The server matches the UTF-8 name, percent-encoded or not; the GBK bytes are not it.
        EXPECT_EQ((co_await session.get(site.url() + "/messy/gbk/%E9%A3%8E%E6%99%AF.jpg")).status(), 200);
        EXPECT_EQ((co_await session.get(site.url() + "/messy/gbk/%B7%E7%BE%B0.jpg")).status(), 404);
        site.close();
    }());
}

TEST(DemoSiteMessy, EveryImageThatIsServedMatchesTheManifest) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(60s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 1, .image_bytes = 500, .messy = true});
        std::map<std::string, const http::demo_image*> listed;
        for (auto& img : site.images()) listed[img.path] = &img;
        http::client_session session;
        std::map<std::string, std::string> sha_of_url;
        for (auto& c : site.messy_cases()) {
            for (auto& img : c.images) {
                if (img.expect == "failed") continue;
                http::request_options from_page{.referer = c.page_url};
                auto r = co_await session.get(img.url, std::move(from_page));
                EXPECT_EQ(r.status(), 200) << img.url;
                EXPECT_EQ(r.headers().get("content-type").value_or(""), "image/jpeg") << img.url;
                EXPECT_TRUE(r.body().starts_with("\xFF\xD8\xFF\xE0")) << img.url;
                EXPECT_EQ(r.body().size(), 500u);
                auto entry = listed.find(r.url().substr(site.url().size()));  // after redirects
                EXPECT_TRUE(r.url().starts_with(site.url()) && entry != listed.end()) << r.url();
                if (entry != listed.end()) {
                    EXPECT_EQ(entry->second->sha256, img.sha256) << img.url;
                }
                sha_of_url[img.url] = img.sha256;
            }
        }
        std::set<std::string> distinct;
        for (auto& [url, sha] : sha_of_url) distinct.insert(sha);
        EXPECT_EQ(distinct.size(), sha_of_url.size());  // different URLs, different bytes
        EXPECT_EQ(sha_of_url.size(), site.images().size() - 1);  // all but the gallery's one
        site.close();
    }());
}

TEST(DemoSiteMessy, FailuresRedirectsHotlinkAndRobots) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 1, .messy = true});
        const std::string s = site.url();
        http::client_session session({.max_redirects = 5});
        http::request_options no_follow{.follow_redirects = false};
        auto hop = co_await session.get(s + "/messy/loop.jpg", no_follow);
        EXPECT_EQ(hop.status(), 302);
        EXPECT_EQ(hop.headers().get("location").value_or(""), "/messy/loop.jpg");
        bool looped = false;
        try {
            co_await session.get(s + "/messy/loop.jpg");
        } catch (const http::error& e) {
            looped = e.kind() == http::error::reason::too_many_redirects;
        }
        EXPECT_TRUE(looped);
        EXPECT_EQ(site.requests_for(s + "/messy/loop.jpg"), 7u);  // 1 + (1 + 5 redirects)

        EXPECT_EQ((co_await session.get(s + "/messy/img/missing.jpg")).status(), 404);
        auto moved = co_await session.get(s + "/messy/img/moved.jpg", no_follow);
        EXPECT_EQ(moved.status(), 301);
        EXPECT_EQ(moved.headers().get("location").value_or(""), "/messy/img/target.jpg");
        auto target = co_await session.get(s + "/messy/img/moved.jpg");
        EXPECT_EQ(target.status(), 200);
        EXPECT_EQ(target.url(), s + "/messy/img/target.jpg");

        auto hot = s + "/messy/hot/h1.jpg";
        EXPECT_EQ((co_await session.get(hot)).status(), 403);
        http::request_options elsewhere{.referer = "http://example.org/"};
        EXPECT_EQ((co_await session.get(hot, std::move(elsewhere))).status(), 403);
        http::request_options from_page{.referer = find_case(site.messy_cases(), "hotlink").page_url};
        EXPECT_EQ((co_await session.get(hot, std::move(from_page))).status(), 200);

        auto robots = co_await session.get(s + "/robots.txt");
        EXPECT_NE(robots.body().find("\nDisallow: /messy/private/\n"), std::string::npos) << robots.body();
        EXPECT_NE(robots.body().find("\nDisallow: /admin/\n"), std::string::npos);
        EXPECT_EQ((co_await session.get(s + "/messy/private.html")).status(), 200);  // not under /messy/private/
        EXPECT_EQ((co_await session.get(s + "/messy/private/secret.jpg")).status(), 200);  // for --ignore-robots
        site.close();
    }());
}

TEST(DemoSiteMessy, FaultsAndLatencyNeverHitMessyPages) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start(
            {.pages = 1, .per_page = 1, .latency = 60'000ms, .faults = {.server_error = 1}, .messy = true});
        http::client_session session({.timeout = 10s});
        for (auto& c : site.messy_cases()) {
            auto r = co_await session.get(c.page_url);
            EXPECT_EQ(r.status(), 200) << c.page_url;
        }
        site.close();
    }());
}

TEST(DemoSiteMessy, CountsRequestsPerPath) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 1, .messy = true});
        const std::string s = site.url();
        http::client_session session;
        EXPECT_EQ(site.requests_for(s + "/messy/img/shared.jpg"), 0u);
        co_await session.get(s + "/messy/img/shared.jpg");
        co_await session.head(s + "/messy/img/shared.jpg");
        EXPECT_EQ(site.requests_for(s + "/messy/img/shared.jpg"), 2u);
        EXPECT_EQ(site.requests_for("/messy/img/shared.jpg"), 2u);
        co_await session.get(s + "/messy/img/%E5%9B%BE%E7%89%87.jpg");
        EXPECT_EQ(site.requests_for(s + "/messy/img/%E5%9B%BE%E7%89%87.jpg"), 1u);
        EXPECT_EQ(site.requests_for("/messy/img/图片.jpg"), 1u);  // the same path, decoded
        co_await session.get(s + "/messy/img/pic.jpg?id=1");
        EXPECT_EQ(site.requests_for(s + "/messy/img/pic.jpg?id=1"), 1u);
        EXPECT_EQ(site.requests_for(s + "/messy/img/pic.jpg?id=2"), 0u);
        EXPECT_EQ(site.requests_for(s + "/messy/img/pic.jpg"), 0u);
        co_await session.get(s + "/messy/evil/a%2F..%2Fb.jpg");
        EXPECT_EQ(site.requests_for(s + "/messy/evil/a%2F..%2Fb.jpg"), 1u);
        EXPECT_EQ(site.requests_for(s + "/messy/evil/b.jpg"), 0u);
        site.close();
    }());
}
