// The tutorial's uppercase TCP server and client, with asyncio-style streams, in one program:
// the server upper-cases what each client sends until "quit"; three clients talk to it at once.
// `weft serve upper` is the full server (thread, pool and coroutine modes).
#include <weft/weft.hpp>

#include <cctype>
#include <cstdio>
#include <string>

weft::task<void> upper_handler(weft::net::stream& s) {
    for (;;) {
        std::string line = co_await s.readline();
        if (line.empty() || line.rfind("quit", 0) == 0) break;  // EOF or quit
        for (char& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        s.write(line);
        co_await s.drain();
    }
}

weft::task<bool> client(std::uint16_t port, int id) {
    auto s = co_await weft::net::open_connection("127.0.0.1", port);
    bool ok = true;
    for (int i = 0; i < 3; ++i) {
        std::string message = "client " + std::to_string(id) + " says hello " + std::to_string(i) + "\n";
        s.write(message);
        co_await s.drain();
        std::string reply = co_await s.readline();
        std::printf("sent %-28s got %s", message.substr(0, message.size() - 1).c_str(), reply.c_str());
        std::string expected = message;
        for (char& c : expected) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        ok = ok && reply == expected;
    }
    s.write("quit\n");
    co_await s.drain();
    s.close();
    co_return ok;
}

weft::task<int> main_task() {
    auto server = co_await weft::net::start_server(upper_handler, "127.0.0.1", 0);
    std::printf("uppercase server on 127.0.0.1:%u\n", static_cast<unsigned>(server.port()));
    auto [a, b, c] = co_await weft::gather(client(server.port(), 1), client(server.port(), 2),
                                           client(server.port(), 3));
    server.close();
    co_await server.wait_closed();
    co_return a && b && c ? 0 : 1;
}

int main() { return weft::run(main_task()); }
