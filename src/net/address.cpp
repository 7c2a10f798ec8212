// socket_address, resolve() and the shared socket helpers.

#include <weft/net/address.hpp>

#include "net/sockets.hpp"

#include <weft/to_thread.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cstring>

namespace weft::net {

socket_address::socket_address() noexcept {
    std::memset(&storage_, 0, sizeof storage_);
    storage_.any.sa_family = AF_UNSPEC;
}

socket_address::socket_address(const sockaddr* address, socklen_t length) noexcept : socket_address() {
    if (!address) return;
    if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        std::memcpy(&storage_.v4, address, sizeof(sockaddr_in));
    } else if (address->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        std::memcpy(&storage_.v6, address, sizeof(sockaddr_in6));
    }
}

std::optional<socket_address> socket_address::parse(std::string_view host, std::uint16_t port) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    std::string text(host);
    sockaddr_in v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons(port);
        return socket_address(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
    }
    sockaddr_in6 v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        return socket_address(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
    }
    return std::nullopt;
}

std::string socket_address::host() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) ::inet_ntop(AF_INET, &storage_.v4.sin_addr, text, sizeof text);
    else if (family() == AF_INET6) ::inet_ntop(AF_INET6, &storage_.v6.sin6_addr, text, sizeof text);
    return text;
}

std::uint16_t socket_address::port() const noexcept {
    if (family() == AF_INET) return ntohs(storage_.v4.sin_port);
    if (family() == AF_INET6) return ntohs(storage_.v6.sin6_port);
    return 0;
}

std::string socket_address::to_string() const {
    if (family() == AF_INET6) return fmt::format("[{}]:{}", host(), port());
    if (family() == AF_INET) return fmt::format("{}:{}", host(), port());
    return "<no address>";
}

bool socket_address::is_loopback() const noexcept {
    if (family() == AF_INET) return (ntohl(storage_.v4.sin_addr.s_addr) >> 24) == 127;
    if (family() == AF_INET6) {
        const in6_addr& a = storage_.v6.sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
        return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
    }
    return false;
}

socklen_t socket_address::size() const noexcept {
    if (family() == AF_INET) return sizeof(sockaddr_in);
    if (family() == AF_INET6) return sizeof(sockaddr_in6);
    return 0;
}

namespace {
// The blocking part of resolve(), run on a worker thread.
std::vector<socket_address> lookup(const std::string& host, std::uint16_t port, bool passive) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | (passive ? AI_PASSIVE : 0);
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) {
        std::string reason = rc == EAI_SYSTEM ? std::strerror(errno) : ::gai_strerror(rc);
        throw std::system_error(std::make_error_code(std::errc::host_unreachable),
                                fmt::format("cannot resolve '{}': {}", host, reason));
    }
    std::vector<socket_address> result;
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        socket_address a(ai->ai_addr, ai->ai_addrlen);
        if (a.family() == AF_UNSPEC) continue;
        bool duplicate = false;
        for (auto& seen : result) duplicate = duplicate || seen.to_string() == a.to_string();
        if (!duplicate) result.push_back(a);
    }
    ::freeaddrinfo(found);
    if (result.empty()) {
        throw std::system_error(std::make_error_code(std::errc::host_unreachable),
                                fmt::format("cannot resolve '{}': no IPv4 or IPv6 address", host));
    }
    return result;
}
}  // namespace

task<std::vector<socket_address>> resolve(std::string host, std::uint16_t port, bool passive) {
    if (host.empty()) host = passive ? "0.0.0.0" : "127.0.0.1";
    if (auto numeric = socket_address::parse(host, port)) co_return std::vector<socket_address>{*numeric};
    // A named future, not a temporary lambda inside the co_await: g++ 12 mishandles
    // non-trivial temporaries that live across a suspension.
    auto lookup_done = weft::to_thread(lookup, host, port, passive);
    co_return co_await std::move(lookup_done);
}

}  // namespace weft::net

namespace weft::net::detail {

std::system_error socket_error(int error, const std::string& what, const socket_address& address) {
    return std::system_error(error, std::generic_category(), fmt::format("{} {}", what, address.to_string()));
}

fd_guard::~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
}

void set_no_delay(int fd) noexcept {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

socket_address local_address_of(int fd) noexcept {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
    return socket_address(reinterpret_cast<const sockaddr*>(&storage), length);
}

socket_address peer_address_of(int fd) noexcept {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return {};
    return socket_address(reinterpret_cast<const sockaddr*>(&storage), length);
}

}  // namespace weft::net::detail
