// The epoll backend of the reactor contract (see reactor.hpp).

#include "reactor/reactor.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace weft::detail {

reactor::reactor() : fd_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

reactor::~reactor() { ::close(fd_); }

void reactor::set_interest(int fd, std::uint32_t previous, std::uint32_t interest) {
    if (previous == interest) return;
    epoll_event ev{};
    ev.data.fd = fd;
    if (interest & io_readable) ev.events |= EPOLLIN | EPOLLRDHUP;
    if (interest & io_writable) ev.events |= EPOLLOUT;
    if (interest & io_edge) ev.events |= EPOLLET;
    int op = previous == io_none ? EPOLL_CTL_ADD : interest == io_none ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    if (::epoll_ctl(fd_, op, fd, &ev) == 0) return;
    // The fd was closed (dropping its registration) and its number reused, or registered
    // behind our back: switch between ADD and MOD once.
    if ((op == EPOLL_CTL_MOD && errno == ENOENT) || (op == EPOLL_CTL_ADD && errno == EEXIST)) {
        op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if (::epoll_ctl(fd_, op, fd, &ev) == 0) return;
    }
    // Removing an fd that was already closed is harmless (libcurl's rule, and ours).
    if (op == EPOLL_CTL_DEL && (errno == EBADF || errno == ENOENT)) return;
    throw std::system_error(errno, std::generic_category(), "epoll_ctl on fd " + std::to_string(fd));
}

int reactor::poll(io_event* out, int capacity, int timeout_ms) {
    constexpr int batch = 256;
    epoll_event events[batch];
    int n = ::epoll_wait(fd_, events, capacity < batch ? capacity : batch, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return 0;
        throw std::system_error(errno, std::generic_category(), "epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
        std::uint32_t e = events[i].events;
        std::uint32_t ready = io_none;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ready |= io_readable;
        if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ready |= io_hangup;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) ready |= io_writable;
        out[i] = io_event{events[i].data.fd, ready};
    }
    return n;
}

}  // namespace weft::detail
