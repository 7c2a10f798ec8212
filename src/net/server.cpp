// weft::net::start_server: listening sockets, accept loops and connection tasks.

#include <weft/net/server.hpp>

#include <weft/errors.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>

#include "common/log.hpp"
#include "net/sockets.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <unordered_set>

namespace weft::net {

namespace detail {

namespace {

// Accepts one connection from a listening socket; yields the new fd, or -errno.
class accept_operation final : public io_operation {
public:
    explicit accept_operation(fd_watcher* watcher) noexcept : io_operation(watcher) {}
    bool attempt() override {
        for (;;) {
            int fd = ::accept4(watcher_->fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) {
                fd_ = fd;
                return true;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
            error_ = errno;
            return true;
        }
    }
    int await_resume() const {
        throw_if_interrupted();
        if (error_ == closed) return -EBADF;
        return error_ ? -error_ : fd_;
    }

private:
    int fd_ = -1;
};

class state_waiter;

}  // namespace

struct server_state : std::enable_shared_from_this<server_state> {
    struct listener {
        int fd = -1;
        socket_address address;
        std::unique_ptr<fd_watcher> watcher;
        any_task acceptor;
    };

    server_state(event_loop* loop, connection_handler handler, server_options options)
        : loop(loop), handler(std::move(handler)), options(options) {}
    server_state(const server_state&) = delete;
    server_state& operator=(const server_state&) = delete;
    ~server_state() { close_listeners(); }

    void notify();
    void close() {
        if (!serving) return;
        serving = false;
        close_listeners();
        notify();
    }
    void close_listeners() noexcept {
        for (auto& l : listeners) {
            if (l.acceptor) {
                l.acceptor.cancel();
                l.acceptor = any_task();
            }
            if (l.watcher) l.watcher->unregister();  // before the fd is closed; the acceptor may still point at it
            if (l.fd >= 0) ::close(l.fd);
            l.fd = -1;
        }
    }
    void cancel_connections() {
        std::vector<any_task> running;
        running.reserve(connections.size());
        for (auto* t : connections) running.emplace_back(t);
        for (auto& t : running) t.cancel();
    }
    void spawn(int fd);

    event_loop* loop;
    connection_handler handler;
    server_options options;
    std::vector<listener> listeners;
    std::unordered_set<weft::detail::task_state_base*> connections;
    std::vector<state_waiter*> waiters;
    bool serving = true;
};

namespace {

// Waits for the next change of a server's state (a connection ended, the server closed).
class state_waiter final : public weft::detail::suspension {
public:
    explicit state_waiter(server_state* state) noexcept : state_(state) {}
    state_waiter(const state_waiter&) = delete;
    ~state_waiter() { remove(); }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;
        state_->waiters.push_back(this);
        return true;
    }
    void await_resume() const { throw_if_interrupted(); }
    void interrupt(weft::detail::interruption why) override {
        interrupted = why;
        remove();
        resume_owner();
    }
    void wake() noexcept { resume_owner(); }

private:
    void remove() noexcept {
        auto& w = state_->waiters;
        w.erase(std::remove(w.begin(), w.end(), this), w.end());
    }
    server_state* state_;
};

bool is_transient_accept_error(int error) {
    switch (error) {
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
            return true;
        default:
            return false;
    }
}

task<void> accept_loop(std::shared_ptr<server_state> st, std::size_t index) {
    fd_watcher* watcher = st->listeners[index].watcher.get();
    const socket_address address = st->listeners[index].address;
    while (st->serving) {
        if (st->options.max_connections && st->connections.size() >= st->options.max_connections) {
            co_await state_waiter(st.get());
            continue;
        }
        int fd = co_await accept_operation(watcher);
        if (fd >= 0) {
            st->spawn(fd);
            continue;
        }
        if (is_transient_accept_error(-fd)) continue;
        // Out of descriptors or memory: the pending connection stays queued; retry shortly.
        weft::detail::log().warn("accept on {}: {}; retrying in 100 ms", address.to_string(),
                                 std::generic_category().message(-fd));
        co_await weft::sleep(std::chrono::milliseconds(100));
    }
}

task<void> serve_connection(std::shared_ptr<server_state> st, int fd) {
    stream s;
    {
        fd_guard guard(fd);
        s = stream(fd, st->options.limits);
        guard.release();
    }
    bool failed = false;
    try {
        co_await st->handler(s);
    } catch (const std::exception& e) {
        failed = true;
        weft::detail::log().error("connection handler for {} failed: {}", s.peer_address().to_string(), e.what());
    }
    if (failed) {
        s.abort();
        co_return;
    }
    s.close();
    co_await s.wait_closed();
}

int open_listener(const socket_address& address, const server_options& options) {
    int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw socket_error(errno, "socket for", address);
    fd_guard guard(fd);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (options.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        throw socket_error(errno, "SO_REUSEPORT on", address);
    }
    if (address.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, address.data(), address.size()) != 0) throw socket_error(errno, "bind to", address);
    if (::listen(fd, options.backlog) != 0) throw socket_error(errno, "listen on", address);
    return guard.release();
}

}  // namespace

void server_state::notify() {
    auto woken = std::move(waiters);
    waiters.clear();
    for (auto* w : woken) w->wake();
}

void server_state::spawn(int fd) {
    set_no_delay(fd);
    auto handle = loop->create_task(serve_connection(shared_from_this(), fd));
    connections.insert(handle.state_ptr());
    handle.add_done_callback([st = shared_from_this()](task_handle<void> t) {
        st->connections.erase(t.state_ptr());
        st->notify();
    });
}

}  // namespace detail

// ---- server -------------------------------------------------------------------------------

server::server() noexcept = default;
server::server(std::shared_ptr<detail::server_state> state) noexcept : state_(std::move(state)) {}
server::server(server&&) noexcept = default;
server& server::operator=(server&& other) noexcept {
    if (this != &other) {
        if (state_) {
            state_->close();
            state_->cancel_connections();
        }
        state_ = std::move(other.state_);
    }
    return *this;
}
server::~server() {
    if (!state_) return;
    state_->close();
    state_->cancel_connections();
}

void server::close() {
    if (state_) state_->close();
}

void server::cancel_connections() {
    if (state_) state_->cancel_connections();
}

task<void> server::wait_closed() {
    auto st = state_;
    if (!st) co_return;
    while (st->serving || !st->connections.empty()) co_await detail::state_waiter(st.get());
}

task<void> server::serve_forever() {
    auto st = state_;
    if (!st) co_return;
    while (st->serving) co_await detail::state_waiter(st.get());
}

bool server::is_serving() const noexcept { return state_ && state_->serving; }

std::vector<socket_address> server::sockets() const {
    std::vector<socket_address> result;
    if (!state_ || !state_->serving) return result;
    for (auto& l : state_->listeners) result.push_back(l.address);
    return result;
}

std::uint16_t server::port() const {
    if (!state_ || state_->listeners.empty()) throw invalid_state_error("port() of a server that is not listening");
    return state_->listeners.front().address.port();
}

std::size_t server::connection_count() const noexcept { return state_ ? state_->connections.size() : 0; }

task<server> start_server(connection_handler handler, std::string host, std::uint16_t port, server_options options) {
    if (!handler) throw std::invalid_argument("start_server(): empty connection handler");
    auto addresses = co_await resolve(host, port, true);
    event_loop* loop = event_loop::current();
    auto st = std::make_shared<detail::server_state>(loop, std::move(handler), options);
    std::uint16_t bound_port = port;
    for (auto& address : addresses) {
        // Port 0 on several addresses ("localhost": ::1 and 127.0.0.1): all share the port
        // the kernel picked for the first one.
        socket_address target = address;
        if (port == 0 && bound_port != 0) target = *socket_address::parse(address.host(), bound_port);
        detail::server_state::listener l;
        l.fd = detail::open_listener(target, options);
        l.address = detail::local_address_of(l.fd);
        l.watcher = std::make_unique<detail::fd_watcher>(loop, l.fd, false);
        if (bound_port == 0) bound_port = l.address.port();
        st->listeners.push_back(std::move(l));
    }
    for (std::size_t i = 0; i < st->listeners.size(); ++i) {
        st->listeners[i].acceptor = loop->create_task(detail::accept_loop(st, i), fmt::format("accept {}", st->listeners[i].address.to_string()));
    }
    co_return server(std::move(st));
}

}  // namespace weft::net
