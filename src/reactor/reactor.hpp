#pragma once
// The reactor contract: the whole interface between the event loop and an OS readiness
// backend. Exactly one implementation is compiled, chosen in CMake (WEFT_REACTOR):
// epoll_reactor.cpp today; an io_uring backend implements the same four members.
//
// Semantics are level-triggered: an fd that stays readable is reported on every poll,
// unless its interest includes io_edge: then it is reported once each time it becomes ready
// (new bytes, a hang-up, an error), and whoever waits on it must read until a short read or
// EAGAIN before waiting again. Socket readers use that (as nginx, Tokio and Asio do): it
// spares the kernel re-checking, at every poll, each socket that was reported at the last.
// Errors and hang-ups are reported as both readable and writable, so whoever waits on the
// fd wakes and sees the error from read()/write().

#include <cstdint>

namespace weft::detail {

enum io_interest : std::uint32_t { io_none = 0, io_readable = 1, io_writable = 2, io_edge = 4 };
/// Reported with io_readable when the peer hung up or the fd has an error (never asked for).
constexpr std::uint32_t io_hangup = 8;

struct io_event {
    int fd;
    std::uint32_t events;  // io_readable | io_writable | io_hangup
};

class reactor {
public:
    reactor();  // throws std::system_error if the backend cannot be created
    ~reactor();
    reactor(const reactor&) = delete;
    reactor& operator=(const reactor&) = delete;

    /// Changes the interest registered for `fd` from `previous` to `interest` (0 removes).
    /// Throws std::system_error naming the fd (e.g. EBADF, or EPERM for regular files).
    void set_interest(int fd, std::uint32_t previous, std::uint32_t interest);

    /// Waits up to `timeout_ms` (-1: no limit, 0: do not block) and stores ready fds in
    /// `out`; returns how many. EINTR returns 0.
    int poll(io_event* out, int capacity, int timeout_ms);

private:
    int fd_;
};

}  // namespace weft::detail
