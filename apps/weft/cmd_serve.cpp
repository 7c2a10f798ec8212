// `weft serve upper`: the tutorial's uppercase TCP server, in every concurrency model.
//
//   --mode threads   a thread per connection, blocking sockets (the tutorial's design)
//   --mode pool      a bounded weft::thread_pool_executor; excess connections wait
//   --mode async     one event loop; --loops N runs N loops on N threads (SO_REUSEPORT)
//
// Ctrl-C / SIGTERM: stop accepting, close the connections, exit 0.
#include "command.hpp"
#include "upper_protocol.hpp"

#include <weft/errors.hpp>
#include <weft/net/server.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/thread_pool_executor.hpp>
#include <weft/timeout.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

namespace net = weft::net;
namespace upper = weft::cli::upper;
using namespace std::chrono_literals;

struct serve_options {
    std::string program;
    std::string host = "127.0.0.1";
    std::uint16_t port = 8899;
    std::string mode = "async";
    std::size_t threads = 8;
    std::size_t loops = 1;
    std::size_t max_connections = 0;
    double idle_timeout = 0;  // seconds; 0: none
    int backlog = 1024;
    bool quiet = false;

    std::chrono::milliseconds idle() const {
        return std::chrono::milliseconds(static_cast<long long>(idle_timeout * 1000));
    }
};

// Logs to stderr in the tutorial's loguru layout: "2024-05-01 12:00:00.123 | info    | ...".
// --quiet drops the per-connection lines; start, stop, warnings and errors remain.
void setup_logging() {
    auto logger = spdlog::stderr_logger_mt("weft-serve");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e | %-7l | %v");
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

// ---- async mode ----------------------------------------------------------------------------

weft::task<void> upper_session(net::stream& s, const serve_options& o) {
    const std::string peer = s.peer_address().to_string();
    if (!o.quiet) spdlog::info("Connected by {}", peer);
    std::optional<weft::timeout_scope> idle;
    if (o.idle_timeout > 0) idle.emplace(o.idle());
    std::string outcome = "closed the connection";
    bool abort = false;
    try {
        for (;;) {
            std::string chunk = co_await s.read(upper::chunk_size);
            if (chunk.empty()) break;
            if (upper::is_quit(chunk)) {
                outcome = "quit";
                break;
            }
            upper::to_upper_ascii(chunk.data(), chunk.size());
            s.write(chunk);
            co_await s.drain();  // a client that does not read stops our reading
            if (idle) idle->reschedule(o.idle());
        }
    } catch (const weft::timeout_error&) {
        outcome = fmt::format("idle for {}s, closing", o.idle_timeout);
        abort = true;
    } catch (const std::system_error& e) {
        outcome = fmt::format("dropped: {}", e.what());
        abort = true;
    }
    if (abort) s.abort();
    if (!o.quiet) spdlog::info("Client {} {}", peer, outcome);
}

net::server_options server_settings(const serve_options& o, bool reuse_port) {
    net::server_options so;
    so.backlog = o.backlog;
    so.max_connections = o.max_connections;
    so.reuse_port = reuse_port;
    return so;
}

// Serves until cancelled, then closes the server and its connections.
weft::task<void> serve_until_cancelled(net::server& server) {
    try {
        co_await server.serve_forever();
    } catch (const weft::cancelled_error&) {
    }
    std::size_t open = server.connection_count();
    server.close();
    server.cancel_connections();
    co_await server.wait_closed();
    spdlog::debug("closed {} connections", open);
}

weft::task<int> serve_async(const serve_options& o) {
    auto server = co_await net::start_server([&o](net::stream& s) { return upper_session(s, o); }, o.host, o.port,
                                             server_settings(o, false));
    spdlog::info("Server started at {} (mode async, 1 loop)", server.sockets().front().to_string());
    co_await serve_until_cancelled(server);
    spdlog::info("Server stopped");
    co_return 0;
}

// One of N loops of `--mode async --loops N`, each on its own thread with its own
// SO_REUSEPORT listener.
struct loop_worker {
    std::thread thread;
    weft::event_loop* loop = nullptr;
    weft::task_handle<void> main;
    std::promise<std::string> started;  // the listening address, or the start error
};

weft::task<void> worker_main(loop_worker& w, const serve_options& o, std::uint16_t port) {
    net::server server;
    try {
        server = co_await net::start_server([&o](net::stream& s) { return upper_session(s, o); }, o.host, port,
                                            server_settings(o, true));
    } catch (const std::exception&) {
        w.started.set_exception(std::current_exception());
        co_return;
    }
    w.started.set_value(server.sockets().front().to_string());
    co_await serve_until_cancelled(server);
}

void run_worker(loop_worker& w, const serve_options& o, std::uint16_t port) {
    weft::event_loop loop;
    w.loop = &loop;
    w.main = loop.create_task(worker_main(w, o, port), "serve");
    try {
        loop.run_until_complete(w.main);
    } catch (const std::exception& e) {
        spdlog::error("event loop thread failed: {}", e.what());
    } catch (const weft::cancelled_error&) {
    }
    w.main = weft::task_handle<void>();
    loop.close();
}

weft::task<void> until_cancelled() {
    try {
        for (;;) co_await weft::sleep(1h);
    } catch (const weft::cancelled_error&) {
    }
}

int serve_async_loops(const serve_options& o) {
    std::vector<std::unique_ptr<loop_worker>> workers;
    auto stop_all = [&workers] {
        for (auto& w : workers) {
            w->loop->call_soon_threadsafe([w = w.get()] { w->main.cancel(); });
        }
        for (auto& w : workers) w->thread.join();
    };
    std::uint16_t port = o.port;
    std::string address;
    for (std::size_t i = 0; i < o.loops; ++i) {
        auto w = std::make_unique<loop_worker>();
        auto started = w->started.get_future();
        w->thread = std::thread(run_worker, std::ref(*w), std::cref(o), port);
        try {
            address = started.get();
        } catch (...) {
            w->thread.join();
            stop_all();
            throw;
        }
        workers.push_back(std::move(w));
        if (port == 0) port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
    }
    spdlog::info("Server started at {} (mode async, {} loops)", address, o.loops);
    weft::run(until_cancelled());
    stop_all();
    spdlog::info("Server stopped");
    return 0;
}

// ---- threads and pool modes: blocking sockets ----------------------------------------------

// The listening socket, the open connections (so shutdown can wake their threads), and
// the count of running connections (for --max-connections and the final wait).
class blocking_server {
public:
    explicit blocking_server(const serve_options& o) : o_(o) {}

    void listen() {
        auto addresses = weft::run(net::resolve(o_.host, o_.port, true));
        const net::socket_address& address = addresses.front();
        fd_ = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), fmt::format("socket for {}", address.to_string()));
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd_, address.data(), address.size()) != 0 || ::listen(fd_, o_.backlog) != 0) {
            int error = errno;
            ::close(fd_);
            throw std::system_error(error, std::generic_category(), fmt::format("bind to {}", address.to_string()));
        }
        sockaddr_storage bound{};
        socklen_t length = sizeof bound;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length);
        address_ = net::socket_address(reinterpret_cast<sockaddr*>(&bound), length).to_string();
    }
    const std::string& address() const { return address_; }

    // Accepts until stop(); `dispatch(fd)` runs each connection.
    template <class Dispatch>
    void accept_loop(Dispatch dispatch) {
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return stopping_ || !o_.max_connections || active_ < o_.max_connections; });
                if (stopping_) return;
            }
            sockaddr_storage peer{};
            socklen_t length = sizeof peer;
            int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
            if (fd < 0) {
                if (stopping_flag_.load()) return;
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                    spdlog::warn("accept on {}: {}; retrying in 100 ms", address_, std::strerror(errno));
                    std::this_thread::sleep_for(100ms);
                }
                continue;
            }
            {
                std::lock_guard lock(mutex_);
                if (stopping_) {
                    ::close(fd);
                    return;
                }
                open_.insert(fd);
                ++active_;
            }
            dispatch(fd, net::socket_address(reinterpret_cast<sockaddr*>(&peer), length).to_string());
        }
    }

    // Serves one connection on the calling thread (the tutorial's handler).
    void serve(int fd, const std::string& peer) {
        if (!o_.quiet) spdlog::info("Connected by {}", peer);
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (o_.idle_timeout > 0) {
            timeval tv{};
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(o_.idle()).count();
            tv.tv_sec = us / 1000000;
            tv.tv_usec = us % 1000000;
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        }
        std::string outcome = "closed the connection";
        char buffer[upper::chunk_size];
        for (bool open = true; open;) {
            ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                if (n < 0) outcome = failure(errno);
                break;
            }
            std::size_t size = static_cast<std::size_t>(n);
            if (upper::is_quit(std::string_view(buffer, size))) {
                outcome = "quit";
                break;
            }
            upper::to_upper_ascii(buffer, size);
            for (std::size_t sent = 0; sent < size;) {
                ssize_t m = ::send(fd, buffer + sent, size - sent, MSG_NOSIGNAL);
                if (m < 0 && errno == EINTR) continue;
                if (m < 0) {
                    outcome = failure(errno);
                    open = false;
                    break;
                }
                sent += static_cast<std::size_t>(m);
            }
        }
        if (!o_.quiet) spdlog::info("Client {} {}", peer, outcome);
        std::lock_guard lock(mutex_);
        open_.erase(fd);
        ::close(fd);
        --active_;
        changed_.notify_all();
    }

    // Stops accepting, wakes every connection, waits (at most 10 s) for them to end.
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            stopping_flag_.store(true);
            for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
        }
        changed_.notify_all();
        ::shutdown(fd_, SHUT_RDWR);  // wakes the blocked accept()
    }
    void wait_idle() {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, 10s, [&] { return active_ == 0; });
    }
    ~blocking_server() {
        if (fd_ >= 0) ::close(fd_);
    }

private:
    std::string failure(int error) const {
        if (error == EAGAIN || error == EWOULDBLOCK) return fmt::format("idle for {}s, closing", o_.idle_timeout);
        return fmt::format("dropped: {}", std::strerror(error));
    }

    const serve_options& o_;
    int fd_ = -1;
    std::string address_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::set<int> open_;
    std::size_t active_ = 0;
    bool stopping_ = false;
    std::atomic<bool> stopping_flag_{false};
};

int serve_blocking(const serve_options& o) {
    auto server = std::make_shared<blocking_server>(o);
    server->listen();
    std::optional<weft::thread_pool_executor> pool;
    if (o.mode == "pool") pool.emplace(o.threads);
    std::thread acceptor([&] {
        server->accept_loop([&](int fd, std::string peer) {
            if (pool) {
                pool->submit([server, fd, peer] { server->serve(fd, peer); });
            } else {
                std::thread([server, fd, peer] { server->serve(fd, peer); }).detach();
            }
        });
    });
    if (o.mode == "pool") {
        spdlog::info("Server started at {} (mode pool, {} threads)", server->address(), o.threads);
    } else {
        spdlog::info("Server started at {} (mode threads)", server->address());
    }
    weft::run(until_cancelled());
    server->stop();
    acceptor.join();
    server->wait_idle();
    if (pool) pool->shutdown(true);
    spdlog::info("Server stopped");
    return 0;
}

int run_serve(const serve_options& o) {
    setup_logging();
    if (o.mode == "async") return o.loops > 1 ? serve_async_loops(o) : weft::run(serve_async(o));
    return serve_blocking(o);
}

weft::cli::command_registration serve_command{
    "serve", "Run a server: `weft serve upper` (the tutorial's uppercase TCP server)", [](CLI::App& app) {
        auto o = std::make_shared<serve_options>();
        app.add_option("program", o->program, "Which server (upper)")->required()->check(CLI::IsMember({"upper"}));
        app.add_option("--host", o->host, "Address to listen on")->capture_default_str();
        app.add_option("--port,-p", o->port, "Port (0: let the kernel pick one)")->capture_default_str();
        app.add_option("--mode,-m", o->mode, "threads | pool | async")
            ->check(CLI::IsMember({"threads", "pool", "async"}))
            ->capture_default_str();
        app.add_option("--threads,-t", o->threads, "Pool size in --mode pool")->check(CLI::Range(1, 4096))->capture_default_str();
        app.add_option("--loops", o->loops, "Event loops (threads) in --mode async")->check(CLI::Range(1, 256))->capture_default_str();
        app.add_option("--max-connections", o->max_connections, "Serve at most this many at once; others wait (0: no limit)")
            ->capture_default_str();
        app.add_option("--idle-timeout", o->idle_timeout, "Close a connection idle this many seconds (0: never)")
            ->check(CLI::NonNegativeNumber)
            ->capture_default_str();
        app.add_option("--backlog", o->backlog, "Listen backlog")->check(CLI::Range(1, 65535))->capture_default_str();
        app.add_flag("--quiet,-q", o->quiet, "No per-connection log lines");
        return [o] { return run_serve(*o); };
    }};

}  // namespace
