// weft::http::server over raw loopback connections: keep-alive, pipelining, HEAD, Range,
// limits and malformed input.
#include <weft/http/server.hpp>
#include <weft/net/stream.hpp>
#include <weft/run.hpp>
#include <weft/timeout.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace std::chrono_literals;
namespace http = weft::http;

namespace {

http::handler echo_handler() {
    return [](http::exchange& ex) -> weft::task<> {
        const auto& req = ex.request();
        if (req.path == "/boom") throw std::runtime_error("handler failed");
        http::reply answer{.body = req.method + " " + req.path + " q=" + req.query + " body=" + req.body};
        co_await ex.respond(std::move(answer));
    };
}

// Reads one response (head + Content-Length body) from `s`.
weft::task<std::string> read_response(weft::net::stream& s) {
    std::string head = co_await s.readuntil("\r\n\r\n");
    std::size_t length = 0;
    if (auto at = head.find("Content-Length: "); at != std::string::npos) length = std::stoul(head.substr(at + 16));
    bool is_head_reply = head.find("X-Head: 1") != std::string::npos;
    std::string body;
    if (length && !is_head_reply) body = co_await s.readexactly(length);
    co_return head + body;
}

weft::task<std::string> read_all(weft::net::stream& s) {
    std::string all;
    for (std::string chunk; !(chunk = co_await s.read()).empty();) all += chunk;
    co_return all;
}

}  // namespace

TEST(HttpServer, KeepAliveAndPipelining) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(20s);
        auto srv = co_await http::server::start(echo_handler(), "127.0.0.1", 0);
        auto s = co_await weft::net::open_connection("127.0.0.1", srv.port());
        s.write("GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
        auto r1 = co_await read_response(s);
        EXPECT_NE(r1.find("HTTP/1.1 200 OK"), std::string::npos);
        EXPECT_NE(r1.find("GET /a q=x=1 body="), std::string::npos);
        // Two pipelined requests in one write, one with a body.
        s.write("POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloGET /c%20d HTTP/1.1\r\nHost: t\r\n\r\n");
        auto r2 = co_await read_response(s);
        auto r3 = co_await read_response(s);
        EXPECT_NE(r2.find("POST /b q= body=hello"), std::string::npos) << r2;
        EXPECT_NE(r3.find("GET /c d q="), std::string::npos) << r3;
        EXPECT_EQ(srv.connections_accepted(), 1u);
        EXPECT_EQ(srv.requests_served(), 3u);
        // Connection: close is honoured.
        s.write("GET /z HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        auto last = co_await read_all(s);
        EXPECT_NE(last.find("Connection: close"), std::string::npos);
        srv.close();
    }());
}

TEST(HttpServer, HeadAndRange) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(20s);
        auto srv = co_await http::server::start(
            [](http::exchange& ex) -> weft::task<> {
                http::reply r{.body = "0123456789"};
                if (ex.request().method == "HEAD") r.headers.emplace_back("X-Head", "1");
                co_await ex.respond(std::move(r));
            },
            "127.0.0.1", 0);
        auto s = co_await weft::net::open_connection("127.0.0.1", srv.port());
        s.write("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
        auto head = co_await read_response(s);
        EXPECT_NE(head.find("Content-Length: 10"), std::string::npos);
        EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
        s.write("GET / HTTP/1.1\r\nRange: bytes=2-4\r\n\r\n");
        auto part = co_await read_response(s);
        EXPECT_NE(part.find("206 Partial Content"), std::string::npos);
        EXPECT_NE(part.find("Content-Range: bytes 2-4/10"), std::string::npos);
        EXPECT_TRUE(part.ends_with("\r\n\r\n234")) << part;
        s.write("GET / HTTP/1.1\r\nRange: bytes=-3\r\n\r\n");
        EXPECT_TRUE((co_await read_response(s)).ends_with("789"));
        s.write("GET / HTTP/1.1\r\nRange: bytes=20-\r\n\r\n");
        auto bad = co_await read_response(s);
        EXPECT_NE(bad.find("416"), std::string::npos);
        EXPECT_NE(bad.find("Content-Range: bytes */10"), std::string::npos);
        srv.close();
    }());
}

TEST(HttpServer, MalformedAndOversizedRequestsAreRefusedAndTheServerCarriesOn) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(20s);
        auto srv = co_await http::server::start(echo_handler(), "127.0.0.1", 0,
                                                {.max_header_bytes = 1024, .max_body_bytes = 100});
        auto exchange_raw = [&](std::string bytes) -> weft::task<std::string> {
            auto s = co_await weft::net::open_connection("127.0.0.1", srv.port());
            s.write(bytes);
            co_return co_await read_all(s);  // the server answers, then closes
        };
        auto garbage = co_await exchange_raw("THIS IS NOT HTTP\r\n\r\n");
        EXPECT_NE(garbage.find("400 Bad Request"), std::string::npos) << garbage;
        auto huge = co_await exchange_raw("GET / HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
        EXPECT_NE(huge.find("431"), std::string::npos) << huge;
        auto big_body = co_await exchange_raw("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
        EXPECT_NE(big_body.find("413"), std::string::npos) << big_body;
        auto failing = co_await exchange_raw("GET /boom HTTP/1.1\r\n\r\n");
        EXPECT_NE(failing.find("500"), std::string::npos) << failing;
        auto fine = co_await exchange_raw("GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n");
        EXPECT_NE(fine.find("200 OK"), std::string::npos) << fine;
        srv.close();
    }());
}

TEST(HttpServer, IdleKeepAliveConnectionsAreClosed) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(20s);
        auto srv = co_await http::server::start(echo_handler(), "127.0.0.1", 0, {.keep_alive_timeout = 100ms});
        auto s = co_await weft::net::open_connection("127.0.0.1", srv.port());
        EXPECT_EQ(co_await s.read(), "");  // closed by the server, nothing sent
        srv.close();
    }());
}

TEST(HttpServer, StaticFiles) {
    auto root = std::filesystem::temp_directory_path() / ("weft_static_" + std::to_string(::getpid()));
    std::filesystem::create_directories(root / "sub");
    std::ofstream(root / "index.html") << "<p>home</p>";
    std::ofstream(root / "sub" / "a.txt") << "alpha";
    weft::run([&root]() -> weft::task<> {
        auto deadline = weft::timeout(20s);
        auto srv = co_await http::server::start(http::static_files(root), "127.0.0.1", 0);
        auto s = co_await weft::net::open_connection("127.0.0.1", srv.port());
        s.write("GET / HTTP/1.1\r\n\r\n");
        auto home = co_await read_response(s);
        EXPECT_NE(home.find("Content-Type: text/html"), std::string::npos);
        EXPECT_TRUE(home.ends_with("<p>home</p>"));
        s.write("GET /sub/a.txt HTTP/1.1\r\n\r\n");
        EXPECT_TRUE((co_await read_response(s)).ends_with("alpha"));
        s.write("GET /nope.txt HTTP/1.1\r\n\r\n");
        EXPECT_NE((co_await read_response(s)).find("404"), std::string::npos);
        s.write("GET /sub/../../etc/passwd HTTP/1.1\r\n\r\n");
        EXPECT_NE((co_await read_response(s)).find("403"), std::string::npos);
        s.write("DELETE /sub/a.txt HTTP/1.1\r\n\r\n");
        EXPECT_NE((co_await read_response(s)).find("405"), std::string::npos);
        srv.close();
    }());
    std::filesystem::remove_all(root);
}

TEST(HttpServer, Helpers) {
    EXPECT_EQ(http::reason_phrase(404), "Not Found");
    EXPECT_EQ(http::mime_type("x/Y.JPG"), "image/jpeg");
    EXPECT_EQ(http::mime_type("noext"), "application/octet-stream");
}

TEST(HttpServer, GeneratedBodiesGetAStrongEtagAndIfRangeDecidesTheRange) {
    weft::run([]() -> weft::task<> {
        auto deadline = weft::timeout(20s);
        auto srv = co_await http::server::start(
            [](http::exchange& ex) -> weft::task<> {
                http::reply r{.body = "0123456789"};
                if (ex.request().path == "/missing") r = {.status = 404, .body = "404 Not Found\n"};
                if (ex.request().path == "/own") {  // the handler's own validators are used, not doubled
                    r.headers.emplace_back("ETag", "\"v7\"");
                    r.headers.emplace_back("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");
                }
                co_await ex.respond(std::move(r));
            },
            "127.0.0.1", 0);
        const std::string tag = http::strong_etag("0123456789");
        EXPECT_EQ(tag, http::strong_etag(std::string("0123456789")));
        EXPECT_NE(tag, http::strong_etag("0123456788"));
        EXPECT_TRUE(tag.starts_with('"') && tag.ends_with('"')) << tag;
        auto s = co_await weft::net::open_connection("127.0.0.1", srv.port());
        s.write("GET / HTTP/1.1\r\n\r\n");
        auto whole = co_await read_response(s);
        EXPECT_NE(whole.find("ETag: " + tag + "\r\n"), std::string::npos) << whole;
        s.write("GET / HTTP/1.1\r\nRange: bytes=4-\r\nIf-Range: " + tag + "\r\n\r\n");
        auto part = co_await read_response(s);
        EXPECT_NE(part.find("206 Partial Content"), std::string::npos) << part;
        EXPECT_NE(part.find("ETag: " + tag + "\r\n"), std::string::npos) << part;
        EXPECT_TRUE(part.ends_with("\r\n\r\n456789")) << part;
        s.write("GET / HTTP/1.1\r\nRange: bytes=4-\r\nIf-Range: \"stale\"\r\n\r\n");
        auto changed = co_await read_response(s);
        EXPECT_NE(changed.find("200 OK"), std::string::npos) << changed;
        EXPECT_EQ(changed.find("Content-Range"), std::string::npos) << changed;
        EXPECT_TRUE(changed.ends_with("\r\n\r\n0123456789")) << changed;
        s.write("GET / HTTP/1.1\r\nRange: bytes=4-\r\nIf-Range: W/" + tag + "\r\n\r\n");  // weak: never
        EXPECT_TRUE((co_await read_response(s)).ends_with("\r\n\r\n0123456789"));
        s.write("GET / HTTP/1.1\r\nRange: bytes=40-\r\nIf-Range: \"stale\"\r\n\r\n");  // not 416: the whole body
        EXPECT_NE((co_await read_response(s)).find("200 OK"), std::string::npos);

        s.write("GET /own HTTP/1.1\r\n\r\n");
        auto own = co_await read_response(s);
        EXPECT_NE(own.find("ETag: \"v7\"\r\n"), std::string::npos) << own;
        EXPECT_EQ(own.find(tag), std::string::npos) << own;
        s.write("GET /own HTTP/1.1\r\nRange: bytes=8-\r\nIf-Range: \"v7\"\r\n\r\n");
        EXPECT_TRUE((co_await read_response(s)).ends_with("\r\n\r\n89"));
        s.write("GET /own HTTP/1.1\r\nRange: bytes=8-\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
        EXPECT_TRUE((co_await read_response(s)).ends_with("\r\n\r\n89"));
        s.write("GET /own HTTP/1.1\r\nRange: bytes=8-\r\nIf-Range: Sun, 06 Nov 1994 08:49:38 GMT\r\n\r\n");
        EXPECT_TRUE((co_await read_response(s)).ends_with("\r\n\r\n0123456789"));
        s.write("GET /missing HTTP/1.1\r\n\r\n");  // error answers carry no validator
        auto missing = co_await read_response(s);
        EXPECT_NE(missing.find("404"), std::string::npos) << missing;
        EXPECT_EQ(missing.find("ETag"), std::string::npos) << missing;
        srv.close();
    }());
}

TEST(HttpServer, StaticFilesHaveAnEtagAndLastModified) {
    auto root = std::filesystem::temp_directory_path() / ("weft_static_v_" + std::to_string(::getpid()));
    std::filesystem::create_directories(root);
    std::ofstream(root / "a.bin") << "abcdefghij";
    weft::run([&root]() -> weft::task<> {
        auto deadline = weft::timeout(20s);
        auto srv = co_await http::server::start(http::static_files(root), "127.0.0.1", 0);
        auto s = co_await weft::net::open_connection("127.0.0.1", srv.port());
        auto header = [](const std::string& response, const std::string& name) {
            auto at = response.find("\r\n" + name + ": ");
            if (at == std::string::npos) return std::string();
            at += name.size() + 4;
            return response.substr(at, response.find("\r\n", at) - at);
        };
        s.write("GET /a.bin HTTP/1.1\r\n\r\n");
        auto first = co_await read_response(s);
        std::string etag = header(first, "ETag"), modified = header(first, "Last-Modified");
        EXPECT_TRUE(etag.starts_with("\"a-")) << first;  // size 10, then the mtime
        EXPECT_TRUE(modified.ends_with(" GMT")) << first;
        EXPECT_EQ(modified.size(), 29u) << modified;
        s.write("GET /a.bin HTTP/1.1\r\nRange: bytes=7-\r\nIf-Range: " + etag + "\r\n\r\n");
        EXPECT_TRUE((co_await read_response(s)).ends_with("\r\n\r\nhij"));
        s.write("GET /a.bin HTTP/1.1\r\nRange: bytes=7-\r\nIf-Range: " + modified + "\r\n\r\n");
        EXPECT_TRUE((co_await read_response(s)).ends_with("\r\n\r\nhij"));
        // The file changes: the old ETag no longer gets a range.
        std::ofstream(root / "a.bin") << "ABCDEFGHIJK";
        s.write("GET /a.bin HTTP/1.1\r\nRange: bytes=7-\r\nIf-Range: " + etag + "\r\n\r\n");
        auto changed = co_await read_response(s);
        EXPECT_TRUE(changed.ends_with("\r\n\r\nABCDEFGHIJK")) << changed;
        EXPECT_NE(header(changed, "ETag"), etag);
        srv.close();
    }());
    std::filesystem::remove_all(root);
    EXPECT_EQ(http::http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(http::http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(HttpServer, StaticFilesReadOnTheLoopOrOnThePoolAnswerAlike) {
    // 1 KiB is read on the loop (in the page cache after the write); 300 KiB is over the
    // loop's limit, so the pool reads it: both answers have the same shape.
    auto root = std::filesystem::temp_directory_path() / ("weft_static_p_" + std::to_string(::getpid()));
    std::filesystem::create_directories(root / "dir");
    std::string small(1024, 's'), large;
    for (int i = 0; large.size() < 300 * 1024; ++i) large += std::to_string(i) + '\n';
    std::ofstream(root / "small.txt") << small;
    std::ofstream(root / "large.txt") << large;
    weft::run([&]() -> weft::task<> {
        auto deadline = weft::timeout(20s);
        auto srv = co_await http::server::start(http::static_files(root), "127.0.0.1", 0);
        auto s = co_await weft::net::open_connection("127.0.0.1", srv.port());
        for (const std::string* body : {&small, &large}) {
            std::string name = body == &small ? "small.txt" : "large.txt";
            s.write("GET /" + name + " HTTP/1.1\r\n\r\n");
            auto whole = co_await read_response(s);
            EXPECT_TRUE(whole.starts_with("HTTP/1.1 200 OK\r\n")) << name;
            EXPECT_NE(whole.find("\r\nContent-Type: text/plain\r\n"), std::string::npos) << name;
            EXPECT_NE(whole.find("\r\nAccept-Ranges: bytes\r\n"), std::string::npos) << name;
            EXPECT_NE(whole.find(fmt::format("\r\nETag: \"{:x}-", body->size())), std::string::npos) << name;
            EXPECT_NE(whole.find("\r\nLast-Modified: "), std::string::npos) << name;
            EXPECT_TRUE(whole.ends_with("\r\n\r\n" + *body)) << name;
            s.write("GET /" + name + " HTTP/1.1\r\nRange: bytes=-5\r\n\r\n");
            auto tail = co_await read_response(s);
            EXPECT_TRUE(tail.starts_with("HTTP/1.1 206 Partial Content\r\n")) << tail;
            EXPECT_NE(tail.find(fmt::format("\r\nContent-Range: bytes {}-{}/{}\r\n", body->size() - 5, body->size() - 1,
                                            body->size())),
                      std::string::npos)
                << tail;
            EXPECT_TRUE(tail.ends_with("\r\n\r\n" + body->substr(body->size() - 5))) << tail;
            s.write("GET /" + name + " HTTP/1.1\r\nRange: bytes=999999-\r\n\r\n");
            auto refused = co_await read_response(s);
            EXPECT_TRUE(refused.starts_with("HTTP/1.1 416 ")) << refused;
            EXPECT_NE(refused.find(fmt::format("\r\nContent-Range: bytes */{}\r\n", body->size())), std::string::npos);
            s.write("HEAD /" + name + " HTTP/1.1\r\n\r\n");
            auto head = co_await s.readuntil("\r\n\r\n");  // no body follows
            EXPECT_NE(head.find(fmt::format("\r\nContent-Length: {}\r\n", body->size())), std::string::npos) << head;
        }
        s.write("GET /dir HTTP/1.1\r\n\r\nGET /dir/none HTTP/1.1\r\n\r\n");  // a directory; under a directory
        EXPECT_TRUE((co_await read_response(s)).starts_with("HTTP/1.1 404 Not Found\r\n"));
        EXPECT_TRUE((co_await read_response(s)).starts_with("HTTP/1.1 404 Not Found\r\n"));
        srv.close();
    }());
    std::filesystem::remove_all(root);
}
