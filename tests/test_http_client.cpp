// weft::http::client_session against weft's own server and demo site, on loopback only.
// Options with strings are named before a co_await: GCC 12 destroys a braced temporary with a
// non-trivial destructor in a co_await full-expression twice.
#include "http_test_support.hpp"

#include <weft/gather.hpp>
#include <weft/http/client_session.hpp>
#include <weft/http/demo_site.hpp>
#include <weft/http/server.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace http = weft::http;

extern char** environ;

namespace {

std::filesystem::path temp_dir(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("weft_http_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

using weft_test::cancel_and_await;
using weft_test::expect_error;
using weft_test::sha256_hex;

}  // namespace

TEST(HttpClient, ThousandConcurrentGetsMatchTheManifestOverFewConnections) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(60s);
        auto site = co_await http::demo_site::start({.pages = 10, .per_page = 100, .image_bytes = 2048});
        http::client_session session({.limit = 50});
        std::vector<weft::task_handle<http::response>> handles;
        for (auto& img : site.images()) handles.push_back(weft::create_task(session.get(site.url() + img.path)));
        EXPECT_EQ(handles.size(), 1000u);
        for (std::size_t i = 0; i < handles.size(); ++i) {
            http::response r = co_await handles[i];
            EXPECT_EQ(r.status(), 200);
            EXPECT_EQ(r.body().size(), site.images()[i].size);
            EXPECT_EQ(sha256_hex(r.body()), site.images()[i].sha256) << site.images()[i].path;
            EXPECT_EQ(r.headers().get("content-type").value_or(""), "image/jpeg");
        }
        // Connections are reused: never more than the session's limit.
        EXPECT_LE(site.http_server().connections_accepted(), 50u);
        EXPECT_EQ(site.http_server().requests_served(), 1000u);
        EXPECT_EQ(session.active(), 0u);
        site.close();
    }());
}

TEST(HttpClient, SequentialRequestsReuseOneConnection) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 20});
        http::client_session session;
        for (auto& img : site.images()) {
            auto r = co_await session.get(site.url() + img.path);
            EXPECT_EQ(r.status(), 200);
        }
        EXPECT_EQ(site.http_server().connections_accepted(), 1u);
        site.close();
    }());
}

TEST(HttpClient, GbkPageTextDecodesToChinese) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 3, .per_page = 4});
        http::client_session session;
        auto r = co_await session.get(site.page_url(2));
        EXPECT_EQ(r.status(), 200);
        EXPECT_EQ(r.charset(), "GBK");
        std::string text = r.text();
        EXPECT_NE(text.find("4K美女壁纸 第2页"), std::string::npos);
        EXPECT_NE(text.find("下一页"), std::string::npos);
        EXPECT_EQ(r.body().find("美女"), std::string::npos);  // the raw bytes are GBK, not UTF-8
        for (auto& img : site.images_on_page(2)) EXPECT_NE(text.find(img.path), std::string::npos);
        site.close();
    }());
}

TEST(HttpClient, CharsetDetectionOrder) {
    EXPECT_EQ(http::detect_charset("<meta charset=\"gbk\">", "text/html; charset=UTF-8"), "UTF-8");
    EXPECT_EQ(http::detect_charset("\xEF\xBB\xBF<meta charset=gbk>", "text/html"), "UTF-8");
    EXPECT_EQ(http::detect_charset("<html><META CHARSET='GB2312'>", ""), "GBK");
    EXPECT_EQ(http::detect_charset("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">", ""), "GBK");
    EXPECT_EQ(http::detect_charset("<p>plain</p>", "text/html"), "UTF-8");
    EXPECT_EQ(http::canonical_charset("latin1"), "windows-1252");
    EXPECT_EQ(http::decode_to_utf8("caf\xE9", "iso-8859-1"), "café");
    EXPECT_EQ(http::decode_to_utf8("\xC4\xE3\xBA\xC3", "gb2312"), "你好");
    EXPECT_EQ(http::decode_to_utf8("a\xFF" "b", "utf-8"), "a\xEF\xBF\xBD" "b");
    EXPECT_THROW(http::decode_to_utf8("x", "no-such-charset"), http::error);
}

TEST(HttpClient, MalformedUrlsAreRejectedBeforeAnyIo) {
    weft::run([]() -> weft::task<> {
        http::client_session session;
        auto m = co_await expect_error(session.get("not a url"), http::error::reason::invalid_url);
        EXPECT_NE(m.find("not a url"), std::string::npos) << m;
        m = co_await expect_error(session.get("ftp://127.0.0.1/x"), http::error::reason::invalid_url);
        EXPECT_NE(m.find("ftp"), std::string::npos) << m;
        co_await expect_error(session.get("http://"), http::error::reason::invalid_url);
        EXPECT_EQ(http::validate_url("http://127.0.0.1:8000/a?b"), "127.0.0.1:8000");
        EXPECT_EQ(http::validate_url("https://example.org/"), "example.org:443");
    }());
}

TEST(HttpClient, ConnectionRefusedIsAConnectError) {
    weft::run([]() -> weft::task<> {
        // A port that was free a moment ago.
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        ::close(fd);
        http::client_session session;
        auto m = co_await expect_error(session.get("http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/"),
                                       http::error::reason::connect);
        EXPECT_NE(m.find("127.0.0.1"), std::string::npos);
    }());
}

TEST(HttpClient, EachFaultSurfacesAsTheRightOutcome) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(60s);
        auto start = [](http::demo_faults f) { return http::demo_site::start({.pages = 1, .per_page = 2, .faults = f}); };
        {
            auto site = co_await start({.server_error = 1});
            http::client_session s;
            auto r = co_await s.get(site.url() + site.images()[0].path);
            EXPECT_TRUE(r.status() == 500 || r.status() == 503) << r.status();
            EXPECT_EQ(r.headers().get("retry-after").value_or(""), "1");
            try {
                r.raise_for_status();
                ADD_FAILURE() << "no error";
            } catch (const http::error& e) {
                EXPECT_EQ(e.kind(), http::error::reason::status);
                EXPECT_EQ(e.status(), r.status());
            }
            site.close();
        }
        {
            auto site = co_await start({.throttle = 1});
            http::client_session s;
            auto r = co_await s.get(site.page_url(1));
            EXPECT_EQ(r.status(), 429);
            EXPECT_TRUE(r.headers().contains("Retry-After"));
            site.close();
        }
        {
            auto site = co_await start({.reset = 1});
            http::client_session s;
            co_await expect_error(s.get(site.url() + site.images()[0].path), http::error::reason::transfer);
            site.close();
        }
        {
            auto site = co_await start({.truncate = 1});
            http::client_session s;
            co_await expect_error(s.get(site.url() + site.images()[0].path), http::error::reason::transfer);
            site.close();
        }
        {
            auto site = co_await start({.stall = 1, .stall_for = 20s});
            http::client_session s({.timeout = 300ms});
            auto m = co_await expect_error(s.get(site.url() + site.images()[0].path), http::error::reason::timeout);
            EXPECT_NE(m.find(site.images()[0].path), std::string::npos) << m;
            EXPECT_EQ(s.active(), 0u);
            site.close();
        }
        {
            auto site = co_await start({.redirect = 1});
            http::client_session s;
            auto r = co_await s.get(site.url() + site.images()[0].path);
            EXPECT_EQ(r.status(), 200);
            EXPECT_NE(r.url().find("from=redirect"), std::string::npos) << r.url();
            http::request_options raw_options{.follow_redirects = false};
            auto raw = co_await s.get(site.url() + site.images()[0].path, std::move(raw_options));
            EXPECT_EQ(raw.status(), 302);
            http::client_session strict({.max_redirects = 0});
            co_await expect_error(strict.get(site.url() + site.images()[0].path), http::error::reason::too_many_redirects);
            site.close();
        }
        {
            auto site = co_await start({.hotlink_protection = true});
            http::client_session s;
            auto denied = co_await s.get(site.url() + site.images()[0].path);
            EXPECT_EQ(denied.status(), 403);
            http::request_options allowed_options{.referer = site.page_url(1)};
            auto allowed = co_await s.get(site.url() + site.images()[0].path, std::move(allowed_options));
            EXPECT_EQ(allowed.status(), 200);
            EXPECT_EQ(sha256_hex(allowed.body()), site.images()[0].sha256);
            site.close();
        }
    }());
}

TEST(HttpClient, WeftTimeoutAndCancellationRemoveTheTransfer) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        // The server sends headers and half a body, then goes quiet.
        auto srv = co_await http::server::start(
            [](http::exchange& ex) -> weft::task<> {
                ex.stream().write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
                ex.stream().write(std::string(50000, 'x'));
                co_await ex.stream().drain();
                ex.mark_responded();
                ex.close_connection();
                co_await weft::sleep(20s);
            },
            "127.0.0.1", 0);
        http::client_session session;
        bool timed_out = false;
        try {
            co_await weft::wait_for(session.get(srv.url() + "/slow"), 300ms);
        } catch (const weft::timeout_error&) {
            timed_out = true;
        }
        EXPECT_TRUE(timed_out);
        EXPECT_EQ(session.active(), 0u);

        auto h = weft::create_task(session.get(srv.url() + "/slow"));
        co_await weft::sleep(200ms);  // mid-transfer now
        EXPECT_EQ(session.active(), 1u);
        bool cancelled = co_await cancel_and_await(h);
        EXPECT_TRUE(cancelled);
        EXPECT_EQ(session.active(), 0u);
        // The session still works afterwards.
        srv.close();
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 1});
        EXPECT_EQ((co_await session.get(site.page_url(1))).status(), 200);
        site.close();
    }());
}

TEST(HttpClient, RangeRequests) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 1, .image_bytes = 1000});
        http::client_session session;
        std::string url = site.url() + site.images()[0].path;
        auto full = co_await session.get(url);
        http::request_options part_options{.range = "100-199"};
        auto part = co_await session.get(url, std::move(part_options));
        EXPECT_EQ(part.status(), 206);
        EXPECT_EQ(part.body(), full.body().substr(100, 100));
        EXPECT_EQ(part.headers().get("content-range").value_or(""), "bytes 100-199/1000");
        http::request_options tail_options{.range = "900-"};
        auto tail = co_await session.get(url, std::move(tail_options));
        EXPECT_EQ(tail.body(), full.body().substr(900));
        http::request_options beyond_options{.range = "5000-"};
        auto beyond = co_await session.get(url, std::move(beyond_options));
        EXPECT_EQ(beyond.status(), 416);
        site.close();
    }());
}

TEST(HttpClient, HeadersCookiesPostAndHead) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto srv = co_await http::server::start(
            [](http::exchange& ex) -> weft::task<> {
                const auto& req = ex.request();
                if (req.path == "/set") {
                    http::reply r{.body = "set"};
                    r.headers.emplace_back("Set-Cookie", "session=abc123; Path=/");
                    co_await ex.respond(std::move(r));
                    co_return;
                }
                std::string echo = req.method + "\n";
                for (const char* name : {"cookie", "user-agent", "referer", "x-custom", "content-type"})
                    echo += std::string(name) + "=" + req.headers.get(name).value_or("") + "\n";
                echo += "body=" + req.body + "\n";
                http::reply answer{.body = echo};
                co_await ex.respond(std::move(answer));
            },
            "127.0.0.1", 0);
        http::client_session session({.user_agent = "weft-test/1", .headers = {{"X-Custom", "yes"}}});
        EXPECT_EQ((co_await session.get(srv.url() + "/set")).body(), "set");
        http::request_options r_options{.referer = "http://127.0.0.1/ref"};
        auto r = co_await session.get(srv.url() + "/echo", std::move(r_options));
        EXPECT_NE(r.body().find("cookie=session=abc123"), std::string::npos) << r.body();
        EXPECT_NE(r.body().find("user-agent=weft-test/1"), std::string::npos);
        EXPECT_NE(r.body().find("referer=http://127.0.0.1/ref"), std::string::npos);
        EXPECT_NE(r.body().find("x-custom=yes"), std::string::npos);
        auto p = co_await session.post(srv.url() + "/echo", "{\"a\":1}", "application/json");
        EXPECT_NE(p.body().find("POST\n"), std::string::npos);
        EXPECT_NE(p.body().find("body={\"a\":1}"), std::string::npos);
        EXPECT_NE(p.body().find("content-type=application/json"), std::string::npos);
        auto h = co_await session.head(srv.url() + "/echo");
        EXPECT_EQ(h.status(), 200);
        EXPECT_TRUE(h.body().empty());
        EXPECT_NE(h.headers().get("content-length").value_or("0"), "0");
        http::client_session no_cookies({.cookies = false});
        co_await no_cookies.get(srv.url() + "/set");
        auto r2 = co_await no_cookies.get(srv.url() + "/echo");
        EXPECT_NE(r2.body().find("cookie=\n"), std::string::npos) << r2.body();
        srv.close();
    }());
}

TEST(HttpClient, PerHostLimitQueuesAndTheWaitDoesNotCountTowardsTheTimeout) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        int inside = 0, most = 0;
        auto srv = co_await http::server::start(
            [&](http::exchange& ex) -> weft::task<> {
                most = std::max(most, ++inside);
                co_await weft::sleep(100ms);
                --inside;
                http::reply answer{.body = "ok"};
                co_await ex.respond(std::move(answer));
            },
            "127.0.0.1", 0);
        http::client_session session({.limit_per_host = 2, .timeout = 400ms});
        std::vector<weft::task<http::response>> jobs;
        for (int i = 0; i < 10; ++i) jobs.push_back(session.get(srv.url() + "/" + std::to_string(i)));
        auto results = co_await weft::gather(std::move(jobs));  // 5 rounds of 100 ms > 400 ms
        for (auto& r : results) EXPECT_EQ(r.status(), 200);
        EXPECT_EQ(most, 2);
        srv.close();
    }());
}

TEST(HttpClient, DownloadIsAtomic) {
    auto dir = temp_dir("download");
    weft::run([&dir]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 2, .image_bytes = 3 * 1024 * 1024});
        http::client_session session;
        auto target = dir / "a.jpg";
        auto d = co_await session.download(site.url() + site.images()[0].path, target);
        EXPECT_EQ(d.status, 200);
        EXPECT_EQ(d.bytes, site.images()[0].size);
        std::ifstream in(target, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), {});
        EXPECT_EQ(sha256_hex(data), site.images()[0].sha256);
        EXPECT_FALSE(std::filesystem::exists(dir / "a.jpg.part"));

        auto missing = dir / "missing.jpg";
        co_await expect_error(session.download(site.url() + "/uploads/none.jpg", missing), http::error::reason::status);
        EXPECT_FALSE(std::filesystem::exists(missing));
        EXPECT_FALSE(std::filesystem::exists(dir / "missing.jpg.part"));
        site.close();

        auto broken = co_await http::demo_site::start(
            {.pages = 1, .per_page = 1, .image_bytes = 3 * 1024 * 1024, .faults = {.truncate = 1}});
        auto cut = dir / "cut.jpg";
        co_await expect_error(session.download(broken.url() + broken.images()[0].path, cut), http::error::reason::transfer);
        EXPECT_FALSE(std::filesystem::exists(cut));
        EXPECT_FALSE(std::filesystem::exists(dir / "cut.jpg.part"));
        broken.close();
    }());
    std::filesystem::remove_all(dir);
}

namespace {

// `openssl s_server -www` on a fresh loopback port with a self-signed certificate.
class tls_fixture {
public:
    explicit tls_fixture(const std::filesystem::path& dir) : cert_(dir / "cert.pem") {
        auto key = dir / "key.pem";
        std::string make = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext "
                           "subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" + key.string() + "' -out '" +
                           cert_.string() + "' >/dev/null 2>&1";
        if (std::system(make.c_str()) != 0) throw std::runtime_error("openssl req failed");
        port_ = free_port();
        std::string accept = "127.0.0.1:" + std::to_string(port_);
        std::vector<std::string> args = {"openssl", "s_server", "-quiet", "-www", "-accept", accept,
                                         "-cert", cert_.string(), "-key", key.string()};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (::posix_spawnp(&pid_, "openssl", nullptr, nullptr, argv.data(), environ) != 0)
            throw std::runtime_error("cannot start openssl s_server");
        for (int i = 0; i < 100 && !accepting(); ++i) ::usleep(50'000);
    }
    ~tls_fixture() {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
    }
    std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }
    const std::filesystem::path& cert() const { return cert_; }

private:
    static int free_port() {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        ::close(fd);
        return ntohs(a.sin_port);
    }
    bool accepting() const {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port_));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        return ok;
    }
    std::filesystem::path cert_;
    int port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace

TEST(HttpClient, TlsVerificationIsOnByDefault) {
    auto dir = temp_dir("tls");
    {
        tls_fixture tls(dir);
        weft::run([&tls]() -> weft::task<> {
            auto deadline = weft::timeout(30s);
            http::client_session strict;
            co_await expect_error(strict.get(tls.url()), http::error::reason::tls);
            http::client_session lax({.verify = false});
            auto r = co_await lax.get(tls.url());
            EXPECT_EQ(r.status(), 200);
            http::client_session trusting({.ca_file = tls.cert().string()});
            auto r2 = co_await trusting.get(tls.url());
            EXPECT_EQ(r2.status(), 200);
        }());
    }
    std::filesystem::remove_all(dir);
}
