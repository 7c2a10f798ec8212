// client_session::download with download_options: resuming ".part" files with Range/If-Range,
// restarts, size limits, keeping partial files, verification and callbacks — against weft's own
// server on loopback, including handlers that misbehave on purpose.
// Options with strings or callbacks are named before a co_await: GCC 12 destroys a braced
// temporary with a non-trivial destructor in a co_await full-expression twice.
#include "http_test_support.hpp"

#include <weft/http/client_session.hpp>
#include <weft/http/demo_site.hpp>
#include <weft/http/server.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace http = weft::http;
namespace fs = std::filesystem;

namespace {

std::string random_bytes(std::size_t n) {
    std::mt19937 gen(42);
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(gen() & 0xff);
    return out;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const fs::path& p, const std::string& data) {
    std::ofstream(p, std::ios::binary) << data;
}

fs::path temp_dir(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("weft_download_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// What the callbacks saw.
struct seen {
    int header_calls = 0;
    long status = 0;
    std::string validator;
    std::uint64_t progress = 0;

    void watch(http::download_options& o) {
        o.on_headers = [this](long s, const http::header_list& h) {
            ++header_calls;
            status = s;
            validator = http::validator_of(h);
        };
        o.on_progress = [this](std::uint64_t n) { progress += n; };
    }
};

// How the origin answers.
enum class mode {
    normal,        // respond(): Range, If-Range and a strong ETag from the server
    no_ranges,     // a raw 200 with the whole body, whatever the request asked
    reset,         // half the body, then (once `client` wrote it, if set) a TCP reset
    lying_length,  // Content-Length says more than is sent, then the connection closes
    stall,         // half the body, then silence
    unsized,       // no Content-Length: the body ends when the connection closes
    wrong_total,   // a 206 whose Content-Range total is larger than the file
};

// A server for `data` that logs each request's Range and If-Range.
struct origin {
    std::string data;
    mode how = mode::normal;
    std::vector<std::string> ranges{};     // "" when none was sent
    std::vector<std::string> if_ranges{};  // "" when none was sent
    http::server srv{};
    const seen* client = nullptr;  // mode::reset waits until this client wrote the half body

    std::string etag() const { return http::strong_etag(data); }
    std::string url() const { return srv.url() + "/file.bin"; }

    weft::task<void> serve(http::exchange& ex) {
        const auto& req = ex.request();
        if (req.path != "/file.bin") {
            http::reply missing{.status = 404, .body = "404 Not Found\n"};
            co_await ex.respond(std::move(missing));
            co_return;
        }
        ranges.push_back(req.headers.get("range").value_or(""));
        if_ranges.push_back(req.headers.get("if-range").value_or(""));
        auto raw_head = [&](std::string_view status, std::string_view extra) {
            return fmt::format("HTTP/1.1 {}\r\nServer: weft\r\nETag: {}\r\n{}\r\n", status, etag(), extra);
        };
        const std::string_view half = std::string_view(data).substr(0, data.size() / 2);
        switch (how) {
        case mode::normal: {
            http::reply r{.content_type = "application/octet-stream", .body = data};
            co_await ex.respond(std::move(r));
            co_return;
        }
        case mode::no_ranges:
            ex.stream().write(raw_head("200 OK", fmt::format("Content-Length: {}\r\n", data.size())));
            ex.stream().write(data);
            break;
        case mode::reset:
        case mode::lying_length:
        case mode::stall:
            ex.stream().write(raw_head("200 OK", fmt::format("Content-Length: {}\r\n", data.size())));
            ex.stream().write(half);
            break;
        case mode::unsized:
            ex.stream().write(raw_head("200 OK", "Connection: close\r\n"));
            ex.stream().write(data);
            ex.close_connection();
            break;
        case mode::wrong_total: {
            std::size_t first = std::stoul(req.headers.get("range").value_or("bytes=0-").substr(6));
            ex.stream().write(raw_head("206 Partial Content",
                                       fmt::format("Content-Range: bytes {}-{}/{}\r\nContent-Length: {}\r\n", first,
                                                   data.size() - 1, data.size() + 100, data.size() - first)));
            ex.stream().write(std::string_view(data).substr(first));
            break;
        }
        }
        co_await ex.stream().drain();
        ex.mark_responded();
        if (how == mode::reset) {
            // Let the half body arrive first (a reset drops what the peer has not read yet).
            for (int i = 0; i < 1000 && client && client->progress < half.size(); ++i) co_await weft::sleep(5ms);
            ex.reset();
        } else if (how == mode::lying_length) {
            ex.close_connection();
        } else if (how == mode::stall) {
            ex.close_connection();
            co_await weft::sleep(20s);
        }
    }

    weft::task<void> start() {
        http::handler h = [this](http::exchange& ex) { return serve(ex); };
        srv = co_await http::server::start(std::move(h), "127.0.0.1", 0);
    }
};

using weft_test::cancel_and_await;
using weft_test::expect_error;
using weft_test::sha256_hex;

}  // namespace

TEST(HttpDownload, ValidatorOfPrefersAStrongEtag) {
    http::header_list both;
    both.add("ETag", "\"abc\"");
    both.add("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(http::validator_of(both), "\"abc\"");
    http::header_list weak;
    weak.add("etag", "W/\"abc\"");
    weak.add("last-modified", "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(http::validator_of(weak), "Sun, 06 Nov 1994 08:49:37 GMT");
    http::header_list weak_only;
    weak_only.add("ETag", "W/\"abc\"");
    EXPECT_EQ(http::validator_of(weak_only), "");
    EXPECT_EQ(http::validator_of(http::header_list()), "");
}

TEST(HttpDownload, ResumesAPartFileWithARangeRequest) {
    auto dir = temp_dir("resume");
    weft::run([&dir]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        origin o{.data = random_bytes(300'000)};
        co_await o.start();
        auto target = dir / "a.bin";
        write_file(dir / "a.bin.part", o.data.substr(0, 100'000));
        http::client_session session;
        seen s;
        http::download_options options{.resume = true, .if_range = o.etag()};
        s.watch(options);
        auto d = co_await session.download(o.url(), target, std::move(options));
        EXPECT_EQ(d.status, 206);
        EXPECT_EQ(d.resumed_from, 100'000u);
        EXPECT_EQ(d.bytes, o.data.size());
        EXPECT_EQ(d.path, target);
        EXPECT_TRUE(slurp(target) == o.data);
        EXPECT_FALSE(fs::exists(dir / "a.bin.part"));
        EXPECT_EQ(o.ranges, std::vector<std::string>{"bytes=100000-"});
        EXPECT_EQ(o.if_ranges, std::vector<std::string>{o.etag()});
        EXPECT_EQ(http::validator_of(d.headers), o.etag());
        EXPECT_EQ(d.headers.get("content-range").value_or(""), "bytes 100000-299999/300000");
        EXPECT_EQ(s.header_calls, 1);
        EXPECT_EQ(s.status, 206);
        EXPECT_EQ(s.validator, o.etag());
        EXPECT_EQ(s.progress, 200'000u);

        // Without `resume` an existing ".part" is simply overwritten.
        write_file(dir / "b.bin.part", "stale bytes");
        seen plain;
        http::download_options plain_options;
        plain.watch(plain_options);
        auto whole = co_await session.download(o.url(), dir / "b.bin", std::move(plain_options));
        EXPECT_EQ(whole.status, 200);
        EXPECT_EQ(whole.resumed_from, 0u);
        EXPECT_TRUE(slurp(dir / "b.bin") == o.data);
        EXPECT_EQ(o.ranges.back(), "");
        EXPECT_EQ(plain.status, 200);
        EXPECT_EQ(plain.progress, o.data.size());
        o.srv.close();
    }());
    fs::remove_all(dir);
}

TEST(HttpDownload, HashesTheFileWhileWritingItInBatches) {
    auto dir = temp_dir("hash");
    weft::run([&dir]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        origin o{.data = random_bytes(700'000)};  // several 256 KiB batches
        co_await o.start();
        http::client_session session;
        seen whole;
        http::download_options whole_options{.sha256 = true};
        whole.watch(whole_options);
        auto d = co_await session.download(o.url(), dir / "whole.bin", std::move(whole_options));
        EXPECT_EQ(d.sha256, sha256_hex(o.data));
        EXPECT_TRUE(slurp(dir / "whole.bin") == o.data);
        EXPECT_EQ(whole.progress, o.data.size());

        // Resumed: the bytes kept in ".part" are hashed first.
        write_file(dir / "resumed.bin.part", o.data.substr(0, 300'000));
        http::download_options resumed_options{.resume = true, .if_range = o.etag(), .sha256 = true};
        auto r = co_await session.download(o.url(), dir / "resumed.bin", std::move(resumed_options));
        EXPECT_EQ(r.resumed_from, 300'000u);
        EXPECT_EQ(r.sha256, sha256_hex(o.data));
        EXPECT_TRUE(slurp(dir / "resumed.bin") == o.data);

        // Not asked for: not computed.
        auto plain = co_await session.download(o.url(), dir / "plain.bin");
        EXPECT_TRUE(plain.sha256.empty());
        o.srv.close();
    }());
    fs::remove_all(dir);
}

TEST(HttpDownload, AChangedValidatorOrNoRangeSupportStartsOver) {
    auto dir = temp_dir("restart");
    weft::run([&dir]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        origin o{.data = random_bytes(200'000)};
        co_await o.start();
        http::client_session session;
        auto part = dir / "a.bin.part";

        // The file changed since ".part" was written: If-Range fails, the server sends it all.
        write_file(part, std::string(50'000, 'x'));
        seen changed;
        http::download_options stale{.resume = true, .if_range = "\"stale\""};
        changed.watch(stale);
        auto d = co_await session.download(o.url(), dir / "a.bin", std::move(stale));
        EXPECT_EQ(d.status, 200);
        EXPECT_EQ(d.resumed_from, 0u);
        EXPECT_EQ(d.bytes, o.data.size());
        EXPECT_TRUE(slurp(dir / "a.bin") == o.data);
        EXPECT_EQ(o.ranges.back(), "bytes=50000-");
        EXPECT_EQ(o.if_ranges.back(), "\"stale\"");
        EXPECT_EQ(changed.status, 200);
        EXPECT_EQ(changed.progress, o.data.size());
        EXPECT_FALSE(fs::exists(part));

        // No validator saved: no Range is sent.
        write_file(part, o.data.substr(0, 50'000));
        http::download_options unvalidated{.resume = true};
        d = co_await session.download(o.url(), dir / "b.bin", std::move(unvalidated));
        EXPECT_EQ(d.resumed_from, 0u);
        EXPECT_EQ(o.ranges.back(), "");
        EXPECT_EQ(o.if_ranges.back(), "");
        EXPECT_TRUE(slurp(dir / "b.bin") == o.data);

        // A server that ignores Range answers 200: ".part" is truncated and rewritten.
        o.how = mode::no_ranges;
        write_file(dir / "c.bin.part", o.data.substr(0, 50'000));
        http::download_options ignored{.resume = true, .if_range = o.etag()};
        d = co_await session.download(o.url(), dir / "c.bin", std::move(ignored));
        EXPECT_EQ(d.status, 200);
        EXPECT_EQ(d.resumed_from, 0u);
        EXPECT_EQ(o.ranges.back(), "bytes=50000-");
        EXPECT_TRUE(slurp(dir / "c.bin") == o.data);

        // ".part" is already complete: the range is unsatisfiable (416), so it is fetched again whole.
        o.how = mode::normal;
        write_file(dir / "d.bin.part", o.data);
        std::size_t before = o.ranges.size();
        http::download_options complete{.resume = true, .if_range = o.etag()};
        d = co_await session.download(o.url(), dir / "d.bin", std::move(complete));
        EXPECT_EQ(d.status, 200);
        EXPECT_EQ(d.resumed_from, 0u);
        EXPECT_TRUE(slurp(dir / "d.bin") == o.data);
        EXPECT_EQ(std::vector<std::string>(o.ranges.begin() + static_cast<long>(before), o.ranges.end()),
                  (std::vector<std::string>{"bytes=200000-", ""}));
        EXPECT_FALSE(fs::exists(dir / "d.bin.part"));
        o.srv.close();
    }());
    fs::remove_all(dir);
}

TEST(HttpDownload, MaxBytesByLengthAndWhileStreaming) {
    auto dir = temp_dir("max");
    weft::run([&dir]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        origin o{.data = random_bytes(100'000)};
        co_await o.start();
        http::client_session session;

        seen s;
        http::download_options by_length{.max_bytes = 1000};
        s.watch(by_length);
        auto m = co_await expect_error(session.download(o.url(), dir / "a.bin", std::move(by_length)),
                                       http::error::reason::too_large);
        EXPECT_NE(m.find("100000"), std::string::npos) << m;
        EXPECT_NE(m.find("limit of 1000 bytes"), std::string::npos) << m;
        EXPECT_EQ(s.header_calls, 0);  // refused before anything was written
        EXPECT_FALSE(fs::exists(dir / "a.bin"));
        EXPECT_FALSE(fs::exists(dir / "a.bin.part"));

        // No Content-Length: the limit is found while streaming, and even keep_partial drops the file.
        o.how = mode::unsized;
        http::download_options streaming{.max_bytes = 1000, .keep_partial = true};
        m = co_await expect_error(session.download(o.url(), dir / "b.bin", std::move(streaming)),
                                  http::error::reason::too_large);
        EXPECT_NE(m.find("limit of 1000 bytes"), std::string::npos) << m;
        EXPECT_FALSE(fs::exists(dir / "b.bin"));
        EXPECT_FALSE(fs::exists(dir / "b.bin.part"));

        // Exactly at the limit is fine, sized or not.
        http::download_options exact{.max_bytes = 100'000};
        auto d = co_await session.download(o.url(), dir / "c.bin", std::move(exact));
        EXPECT_EQ(d.bytes, 100'000u);
        EXPECT_TRUE(slurp(dir / "c.bin") == o.data);
        o.how = mode::normal;
        http::download_options exact_sized{.max_bytes = 100'000};
        d = co_await session.download(o.url(), dir / "d.bin", std::move(exact_sized));
        EXPECT_TRUE(slurp(dir / "d.bin") == o.data);
        o.srv.close();
    }());
    fs::remove_all(dir);
}

TEST(HttpDownload, KeepPartialAfterAResetThenResume) {
    auto dir = temp_dir("reset");
    weft::run([&dir]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        origin o{.data = random_bytes(400'000), .how = mode::reset};
        co_await o.start();
        http::client_session session;
        auto target = dir / "a.bin";
        auto part = dir / "a.bin.part";

        seen first;
        o.client = &first;
        http::download_options keep{.keep_partial = true};
        first.watch(keep);
        co_await expect_error(session.download(o.url(), target, std::move(keep)), http::error::reason::transfer);
        EXPECT_FALSE(fs::exists(target));
        EXPECT_TRUE(fs::exists(part));
        std::string kept = slurp(part);
        EXPECT_EQ(kept.size(), o.data.size() / 2);  // all that arrived, flushed to disk
        EXPECT_TRUE(kept == o.data.substr(0, kept.size()));
        EXPECT_EQ(first.progress, kept.size());
        EXPECT_EQ(first.validator, o.etag());

        // The next run resumes it.
        o.how = mode::normal;
        http::download_options resume{.resume = true, .if_range = first.validator, .keep_partial = true};
        auto d = co_await session.download(o.url(), target, std::move(resume));
        EXPECT_EQ(d.status, 206);
        EXPECT_EQ(d.resumed_from, kept.size());
        EXPECT_TRUE(slurp(target) == o.data);
        EXPECT_EQ(o.ranges.back(), "bytes=" + std::to_string(kept.size()) + "-");
        EXPECT_FALSE(fs::exists(part));

        // Without keep_partial the same failure leaves nothing behind.
        o.how = mode::reset;
        o.client = nullptr;
        co_await expect_error(session.download(o.url(), dir / "b.bin"), http::error::reason::transfer);
        EXPECT_FALSE(fs::exists(dir / "b.bin"));
        EXPECT_FALSE(fs::exists(dir / "b.bin.part"));
        // ... and an error status removes even a kept ".part".
        write_file(dir / "c.bin.part", "abc");
        http::download_options missing{.resume = true, .if_range = o.etag(), .keep_partial = true};
        co_await expect_error(session.download(o.srv.url() + "/nope", dir / "c.bin", std::move(missing)),
                              http::error::reason::status);
        EXPECT_FALSE(fs::exists(dir / "c.bin.part"));
        o.srv.close();
    }());
    fs::remove_all(dir);
}

TEST(HttpDownload, AWrongSizeFailsAndLeavesNoFile) {
    auto dir = temp_dir("size");
    weft::run([&dir]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        origin o{.data = random_bytes(100'000), .how = mode::lying_length};
        co_await o.start();
        http::client_session session;
        co_await expect_error(session.download(o.url(), dir / "a.bin"), http::error::reason::transfer);
        EXPECT_FALSE(fs::exists(dir / "a.bin"));
        EXPECT_FALSE(fs::exists(dir / "a.bin.part"));

        // A 206 whose total disagrees with what arrives: the download's own check catches it,
        // and a ".part" that contradicts the response is not kept.
        o.how = mode::wrong_total;
        write_file(dir / "b.bin.part", o.data.substr(0, 1000));
        http::download_options resume{.resume = true, .if_range = o.etag(), .keep_partial = true};
        auto m = co_await expect_error(session.download(o.url(), dir / "b.bin", std::move(resume)),
                                       http::error::reason::transfer);
        EXPECT_NE(m.find("truncated: got 100000 of 100100 bytes"), std::string::npos) << m;
        EXPECT_FALSE(fs::exists(dir / "b.bin"));
        EXPECT_FALSE(fs::exists(dir / "b.bin.part"));
        o.srv.close();
    }());
    fs::remove_all(dir);
}

TEST(HttpDownload, CancellingMidTransferKeepsThePartFileOnlyWhenAsked) {
    auto dir = temp_dir("cancel");
    weft::run([&dir]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        origin o{.data = random_bytes(600'000), .how = mode::stall};
        co_await o.start();
        http::client_session session;
        for (bool keep_partial : {true, false}) {
            auto target = dir / (keep_partial ? "kept.bin" : "dropped.bin");
            auto part = fs::path(target) += ".part";
            seen s;
            http::download_options options{.keep_partial = keep_partial};
            s.watch(options);
            auto h = weft::create_task(session.download(o.url(), target, std::move(options)));
            // The half body arrives (the server is silent afterwards), and its first 256 KiB
            // go to the pool as one batch: wait until that batch is on disk, so what follows
            // does not depend on whether the pool had started the job when we cancel (a job
            // still pending is cancelled with the download; one running finishes).
            auto landed = [&part] {
                std::error_code ec;
                auto size = fs::file_size(part, ec);
                return !ec && size >= 256 * 1024u;
            };
            for (int i = 0; i < 500 && (s.progress < o.data.size() / 2 || !landed()); ++i) co_await weft::sleep(10ms);
            EXPECT_EQ(s.progress, o.data.size() / 2);
            EXPECT_TRUE(landed());
            EXPECT_EQ(session.active(), 1u);
            bool cancelled = co_await cancel_and_await(h);
            EXPECT_TRUE(cancelled);
            EXPECT_EQ(session.active(), 0u);
            // A kept ".part" stays; a dropped one is removed (by the cancelled download, or by
            // a write still in flight on the pool when it ends).
            auto settle_until = std::chrono::steady_clock::now() + 5s;
            auto settled = [&] {
                std::error_code ec;
                auto size = fs::file_size(part, ec);
                return keep_partial ? !ec && size >= 256 * 1024u : !fs::exists(part);
            };
            while (!settled() && std::chrono::steady_clock::now() < settle_until) co_await weft::sleep(5ms);
            co_await weft::sleep(50ms);  // and nothing changes afterwards
            EXPECT_FALSE(fs::exists(target));
            EXPECT_EQ(fs::exists(part), keep_partial);
            if (keep_partial) {
                std::string kept = slurp(part);
                EXPECT_GE(kept.size(), 256 * 1024u);  // the batch handed to the pool went to disk
                EXPECT_TRUE(kept == o.data.substr(0, kept.size()));
            }
        }
        o.srv.close();
    }());
    fs::remove_all(dir);
}

TEST(HttpDownload, DemoSiteImagesCanBeResumed) {
    auto dir = temp_dir("demo");
    weft::run([&dir]() -> weft::task<> {
        auto deadline = weft::timeout(30s);
        auto site = co_await http::demo_site::start({.pages = 1, .per_page = 1, .image_bytes = 200'000});
        http::client_session session;
        std::string url = site.url() + site.images()[0].path;
        auto whole = co_await session.get(url);
        std::string validator = http::validator_of(whole.headers());
        EXPECT_TRUE(validator.starts_with('"')) << validator;  // a strong ETag, without demo_site's help
        write_file(dir / "1.jpg.part", whole.body().substr(0, 75'000));
        http::download_options resume{.resume = true, .if_range = validator};
        auto d = co_await session.download(url, dir / "1.jpg", std::move(resume));
        EXPECT_EQ(d.status, 206);
        EXPECT_EQ(d.resumed_from, 75'000u);
        EXPECT_EQ(d.bytes, site.images()[0].size);
        EXPECT_TRUE(slurp(dir / "1.jpg") == whole.body());
        site.close();
    }());
    fs::remove_all(dir);
}
