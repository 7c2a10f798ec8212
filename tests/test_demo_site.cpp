// weft::http::demo_site: deterministic content, manifest, GBK pages, JPEG images.
#include <weft/http/client_session.hpp>
#include <weft/http/demo_site.hpp>
#include <weft/run.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string>

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
