#pragma once
// Internal: small socket helpers shared by the net sources.

#include <weft/net/address.hpp>

#include <string>
#include <system_error>

namespace weft::net::detail {

/// A std::system_error whose message reads "<what> <address>: <errno text>".
std::system_error socket_error(int error, const std::string& what, const socket_address& address);

/// Owns a file descriptor until release(); closes it otherwise.
class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard();
    int get() const noexcept { return fd_; }
    int release() noexcept {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
};

/// Sets TCP_NODELAY (small messages go out at once, as asyncio and most servers do).
void set_no_delay(int fd) noexcept;

/// The socket's local or peer address (empty on error).
socket_address local_address_of(int fd) noexcept;
socket_address peer_address_of(int fd) noexcept;

}  // namespace weft::net::detail
