#pragma once
/// \file
/// `weft::net::start_server`: accept TCP connections and run a handler task for each
/// (asyncio's `start_server` and `Server`).
///
/// Each accepted connection gets its own task running `handler(stream&)`; when the handler
/// returns, the server flushes and closes the stream. A handler that throws has its error
/// logged and its connection aborted; other connections carry on.
///
/// Example:
/// \code
///   weft::task<void> echo(weft::net::stream& s) {
///       for (std::string chunk; !(chunk = co_await s.read(1024)).empty();) {
///           s.write(chunk);
///           co_await s.drain();
///       }
///   }
///   weft::task<void> main_task() {
///       auto server = co_await weft::net::start_server(echo, "127.0.0.1", 0);
///       spdlog::info("listening on port {}", server.port());
///       co_await server.serve_forever();
///   }
/// \endcode
///
/// *Cancellation:* cancelling the task in `serve_forever()` or `wait_closed()` stops the wait
/// only; call `close()` and `cancel_connections()` to stop the server.
/// *Thread-safety:* a server belongs to the loop that started it. For several loops, start
/// one server per loop on the same port with `reuse_port`.

#include <weft/net/address.hpp>
#include <weft/net/stream.hpp>
#include <weft/task.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace weft::net {

/// What a connection runs: a task given the connected stream (the server closes it after).
using connection_handler = std::function<task<void>(stream&)>;

/// Settings of `start_server`.
struct server_options {
    /// Length of the kernel's queue of connections not yet accepted.
    int backlog = 1024;
    /// SO_REUSEPORT: several sockets (one per loop or process) share the port; the kernel
    /// spreads connections among them.
    bool reuse_port = false;
    /// At most this many connections are served at once (0: no limit); further ones wait in
    /// the kernel's backlog until a running one ends.
    std::size_t max_connections = 0;
    /// Buffer limits of each connection's stream.
    stream_limits limits{};
};

namespace detail {
struct server_state;
}

/// A running server (see the file comment). Move-only; destroying it closes it (stops
/// listening and cancels its connections).
///
/// Example: `server.close(); server.cancel_connections(); co_await server.wait_closed();`
class server {
public:
    server() noexcept;
    explicit server(std::shared_ptr<detail::server_state> state) noexcept;
    server(server&&) noexcept;
    server& operator=(server&&) noexcept;
    ~server();

    /// Stops listening: closes the listening sockets; running connections go on. Idempotent.
    void close();
    /// Cancels every running connection task (their streams are closed at once).
    void cancel_connections();
    /// Waits until the server is closed and every connection task has ended.
    /// *Cancellation:* cancellable (the server is not affected).
    /// *Example:* `server.close(); co_await server.wait_closed();`
    task<void> wait_closed();
    /// Waits until `close()` is called (by another task or a signal handler).
    /// *Example:* `co_await server.serve_forever();`
    task<void> serve_forever();

    /// True until `close()`.
    bool is_serving() const noexcept;
    /// The addresses it listens on (one per resolved address of the host).
    std::vector<socket_address> sockets() const;
    /// The port it listens on (the one the kernel picked when started with port 0).
    std::uint16_t port() const;
    /// How many connection tasks are running.
    std::size_t connection_count() const noexcept;

private:
    std::shared_ptr<detail::server_state> state_;
};

/// Listens on `host:port` (every address `host` resolves to; "" or "0.0.0.0" for all IPv4
/// interfaces, "::" for all IPv6) and serves each connection with `handler`.
/// Port 0 lets the kernel pick a free port: see `server::port()`.
///
/// *Throws:* `std::system_error` naming the address ("bind to 127.0.0.1:8899: Address
/// already in use"), or the resolution error. *Cancellation:* cancellable while resolving.
/// *Thread-safety:* call from a task; the server runs on that task's loop.
/// *Example:* `auto srv = co_await weft::net::start_server(handler, "127.0.0.1", 8899);`
task<server> start_server(connection_handler handler, std::string host, std::uint16_t port,
                          server_options options = {});

}  // namespace weft::net
