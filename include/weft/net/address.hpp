#pragma once
/// \file
/// `weft::net::socket_address` and `weft::net::resolve`: IPv4/IPv6 endpoints and name
/// resolution that never blocks the event loop.
///
/// Numeric hosts ("127.0.0.1", "::1", "[::1]") are parsed directly; names go through
/// `getaddrinfo` on a worker thread while the loop keeps running.
///
/// Example:
/// \code
///   auto addrs = co_await weft::net::resolve("localhost", 8899);
///   for (auto& a : addrs) spdlog::info("{}", a.to_string());   // [::1]:8899, 127.0.0.1:8899
/// \endcode

#include <weft/task.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::net {

/// An IPv4 or IPv6 address with a port (a `sockaddr_in` or `sockaddr_in6`).
///
/// Example: `auto a = weft::net::socket_address::parse("::1", 80); a->to_string() == "[::1]:80"`
///
/// *Thread-safety:* a plain value.
class socket_address {
public:
    /// The empty address (family `AF_UNSPEC`).
    socket_address() noexcept;
    /// Copies a `sockaddr_in` or `sockaddr_in6`; any other family gives the empty address.
    socket_address(const sockaddr* address, socklen_t length) noexcept;

    /// Parses a numeric IPv4 or IPv6 host (brackets allowed: "[::1]"); nullopt for a name.
    /// Example: `socket_address::parse("127.0.0.1", 8899)`
    static std::optional<socket_address> parse(std::string_view host, std::uint16_t port);

    /// `AF_INET`, `AF_INET6` or `AF_UNSPEC`.
    int family() const noexcept { return storage_.any.sa_family; }
    /// The numeric host ("127.0.0.1", "::1"); empty for the empty address.
    std::string host() const;
    std::uint16_t port() const noexcept;
    /// "127.0.0.1:8899" or "[::1]:8899".
    std::string to_string() const;
    /// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses.
    bool is_loopback() const noexcept;

    const sockaddr* data() const noexcept { return &storage_.any; }
    socklen_t size() const noexcept;

private:
    union storage {
        sockaddr any;
        sockaddr_in v4;
        sockaddr_in6 v6;
    } storage_;
};

/// Resolves `host` (a name or a numeric address; empty means the wildcard address when
/// `passive`, else loopback) to TCP endpoints on `port`.
///
/// *Throws:* `std::system_error` naming the host when the name does not resolve.
/// *Cancellation:* cancellable; a lookup already running on its thread finishes there and
/// its result is dropped.
/// *Thread-safety:* call from a task on any loop.
/// *Example:* `auto addrs = co_await weft::net::resolve("localhost", 80);`
task<std::vector<socket_address>> resolve(std::string host, std::uint16_t port, bool passive = false);

}  // namespace weft::net
