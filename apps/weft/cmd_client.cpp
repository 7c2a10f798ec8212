// `weft client upper`: the tutorial's interactive client. Each line typed (stdin) goes to
// the server and its reply is printed; `quit` (or end of input) ends the session.
// Reading stdin blocks, so it happens on a worker thread (weft::to_thread).
#include "command.hpp"
#include "upper_protocol.hpp"

#include <weft/net/stream.hpp>
#include <weft/run.hpp>
#include <weft/timeout.hpp>
#include <weft/to_thread.hpp>

#include <fmt/core.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

namespace {

namespace net = weft::net;

struct client_options {
    std::string program;
    std::string host = "127.0.0.1";
    std::uint16_t port = 8899;
    double timeout = 10;
};

std::optional<std::string> read_stdin_line() {
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    return line;
}

weft::task<int> client_session(const client_options& o) {
    auto s = co_await net::open_connection(o.host, o.port);
    fmt::print(stderr, "Connected to {} (type lines; 'quit' exits)\n", s.peer_address().to_string());
    auto reply_limit = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(o.timeout));
    for (;;) {
        auto next = weft::to_thread(read_stdin_line);
        std::optional<std::string> line = co_await std::move(next);
        if (!line) break;
        std::string message = *line + "\n";
        s.write(message);
        co_await s.drain();
        if (weft::cli::upper::is_quit(message)) break;
        std::string reply = co_await weft::wait_for(s.readexactly(message.size()), reply_limit);
        std::fwrite(reply.data(), 1, reply.size(), stdout);
        std::fflush(stdout);
    }
    s.close();
    co_await s.wait_closed();
    co_return 0;
}

weft::cli::command_registration client_command{
    "client", "Interactive client: `weft client upper` (stdin lines -> server -> stdout)", [](CLI::App& app) {
        auto o = std::make_shared<client_options>();
        app.add_option("program", o->program, "Which protocol (upper)")->required()->check(CLI::IsMember({"upper"}));
        app.add_option("--host", o->host, "Server address")->capture_default_str();
        app.add_option("--port,-p", o->port, "Server port")->capture_default_str();
        app.add_option("--timeout", o->timeout, "Seconds to wait for each reply")->check(CLI::PositiveNumber)->capture_default_str();
        return [o] { return weft::run(client_session(*o)); };
    }};

}  // namespace
