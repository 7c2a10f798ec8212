// weft::net: streams, servers, connect, resolution (loopback only, every wait bounded).
#include <weft/net/server.hpp>
#include <weft/net/stream.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string>
#include <string_view>
#include <system_error>

using namespace std::chrono_literals;
namespace net = weft::net;

namespace {

weft::task<void> echo(net::stream& s) {
    for (;;) {
        std::string chunk = co_await s.read(4096);
        if (chunk.empty()) co_return;
        s.write(chunk);
        co_await s.drain();
    }
}

// Runs `body(port)` against an echo server on 127.0.0.1, bounded to 20 s.
template <class Body>
void with_echo_server(Body body, net::server_options options = {}) {
    weft::run([](Body body, net::server_options options) -> weft::task<void> {
        auto deadline = weft::timeout(20s);
        auto server = co_await net::start_server(echo, "127.0.0.1", 0, options);
        co_await body(server.port());
        server.close();
        server.cancel_connections();
        co_await server.wait_closed();
    }(std::move(body), options));
}

}  // namespace

TEST(NetAddress, ParsesNumericHostsAndFormats) {
    auto v4 = net::socket_address::parse("127.0.0.1", 8899);
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->to_string(), "127.0.0.1:8899");
    EXPECT_TRUE(v4->is_loopback());
    auto v6 = net::socket_address::parse("[::1]", 80);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family(), AF_INET6);
    EXPECT_EQ(v6->to_string(), "[::1]:80");
    EXPECT_TRUE(v6->is_loopback());
    EXPECT_FALSE(net::socket_address::parse("10.1.2.3", 1)->is_loopback());
    EXPECT_FALSE(net::socket_address::parse("localhost", 1));
}

TEST(NetAddress, ResolvesLocalhostWithoutBlocking) {
    auto addresses = weft::run([]() -> weft::task<std::vector<net::socket_address>> {
        co_return co_await weft::wait_for(net::resolve("localhost", 7), 10s);
    }());
    ASSERT_FALSE(addresses.empty());
    for (auto& a : addresses) {
        EXPECT_TRUE(a.is_loopback()) << a.to_string();
        EXPECT_EQ(a.port(), 7);
    }
}

TEST(NetStream, EchoWithLineAndExactReads) {
    with_echo_server([](std::uint16_t port) -> weft::task<void> {
        auto s = co_await net::open_connection("127.0.0.1", port);
        EXPECT_EQ(s.peer_address().port(), port);
        EXPECT_TRUE(s.local_address().is_loopback());
        s.write("hello\nworld\nABCDEFGH--end--tail");
        co_await s.drain();
        EXPECT_EQ(co_await s.readline(), "hello\n");
        EXPECT_EQ(co_await s.readexactly(6), "world\n");
        EXPECT_EQ(co_await s.readexactly(4), "ABCD");
        EXPECT_EQ(co_await s.readuntil("--end--"), "EFGH--end--");
        EXPECT_EQ(co_await s.readexactly(4), "tail");
        s.write_eof();
        EXPECT_EQ(co_await s.read(), "");  // the server ends when it sees our EOF
        EXPECT_TRUE(s.at_eof());
        s.close();
        co_await s.wait_closed();
        EXPECT_EQ(s.native_handle(), -1);
    });
}

TEST(NetStream, IncompleteReadKeepsThePartialBytes) {
    with_echo_server([](std::uint16_t port) -> weft::task<void> {
        auto s = co_await net::open_connection("127.0.0.1", port);
        s.write("abc");
        s.write_eof();
        try {
            co_await s.readexactly(10);
            ADD_FAILURE() << "readexactly past the end did not throw";
        } catch (const weft::incomplete_read_error& e) {
            EXPECT_EQ(e.partial(), "abc");
            EXPECT_EQ(e.expected(), 10u);
        }
    });
}

TEST(NetStream, ReadlineLimitOverrun) {
    with_echo_server([](std::uint16_t port) -> weft::task<void> {
        net::stream_limits limits;
        limits.line_limit = 100;
        auto s = co_await net::open_connection("127.0.0.1", port, limits);
        s.write(std::string(300, 'x'));
        bool overrun = false;
        try {
            co_await s.readline();
        } catch (const weft::limit_overrun_error& e) {
            overrun = e.buffered() > 100;
        }
        EXPECT_TRUE(overrun);
    });
}

TEST(NetStream, ReadTimesOutAndLosesNothing) {
    with_echo_server([](std::uint16_t port) -> weft::task<void> {
        auto s = co_await net::open_connection("127.0.0.1", port);
        bool timed_out = false;
        try {
            co_await weft::wait_for(s.readexactly(5), 50ms);  // nothing was sent yet
        } catch (const weft::timeout_error&) {
            timed_out = true;
        }
        EXPECT_TRUE(timed_out);
        s.write("12");
        try {
            co_await weft::wait_for(s.readexactly(5), 200ms);  // two bytes arrive, not five
        } catch (const weft::timeout_error&) {
        }
        s.write("345");
        EXPECT_EQ(co_await s.readexactly(5), "12345");  // the first two were kept
    });
}

// A read that returned less than it asked for skips the next recv() and waits for readiness,
// which is reported edge-triggered: bytes that came in before that wait, during it, or while
// nobody read must all arrive, as must bytes left by a full read and an end of stream that
// was reported together with the last bytes.
TEST(NetStream, BytesAfterAShortReadAreNotMissed) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    int peer = fds[1];
    weft::run([](int fd, int peer) -> weft::task<void> {
        auto deadline = weft::timeout(10s);
        net::stream s(fd);
        auto send = [peer](const char* text) { ASSERT_EQ(::write(peer, text, 2), 2); };
        send("ab");
        EXPECT_EQ(co_await s.read(64), "ab");  // short: the socket is empty now
        send("cd");                            // before the next read waits
        EXPECT_EQ(co_await s.read(64), "cd");
        weft::event_loop::current()->call_later(10ms, [&send] { send("ef"); });
        EXPECT_EQ(co_await s.read(64), "ef");  // while it waits
        send("gh");
        co_await weft::sleep(20ms);  // the loop sees the bytes with no read waiting
        EXPECT_EQ(co_await s.read(64), "gh");
        send("ij");
        EXPECT_EQ(co_await s.read(1), "i");  // full: the rest is read without a new report
        EXPECT_EQ(co_await s.read(1), "j");
        send("kl");
        ::shutdown(peer, SHUT_WR);
        co_await weft::sleep(20ms);  // bytes and hang-up reported at once, no read waiting
        EXPECT_EQ(co_await s.read(64), "kl");  // short, but the end of stream is still to come
        EXPECT_EQ(co_await s.read(64), "");
    }(fds[0], peer));
    ::close(peer);
}

// Streams whose bytes arrive between two polls are read in the order the bytes arrived, even
// when the one that arrived last was reported by the poll before (level-triggered, epoll
// would keep that one ahead): first come, first served keeps the tail latency of many
// connections close to the median.
TEST(NetStream, ConnectionsAreReadInTheOrderTheirBytesArrived) {
    int a[2], b[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
    std::string order;
    weft::run([](int fd_a, int peer_a, int fd_b, int peer_b, std::string& order) -> weft::task<void> {
        auto deadline = weft::timeout(10s);
        net::stream sa(fd_a), sb(fd_b);
        auto send = [](int peer) { ASSERT_EQ(::write(peer, "x", 1), 1); };
        auto read_b = [](net::stream& s, std::string& order) -> weft::task<void> {
            if (!(co_await s.read(16)).empty()) order += 'b';
        };
        auto rb = weft::create_task(read_b(sb, order));
        weft::event_loop::current()->call_later(5ms, [&send, peer_a] { send(peer_a); });
        EXPECT_EQ(co_await sa.read(16), "x");  // both wait; a is reported by a poll
        order += 'a';
        send(peer_b);  // before the next poll: b's byte arrives first, then a's
        send(peer_a);
        EXPECT_EQ(co_await sa.read(16), "x");
        order += 'a';
        co_await rb;
    }(a[0], a[1], b[0], b[1], order));
    EXPECT_EQ(order, "aba");
    ::close(a[1]);
    ::close(b[1]);
}

TEST(NetStream, CancelledReadWakesAndThrowsCancelled) {
    with_echo_server([](std::uint16_t port) -> weft::task<void> {
        auto s = co_await net::open_connection("127.0.0.1", port);
        auto reader = weft::create_task([](net::stream& s) -> weft::task<std::string> { co_return co_await s.read(); }(s));
        co_await weft::sleep(20ms);
        EXPECT_FALSE(reader.done());
        reader.cancel();
        bool cancelled = false;
        try {
            co_await reader;
        } catch (const weft::cancelled_error&) {
            cancelled = true;
        }
        EXPECT_TRUE(cancelled);
        s.write("again");
        EXPECT_EQ(co_await s.readexactly(5), "again");  // the stream is still usable
    });
}

TEST(NetStream, DrainAppliesBackpressureToAPeerThatDoesNotRead) {
    weft::run([]() -> weft::task<void> {
        auto deadline = weft::timeout(20s);
        // A server whose handler never reads: our writes pile up.
        auto server = co_await net::start_server(
            [](net::stream&) -> weft::task<void> { co_await weft::sleep(30s); }, "127.0.0.1", 0);
        net::stream_limits limits;
        limits.high_water = 64 * 1024;
        limits.low_water = 16 * 1024;
        auto s = co_await net::open_connection("127.0.0.1", server.port(), limits);
        std::string block(16 * 1024, 'z');
        bool blocked = false;
        for (int i = 0; i < 2000 && !blocked; ++i) {  // at most 32 MB
            s.write(block);
            try {
                co_await weft::wait_for(s.drain(), 100ms);
            } catch (const weft::timeout_error&) {
                blocked = true;
            }
        }
        EXPECT_TRUE(blocked);
        EXPECT_LE(s.write_buffer_size(), limits.high_water + block.size());
        s.abort();
        server.close();
        server.cancel_connections();
        co_await server.wait_closed();
    }());
}

TEST(NetStream, WritelinesSendsThePartsInOrderAndBuffersTheRest) {
    weft::run([]() -> weft::task<void> {
        auto deadline = weft::timeout(20s);
        std::string received;
        auto server = co_await net::start_server(
            [&received](net::stream& s) -> weft::task<void> {
                for (std::string chunk; !(chunk = co_await s.read()).empty();) received += chunk;
            },
            "127.0.0.1", 0);
        auto s = co_await net::open_connection("127.0.0.1", server.port());
        std::array<std::string_view, 4> small{"GET / HTTP/1.1\r\n", "", "Host: x\r\n", "\r\n"};
        s.writelines(small);
        // Parts far larger than the socket buffers: the kernel takes a prefix that ends inside
        // a part, and the rest is buffered, in order, ahead of what is written next.
        std::string a(3 * 1024 * 1024, 'a'), b;
        for (int i = 0; b.size() < 2 * 1024 * 1024; ++i) b += std::to_string(i) + ',';
        std::array<std::string_view, 3> big{a, "", b};
        s.writelines(big);
        EXPECT_GT(s.write_buffer_size(), 0u);
        s.write("tail");
        s.close();
        co_await s.wait_closed();
        EXPECT_THROW(s.writelines(small), weft::invalid_state_error);
        std::string expected = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + a + b + "tail";
        for (int i = 0; i < 2000 && received.size() < expected.size(); ++i) co_await weft::sleep(5ms);
        EXPECT_TRUE(received == expected) << received.size() << " bytes received, " << expected.size() << " sent";
        server.close();
        server.cancel_connections();
        co_await server.wait_closed();
    }());
}

TEST(NetStream, ConnectRefusedNamesTheAddress) {
    // Find a port nobody listens on: bind, read the port, close.
    int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
    std::uint16_t port = ntohs(a.sin_port);
    ::close(probe);
    try {
        weft::run([](std::uint16_t port) -> weft::task<void> { co_await net::open_connection("127.0.0.1", port); }(port));
        FAIL() << "connect to a closed port succeeded";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::connection_refused);
        EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
    }
}

TEST(NetServer, PortInUseNamesTheAddress) {
    weft::run([]() -> weft::task<void> {
        auto first = co_await net::start_server(echo, "127.0.0.1", 0);
        std::string expected = "127.0.0.1:" + std::to_string(first.port());
        try {
            co_await net::start_server(echo, "127.0.0.1", first.port());
            ADD_FAILURE() << "second bind succeeded";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::errc::address_in_use);
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
        }
    }());
}

TEST(NetServer, Ipv6Loopback) {
    int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool has_v6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (probe >= 0) ::close(probe);
    if (!has_v6) GTEST_SKIP() << "no IPv6 loopback on this machine";
    weft::run([]() -> weft::task<void> {
        auto deadline = weft::timeout(20s);
        auto server = co_await net::start_server(echo, "::1", 0);
        EXPECT_EQ(server.sockets().size(), 1u);
        EXPECT_EQ(server.sockets().at(0).family(), AF_INET6);
        auto s = co_await net::open_connection("[::1]", server.port());
        EXPECT_EQ(s.peer_address().to_string(), "[::1]:" + std::to_string(server.port()));
        s.write("six\n");
        EXPECT_EQ(co_await s.readline(), "six\n");
        s.close();
        server.close();
        server.cancel_connections();
        co_await server.wait_closed();
    }());
}

TEST(NetServer, MaxConnectionsMakesExtraClientsWait) {
    net::server_options options;
    options.max_connections = 2;
    with_echo_server(
        [](std::uint16_t port) -> weft::task<void> {
            auto a = co_await net::open_connection("127.0.0.1", port);
            auto b = co_await net::open_connection("127.0.0.1", port);
            auto c = co_await net::open_connection("127.0.0.1", port);  // queued in the backlog
            a.write("a");
            b.write("b");
            c.write("c");
            EXPECT_EQ(co_await a.readexactly(1), "a");
            EXPECT_EQ(co_await b.readexactly(1), "b");
            bool waited = false;
            try {
                co_await weft::wait_for(c.readexactly(1), 100ms);
            } catch (const weft::timeout_error&) {
                waited = true;
            }
            EXPECT_TRUE(waited);
            a.close();  // frees a slot: c is served now
            EXPECT_EQ(co_await c.readexactly(1), "c");
        },
        options);
}

TEST(NetServer, ManyClientsConcurrently) {
    with_echo_server([](std::uint16_t port) -> weft::task<void> {
        std::vector<weft::task_handle<int>> clients;
        for (int i = 0; i < 50; ++i) {
            clients.push_back(weft::create_task([](std::uint16_t port, int i) -> weft::task<int> {
                auto s = co_await net::open_connection("127.0.0.1", port);
                int ok = 0;
                for (int j = 0; j < 20; ++j) {
                    std::string line = "client " + std::to_string(i) + " line " + std::to_string(j) + "\n";
                    s.write(line);
                    ok += (co_await s.readline()) == line;
                }
                co_return ok;
            }(port, i)));
        }
        int total = 0;
        for (auto& c : clients) total += co_await c;
        EXPECT_EQ(total, 50 * 20);
    });
}

TEST(NetServer, CloseStopsAcceptingAndCancelsConnections) {
    weft::run([]() -> weft::task<void> {
        auto deadline = weft::timeout(20s);
        auto server = co_await net::start_server(echo, "127.0.0.1", 0);
        std::uint16_t port = server.port();
        auto s = co_await net::open_connection("127.0.0.1", port);
        s.write("x");
        EXPECT_EQ(co_await s.readexactly(1), "x");
        EXPECT_EQ(server.connection_count(), 1u);
        server.close();
        EXPECT_FALSE(server.is_serving());
        server.cancel_connections();
        co_await server.wait_closed();
        EXPECT_EQ(server.connection_count(), 0u);
        EXPECT_EQ(co_await s.read(), "");  // the server side was closed
        bool refused = false;
        try {
            co_await net::open_connection("127.0.0.1", port);
        } catch (const std::system_error&) {
            refused = true;
        }
        EXPECT_TRUE(refused);
    }());
}
