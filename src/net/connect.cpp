// weft::net::open_connection: non-blocking connect to each resolved address in turn.

#include <weft/net/stream.hpp>

#include <weft/errors.hpp>

#include "net/sockets.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <exception>

namespace weft::net {

namespace detail {
namespace {

// Waits for a non-blocking connect to finish; yields 0 or the connect error.
class connect_operation final : public io_operation {
public:
    explicit connect_operation(fd_watcher* watcher) noexcept : io_operation(watcher) {}
    bool attempt() override {
        if (!waited_) {  // the connect is in progress: wait for writability first
            waited_ = true;
            return false;
        }
        int error = 0;
        socklen_t length = sizeof error;
        if (::getsockopt(watcher_->fd(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
        result_ = error;
        return true;
    }
    int await_resume() const {
        throw_if_interrupted();
        return result_;
    }

private:
    bool waited_ = false;
    int result_ = 0;
};

}  // namespace
}  // namespace detail

task<stream> open_connection(std::string host, std::uint16_t port, stream_limits limits) {
    auto addresses = co_await resolve(host, port);
    event_loop* loop = event_loop::current();
    std::exception_ptr last_error;
    for (auto& address : addresses) {
        int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) throw detail::socket_error(errno, "socket for", address);
        detail::fd_guard guard(fd);
        int error = 0;
        if (::connect(fd, address.data(), address.size()) != 0) error = errno;
        if (error == EINPROGRESS || error == EINTR) {
            detail::fd_watcher watcher(loop, fd, true);
            error = co_await detail::connect_operation(&watcher);
        }
        if (error) {
            last_error = std::make_exception_ptr(detail::socket_error(error, "connect to", address));
            continue;
        }
        detail::set_no_delay(fd);
        stream connected(fd, limits);
        guard.release();
        co_return connected;
    }
    std::rethrow_exception(last_error);
}

}  // namespace weft::net
