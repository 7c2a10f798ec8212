#pragma once
/// \file
/// `weft::http::server`: a small HTTP/1.1 server on weft streams, for fixtures, the demo site
/// and benchmarks (not a general-purpose web server).
///
/// Requests are parsed by libhttp-parser. Connections are kept alive (HTTP/1.1 default,
/// `Connection: keep-alive` for 1.0) and pipelined requests are answered in order. GET and
/// HEAD get Range support (one range: 206 with Content-Range, 416 when unsatisfiable) and
/// validators for resuming downloads: a 200 body gets a strong ETag (the handler's own ETag
/// header if it gives one, else `strong_etag(body)`; files: from size and mtime, plus
/// Last-Modified), and a Range request with an `If-Range` that does not match them gets the
/// whole body with 200 (RFC 9110 §13.1.5). A
/// request that is malformed gets 400, one whose head is too large 431, one whose body is too
/// large 413 — then the connection is closed; other connections are unaffected.
///
/// Example:
/// \code
///   auto srv = co_await weft::http::server::start(
///       [](weft::http::exchange& ex) -> weft::task<> {
///           co_await ex.respond({.body = "hello " + ex.request().path});
///       },
///       "127.0.0.1", 0);
///   spdlog::info("serving {}", srv.url());
///   co_await srv.serve_forever();
/// \endcode
///
/// *Cancellation:* cancelling `serve_forever()`/`wait_closed()` stops the wait only; `close()`
/// stops the server and cancels its connections.
/// *Thread-safety:* a server belongs to the loop that started it.

#include <weft/http/response.hpp>
#include <weft/net/server.hpp>
#include <weft/net/stream.hpp>
#include <weft/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::http {

/// A parsed request.
struct request {
    std::string method{};   ///< "GET", "HEAD", ...
    std::string target{};   ///< as sent: "/a/b?x=1"
    std::string path{};     ///< percent-decoded path: "/a/b"
    std::string query{};    ///< "x=1"
    header_list headers{};
    std::string body{};
    int http_major = 1;
    int http_minor = 1;
};

/// What a handler answers with.
struct reply {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    /// Extra headers ("Name", "value"); Content-Length, Connection and Server are added.
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string body{};
};

/// The standard reason phrase of `status` ("Not Found"), or "Unknown".
/// Example: `weft::http::reason_phrase(404) == "Not Found"`
std::string_view reason_phrase(int status) noexcept;

/// A file name's MIME type by extension ("image/jpeg" for ".jpg"; default
/// "application/octet-stream"). Example: `weft::http::mime_type("a.html") == "text/html"`
std::string mime_type(const std::filesystem::path& path);

/// The strong ETag the server gives a generated 200 body that has none: a quoted hash of the
/// bytes and their size (same bytes, same tag, across runs of the same build).
/// Example: `r.headers.emplace_back("ETag", weft::http::strong_etag(body));`
std::string strong_etag(std::string_view body);

/// `t` as an HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"), as in Last-Modified.
/// Example: `weft::http::http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"`
std::string http_date(std::time_t t);

namespace detail {
struct server_state;
}

/// One request being answered: what a handler is given.
///
/// Example: `co_await ex.respond({.status = 404, .body = "no such page"});`
class exchange {
public:
    exchange(const http::request& req, net::stream& s, detail::server_state& server) noexcept
        : request_(req), stream_(s), server_(server) {}

    /// The request.
    const http::request& request() const noexcept { return request_; }

    /// Sends `r`, applying HEAD (no body) and, for a 200 answer to GET/HEAD, an ETag (when
    /// `r.headers` has none: `strong_etag(r.body)`) and the request's Range header (206/416)
    /// if its If-Range, if any, matches the ETag or the Last-Modified of `r.headers`.
    /// *Throws:* `std::system_error` if the peer went away.
    /// *Cancellation:* cancellable (the connection is then closed).
    /// *Example:* `co_await ex.respond({.content_type = "text/html", .body = html});`
    task<void> respond(reply r);
    /// Sends a file from disk, with its MIME type, an ETag from its size and mtime,
    /// Last-Modified, Range/If-Range and HEAD handling; 404 if it does not exist. A file of
    /// up to 256 KiB whose name and bytes are in the kernel's caches is read on the loop
    /// (calls that fail rather than wait on the disk); any other goes through the thread pool.
    /// *Example:* `co_await ex.send_file("www/index.html");`
    task<void> send_file(std::filesystem::path file);

    /// The connection, for handlers that write raw bytes (fault injection in fixtures).
    /// After writing raw bytes, call `close_connection()` or `reset()`.
    net::stream& stream() noexcept { return stream_; }
    /// Closes the connection after this exchange (sends `Connection: close` if not yet sent).
    void close_connection() noexcept { close_ = true; }
    /// Resets the connection at once (TCP RST: the peer sees "connection reset").
    void reset() noexcept;

    /// Records that the handler answered with raw bytes written to `stream()`.
    void mark_responded() noexcept { responded_ = true; }
    /// True once a response was sent.
    bool responded() const noexcept { return responded_; }
    /// True when the connection closes after this exchange.
    bool closing() const noexcept { return close_; }

private:
    // Formats the head (Range and ETag handling as in respond(); a file's validators, if
    // given, become its ETag and Last-Modified) and writes it with the body in one gather
    // write. Synchronous: `body` need only live through the call.
    void write_response(int status, std::string_view content_type,
                        const std::vector<std::pair<std::string, std::string>>& headers, std::string_view file_etag,
                        std::string_view file_modified, std::string_view body);

    const http::request& request_;
    net::stream& stream_;
    detail::server_state& server_;
    bool responded_ = false;
    bool close_ = false;
};

/// A request handler: answers through the exchange (a handler that sends nothing gets 500).
using handler = std::function<task<void>(exchange&)>;

/// Limits of a server.
struct server_options {
    /// Request line plus headers; more → 431.
    std::size_t max_header_bytes = 16 * 1024;
    /// Request body; more → 413.
    std::size_t max_body_bytes = 1024 * 1024;
    /// An idle keep-alive connection is closed after this long.
    std::chrono::milliseconds keep_alive_timeout{15'000};
    /// A request must arrive completely within this long once started (else 408).
    std::chrono::milliseconds request_timeout{30'000};
    /// Connections served at once (0: no limit).
    std::size_t max_connections = 0;
};

/// A running HTTP server (see the file comment). Move-only; destroying it closes it.
///
/// Example: `auto srv = co_await weft::http::server::start(h, "127.0.0.1", 0); srv.url();`
class server {
public:
    server() noexcept;
    server(server&&) noexcept;
    server& operator=(server&&) noexcept;
    ~server();

    /// Listens on `host:port` (0: a free port) and serves each request with `h`.
    /// *Throws:* `std::system_error` naming the address.
    /// *Example:* `auto srv = co_await weft::http::server::start(h, "127.0.0.1", 8000);`
    static task<server> start(handler h, std::string host, std::uint16_t port, server_options options = {});

    /// The port it listens on.
    std::uint16_t port() const;
    /// "http://127.0.0.1:PORT" (no trailing slash).
    std::string url() const;
    /// Connections accepted so far (for connection-reuse checks).
    std::uint64_t connections_accepted() const noexcept;
    /// Requests answered so far.
    std::uint64_t requests_served() const noexcept;

    /// Stops listening and cancels the connections. Idempotent.
    void close();
    /// Waits until closed and every connection ended. *Example:* `co_await srv.wait_closed();`
    task<void> wait_closed();
    /// Waits until `close()`. *Example:* `co_await srv.serve_forever();`
    task<void> serve_forever();

private:
    std::shared_ptr<detail::server_state> state_;
    net::server net_;
};

/// A handler serving the files under `root` (GET/HEAD; "/" serves "index.html"; paths with
/// ".." are refused with 403). *Example:* `co_await http::server::start(http::static_files("www"), "127.0.0.1", 0);`
handler static_files(std::filesystem::path root);

}  // namespace weft::http
