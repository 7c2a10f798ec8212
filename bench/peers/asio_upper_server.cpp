// The uppercase server written with Asio's C++20 coroutines, one thread: the peer that
// `weft serve upper --mode async` is measured against (bench/net_upper.sh).
//   asio_upper_server PORT   (0: any free port; prints "Server started at 127.0.0.1:PORT")
#include <asio.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string_view>

using asio::ip::tcp;

static asio::awaitable<void> session(tcp::socket socket) {
    socket.set_option(tcp::no_delay(true));  // as weft and asyncio do
    char buffer[1024];
    try {
        for (;;) {
            std::size_t n = co_await socket.async_read_some(asio::buffer(buffer), asio::use_awaitable);
            std::string_view chunk(buffer, n);
            if (chunk == "quit" || chunk == "quit\n" || chunk == "quit\r\n") break;
            for (std::size_t i = 0; i < n; ++i) {
                if (buffer[i] >= 'a' && buffer[i] <= 'z') buffer[i] = static_cast<char>(buffer[i] - 'a' + 'A');
            }
            co_await asio::async_write(socket, asio::buffer(buffer, n), asio::use_awaitable);
        }
    } catch (const std::exception&) {  // end of stream or a reset: the session ends
    }
}

static asio::awaitable<void> listen(tcp::acceptor& acceptor) {
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
}

int main(int argc, char** argv) {
    unsigned short port = argc > 1 ? static_cast<unsigned short>(std::atoi(argv[1])) : 8899;
    asio::io_context context(1);
    tcp::acceptor acceptor(context);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(1024);
    std::fprintf(stderr, "Server started at 127.0.0.1:%u (asio, 1 thread)\n", acceptor.local_endpoint().port());
    asio::signal_set signals(context, SIGINT, SIGTERM);
    signals.async_wait([&](auto, auto) { context.stop(); });
    asio::co_spawn(context, listen(acceptor), asio::detached);
    context.run();
    return 0;
}
