// Integration tests of `weft serve upper`: the real binary, in every mode, on 127.0.0.1.
// Every test bounds its waits; the server is stopped with SIGTERM/SIGINT and must exit 0.
#include "cli_process.hpp"

#include <weft/net/stream.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace net = weft::net;

namespace {

using weft_test::cli_process;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

std::string expected_reply(std::string_view sent) {
    std::string out(sent);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

// Starts `weft serve upper --port 0 <extra>` and returns it once it listens.
std::unique_ptr<cli_process> start_server(std::vector<std::string> extra, std::uint16_t& port) {
    std::vector<std::string> args = {"serve", "upper", "--host", "127.0.0.1", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto p = std::make_unique<cli_process>(args);
    port = p->wait_for_port();
    return p;
}

// One client: `messages` random messages (any byte but 'q', so no chunk can read "quit"),
// each reply checked byte for byte. Returns how many replies matched.
weft::task<int> upper_client(std::uint16_t port, int id, int messages) {
    auto s = co_await net::open_connection("127.0.0.1", port);
    std::mt19937 rng(static_cast<unsigned>(id));
    std::uniform_int_distribution<int> length(1, 300), byte(0, 255);
    int matched = 0;
    for (int m = 0; m < messages; ++m) {
        std::string msg(static_cast<std::size_t>(length(rng)), '\0');
        for (char& c : msg) {
            do c = static_cast<char>(byte(rng));
            while (c == 'q');
        }
        s.write(msg);
        std::string reply = co_await s.readexactly(msg.size());
        matched += reply == expected_reply(msg);
    }
    s.write("quit\n");
    std::string rest = co_await s.read();  // the server closes after quit
    matched -= !rest.empty();
    co_return matched;
}

int run_clients(std::uint16_t port, int clients, int messages) {
    return weft::run([](std::uint16_t port, int clients, int messages) -> weft::task<int> {
        auto deadline = weft::timeout(120s);
        std::vector<weft::task_handle<int>> handles;
        for (int i = 0; i < clients; ++i) handles.push_back(weft::create_task(upper_client(port, i, messages)));
        int total = 0;
        for (auto& h : handles) total += co_await h;
        co_return total;
    }(port, clients, messages));
}

class ServeUpperModes : public ::testing::TestWithParam<std::vector<std::string>> {};

}  // namespace

TEST_P(ServeUpperModes, HundredClientsHundredMessagesEach) {
    std::uint16_t port = 0;
    auto server = start_server(GetParam(), port);
    ASSERT_NE(port, 0) << server->log();
    EXPECT_EQ(run_clients(port, 100, 100), 100 * 100);
    EXPECT_EQ(server->stop(), 0) << server->log();
    std::string log = server->log();
    EXPECT_NE(log.find("Connected by 127.0.0.1:"), std::string::npos);
    EXPECT_NE(log.find(" quit"), std::string::npos);
    EXPECT_NE(log.find("Server stopped"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(AllModes, ServeUpperModes,
                         ::testing::Values(std::vector<std::string>{"--mode", "async"},
                                           std::vector<std::string>{"--mode", "async", "--loops", "3"},
                                           std::vector<std::string>{"--mode", "threads"},
                                           std::vector<std::string>{"--mode", "pool", "--threads", "8"}),
                         [](const auto& info) {
                             std::string name;
                             for (auto& a : info.param) {
                                 for (char c : a) {
                                     if (std::isalnum(static_cast<unsigned char>(c))) name += c;
                                 }
                             }
                             return name;
                         });

TEST(ServeUpper, QuitAndEndOfStreamEndTheConnection) {
    for (std::string mode : {"async", "threads"}) {
        std::uint16_t port = 0;
        auto server = start_server({"--mode", mode}, port);
        ASSERT_NE(port, 0) << server->log();
        weft::run([](std::uint16_t port) -> weft::task<void> {
            auto deadline = weft::timeout(20s);
            auto a = co_await net::open_connection("127.0.0.1", port);
            a.write("abc\r\n");
            EXPECT_EQ(co_await a.readexactly(5), "ABC\r\n");
            a.write("quit\r\n");
            EXPECT_EQ(co_await a.read(), "");  // closed by the server, nothing echoed
            auto b = co_await net::open_connection("127.0.0.1", port);
            b.write("last words");
            b.write_eof();
            EXPECT_EQ(co_await b.readexactly(10), "LAST WORDS");
            EXPECT_EQ(co_await b.read(), "");
        }(port));
        EXPECT_EQ(server->stop(SIGINT), 0) << server->log();
        std::string log = server->log();
        EXPECT_NE(log.find("quit"), std::string::npos) << log;
        EXPECT_NE(log.find("closed the connection"), std::string::npos) << log;
    }
}

TEST(ServeUpper, BinaryAndUtf8BytesPassUnchanged) {
    std::uint16_t port = 0;
    auto server = start_server({}, port);
    ASSERT_NE(port, 0) << server->log();
    std::string all;
    for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
    all += "h\xC3\xA9llo w\xC3\xB6rld \xE4\xB8\xAD\xE6\x96\x87";  // UTF-8 stays intact
    std::string reply = weft::run([](std::uint16_t port, std::string all) -> weft::task<std::string> {
        auto deadline = weft::timeout(20s);
        auto s = co_await net::open_connection("127.0.0.1", port);
        s.write(all);
        co_return co_await s.readexactly(all.size());
    }(port, all));
    EXPECT_EQ(reply, expected_reply(all));
    EXPECT_EQ(reply.substr(256), "H\xC3\xA9LLO W\xC3\xB6RLD \xE4\xB8\xAD\xE6\x96\x87");
    EXPECT_EQ(server->stop(), 0);
}

TEST(ServeUpper, ClientResetMidReplyLeavesServerServing) {
    for (std::string mode : {"async", "threads", "pool"}) {
        std::uint16_t port = 0;
        auto server = start_server({"--mode", mode}, port);
        ASSERT_NE(port, 0) << server->log();
        // Send 512 KB, read nothing, then reset the connection (SO_LINGER 0).
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        timeval tv{2, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        std::string block(64 * 1024, 'r');
        for (int i = 0; i < 8; ++i) {
            if (::send(fd, block.data(), block.size(), MSG_NOSIGNAL) <= 0) break;
        }
        std::this_thread::sleep_for(50ms);
        linger hard{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        ::close(fd);
        std::this_thread::sleep_for(50ms);
        EXPECT_EQ(run_clients(port, 3, 10), 30) << mode;
        EXPECT_EQ(server->stop(), 0) << server->log();
    }
}

TEST(ServeUpper, IdleTimeoutClosesSilentConnections) {
    for (std::string mode : {"async", "threads"}) {
        std::uint16_t port = 0;
        auto server = start_server({"--mode", mode, "--idle-timeout", "0.2"}, port);
        ASSERT_NE(port, 0) << server->log();
        weft::run([](std::uint16_t port) -> weft::task<void> {
            auto deadline = weft::timeout(20s);
            auto s = co_await net::open_connection("127.0.0.1", port);
            s.write("still here");
            EXPECT_EQ(co_await s.readexactly(10), "STILL HERE");
            EXPECT_EQ(co_await s.read(), "");  // then silence: the server hangs up
        }(port));
        EXPECT_EQ(server->stop(), 0);
        EXPECT_NE(server->log().find("idle for 0.2s"), std::string::npos) << server->log();
    }
}

TEST(ServeUpper, BurstFromAClientThatNeverReadsIsBounded) {
    std::uint16_t port = 0;
    auto server = start_server({"--quiet"}, port);
    ASSERT_NE(port, 0) << server->log();
    long rss_before = server->rss_kib();
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    // Push without reading for up to 2 s or 64 MB: the server must stop reading long
    // before, so that the kernel's buffers fill and our sends are refused.
    std::string payload;
    for (int i = 0; i < 1 << 20; ++i) payload += static_cast<char>('a' + i % 26);
    std::size_t pushed = 0;
    auto until = std::chrono::steady_clock::now() + 2s;
    while (pushed < 64u << 20 && std::chrono::steady_clock::now() < until) {
        std::size_t off = pushed % payload.size();
        ssize_t n = ::send(fd, payload.data() + off, payload.size() - off, MSG_NOSIGNAL);
        if (n > 0) pushed += static_cast<std::size_t>(n);
        else std::this_thread::sleep_for(5ms);
    }
    EXPECT_GE(pushed, 1u << 20) << "the 1 MB burst did not even get through";
    EXPECT_LT(pushed, 64u << 20) << "the server kept reading from a client that never reads";
    long rss_after = server->rss_kib();
    if (!sanitized) {  // sanitizers keep freed memory in quarantine: RSS says nothing there
        EXPECT_LT(rss_after - rss_before, 16 * 1024) << "server RSS grew by " << rss_after - rss_before << " KiB";
    }
    // Another client is still served meanwhile.
    EXPECT_EQ(run_clients(port, 2, 5), 10);
    // Now read everything back: every byte arrives, upper-cased.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::size_t received = 0, wrong = 0;
    std::vector<char> buffer(1 << 16);
    while (received < pushed) {
        ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; ++i) {
            char expected = static_cast<char>('A' + (received + static_cast<std::size_t>(i)) % payload.size() % 26);
            wrong += buffer[static_cast<std::size_t>(i)] != expected;
        }
        received += static_cast<std::size_t>(n);
    }
    ::close(fd);
    EXPECT_EQ(received, pushed);
    EXPECT_EQ(wrong, 0u);
    EXPECT_EQ(server->stop(), 0);
}

TEST(ServeUpper, TenThousandConcurrentConnectionsAsync) {
    // Sanitized builds are several times slower and heavier: they run 2000 connections.
    const int connections = sanitized ? 2000 : 10000;
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    rlim_t needed = static_cast<rlim_t>(connections) + 500;
    if (limit.rlim_cur < needed) {
        rlimit raised = limit;
        raised.rlim_cur = std::min(limit.rlim_max, needed);
        ::setrlimit(RLIMIT_NOFILE, &raised);
        ::getrlimit(RLIMIT_NOFILE, &limit);
        if (limit.rlim_cur < needed) {
            GTEST_SKIP() << "RLIMIT_NOFILE cannot be raised to " << needed << " (hard limit " << limit.rlim_max << ")";
        }
    }
    std::uint16_t port = 0;
    auto server = start_server({"--quiet", "--backlog", "4096"}, port);  // inherits the raised limit
    ASSERT_NE(port, 0) << server->log();
    int ok = weft::run([](std::uint16_t port, int connections) -> weft::task<int> {
        auto deadline = weft::timeout(120s);
        std::vector<net::stream> streams;
        streams.reserve(static_cast<std::size_t>(connections));
        for (int i = 0; i < connections; ++i) streams.push_back(co_await net::open_connection("127.0.0.1", port));
        // All are open at once; each now does a round trip.
        for (int i = 0; i < connections; ++i) streams[static_cast<std::size_t>(i)].write("conn " + std::to_string(i));
        int ok = 0;
        for (int i = 0; i < connections; ++i) {
            std::string expected = "CONN " + std::to_string(i);
            ok += (co_await streams[static_cast<std::size_t>(i)].readexactly(expected.size())) == expected;
        }
        co_return ok;
    }(port, connections));
    EXPECT_EQ(ok, connections);
    EXPECT_EQ(server->stop(), 0) << server->log();
}

// `weft load upper` checks every reply byte for byte, whatever the number of requests in
// flight per connection (the ring of send times changes storage past 8).
TEST(ServeUpper, LoadGeneratorGetsEveryReplyRightAtEveryPipelineDepth) {
    std::uint16_t port = 0;
    auto server = start_server({"--quiet"}, port);
    ASSERT_NE(port, 0) << server->log();
    for (std::string depth : {"1", "3", "20"}) {
        cli_process load({"load", "upper", "--port", std::to_string(port), "-c", "8", "-s", "100", "--pipeline", depth,
                          "-n", "2000", "--json"});
        EXPECT_EQ(load.wait_exit(), 0) << load.log();
        std::string out = load.out();
        EXPECT_NE(out.find("\"pipeline\": " + depth + ","), std::string::npos) << out;
        EXPECT_NE(out.find("\"requests\": 2000,"), std::string::npos) << out;
        EXPECT_NE(out.find("\"errors\": 0,"), std::string::npos) << out;
        EXPECT_NE(out.find("\"mismatches\": 0}"), std::string::npos) << out;
    }
    EXPECT_EQ(server->stop(), 0) << server->log();
}

// Against a server that echoes without upper-casing, every reply is counted as a mismatch
// and the load generator exits non-zero.
TEST(ServeUpper, LoadGeneratorCountsWrongReplies) {
    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listener, 8), 0);
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    constexpr int connections = 2;
    std::thread echo([listener] {  // blocking echo, one connection after the other's accept
        std::vector<std::thread> sessions;
        for (int i = 0; i < connections; ++i) {
            int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) break;
            sessions.emplace_back([fd] {
                char buffer[4096];
                for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
                    if (::write(fd, buffer, static_cast<std::size_t>(n)) != n) break;
                }
                ::close(fd);
            });
        }
        for (auto& t : sessions) t.join();
    });
    cli_process load({"load", "upper", "--port", std::to_string(ntohs(address.sin_port)), "-c", std::to_string(connections),
                      "-n", "200", "--json"});
    EXPECT_EQ(load.wait_exit(), 1) << load.log();
    EXPECT_NE(load.out().find("\"mismatches\": 200}"), std::string::npos) << load.log();
    ::shutdown(listener, SHUT_RDWR);  // wakes the accept if the load generator connected less
    echo.join();                      // it closed its connections: the sessions ended
    ::close(listener);
}

TEST(ServeUpper, PortInUseAndBadAddressFailClearly) {
    std::uint16_t port = 0;
    auto server = start_server({}, port);
    ASSERT_NE(port, 0) << server->log();
    for (std::string mode : {"async", "threads"}) {
        cli_process second({"serve", "upper", "--mode", mode, "--host", "127.0.0.1", "--port", std::to_string(port)});
        EXPECT_NE(second.wait_exit(), 0);
        std::string log = second.log();
        EXPECT_NE(log.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << log;
        EXPECT_NE(log.find("Address already in use"), std::string::npos) << log;
    }
    cli_process bad({"serve", "upper", "--host", "no-such-host.invalid", "--port", "0"});
    EXPECT_NE(bad.wait_exit(), 0);
    EXPECT_NE(bad.log().find("no-such-host.invalid"), std::string::npos) << bad.log();
    EXPECT_EQ(server->stop(), 0);
}
