#pragma once
/// \file
/// `weft::http::client_session`: concurrent HTTP(S) requests on the event loop (aiohttp's
/// `ClientSession`), built on libcurl's multi-socket interface.
///
/// libcurl does the protocol work (HTTP/1.1 and HTTP/2, TLS, redirects, cookies, proxies from
/// `http_proxy`/`https_proxy`/`no_proxy`, compression, connection reuse); the session drives
/// it from the loop: libcurl tells it which sockets to watch and when to wake it, and each
/// finished transfer resumes the task that awaits it. Nothing blocks the loop.
///
/// Limits are admission control above libcurl: a request first waits for a slot of its host
/// (`limit_per_host`) and then a slot of the session (`limit`); its timeouts start only once
/// it holds both, so a queue of waiting requests never times out for waiting.
///
/// Example:
/// \code
///   weft::task<> main_task() {
///       weft::http::client_session session({.limit = 64, .limit_per_host = 8});
///       auto r = co_await session.get("https://example.org/", {.referer = "https://example.org/"});
///       r.raise_for_status();
///       spdlog::info("{} {} bytes, charset {}", r.status(), r.body().size(), r.charset());
///       co_await session.download("https://example.org/a.jpg", "out/a.jpg");
///   }
/// \endcode
///
/// *Throws:* `weft::http::error` naming the URL and libcurl's message (see `error::reason`);
/// a malformed URL is rejected before any I/O. HTTP error statuses are not errors unless you
/// call `response::raise_for_status()` (as in aiohttp), except in `download`.
/// *Cancellation:* every request is cancellable and honours `weft::timeout`; cancelling removes
/// the transfer from libcurl at once (its connection is closed or returned to the pool) and
/// frees its slots.
/// *Thread-safety:* a session belongs to the loop of its first request; use it from that
/// loop's tasks only, and destroy it before the loop closes.

#include <weft/errors.hpp>
#include <weft/http/response.hpp>
#include <weft/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace weft::http {

/// Settings shared by every request of a session.
struct session_options {
    /// Most transfers running at once (0: no limit).
    std::size_t limit = 100;
    /// Most transfers running at once to one host:port (0: no limit).
    std::size_t limit_per_host = 0;
    /// Time allowed to connect (TCP and TLS handshake).
    std::chrono::milliseconds connect_timeout{30'000};
    /// Time allowed for a whole request once it holds its slots (0: no limit).
    std::chrono::milliseconds timeout{0};
    /// Abort a transfer slower than `low_speed_limit` bytes/s for `low_speed_time` (0: off).
    long low_speed_limit = 0;
    std::chrono::seconds low_speed_time{0};
    /// Follow 3xx redirects, at most `max_redirects` in a row.
    bool follow_redirects = true;
    long max_redirects = 10;
    /// Sent as User-Agent.
    std::string user_agent = "weft/0.1";
    /// Extra headers for every request ("Name", "value").
    std::vector<std::pair<std::string, std::string>> headers{};
    /// Keep cookies the server sets and send them back (a cookie jar per session).
    bool cookies = true;
    /// Verify TLS certificates and host names (aiohttp's verify_ssl). Off only for testing.
    bool verify = true;
    /// A PEM file of CA certificates to trust instead of the system's.
    std::string ca_file{};
    /// Proxy URL; empty: libcurl reads http_proxy / https_proxy / no_proxy.
    std::string proxy{};
    /// Use HTTP/2 over TLS when the server offers it (and libcurl has it).
    bool http2 = true;
};

/// Per-request settings (override the session's where given).
struct request_options {
    /// Extra headers ("Name", "value").
    std::vector<std::pair<std::string, std::string>> headers{};
    /// Sent as Referer when not empty.
    std::string referer{};
    /// Total time for this request (0: no limit), instead of the session's.
    std::optional<std::chrono::milliseconds> timeout{};
    /// Follow redirects or not, instead of the session's setting.
    std::optional<bool> follow_redirects{};
    /// A byte range, e.g. "100-" or "0-1023" (sent as `Range: bytes=...`).
    std::string range{};
};

/// How `download` treats the ".part" file, limits and callbacks (the crawler's resume support).
///
/// Example:
/// \code
///   weft::http::download_options o{.resume = true, .if_range = saved_validator, .keep_partial = true};
///   o.on_headers = [&](long, const weft::http::header_list& h) { saved_validator = weft::http::validator_of(h); };
///   auto d = co_await session.download(url, "imgs/1.jpg", std::move(o));
/// \endcode
struct download_options {
    /// If `path.part` exists with N > 0 bytes: ask for `Range: bytes=N-` with `If-Range: <if_range>`
    /// (when `if_range` is empty, no Range is sent and the download restarts from 0). A 206 whose
    /// Content-Range starts at N appends; a 200 (the server ignored Range or the validator
    /// changed) truncates ".part" and starts over; a 416, or a 206 starting elsewhere, is
    /// answered by one new request without Range. Replaces `request_options::range`.
    bool resume = false;
    /// The validator saved from the response that wrote ".part" (see `validator_of`).
    std::string if_range{};
    /// Fail with `http::error` (reason `too_large`) when the Content-Length (the Content-Range
    /// total, resuming) or the bytes received exceed this (0: no limit).
    std::uint64_t max_bytes = 0;
    /// On a transfer failure (connect, reset, truncation, timeout, cancellation) keep
    /// `path.part` for a later resume instead of removing it (buffered bytes are flushed first
    /// where the task can still wait). Error statuses (>= 400), `too_large` and a file whose
    /// size contradicts the response still remove it.
    bool keep_partial = false;
    /// Called on the loop once the final response's headers are known, before the first byte
    /// is written (status, headers): save the ETag / Last-Modified here. Should not throw (an
    /// exception fails the download).
    std::function<void(long status, const header_list& headers)> on_headers{};
    /// Called on the loop as body bytes arrive, with their count (a progress display). Bytes
    /// reach ".part" in batches of up to 256 KiB (one pool job each), not per network read.
    std::function<void(std::uint64_t bytes)> on_progress{};
    /// Compute the final file's SHA-256 while writing it (`download_result::sha256`; a resumed
    /// download hashes the kept bytes of ".part" first), so nobody re-reads the file.
    bool sha256 = false;
};

/// What `download` reports.
struct download_result {
    long status = 0;              ///< of the final response (200, or 206 when resumed)
    std::string url{};            ///< after redirects
    std::uint64_t bytes = 0;      ///< the size of the final file
    std::filesystem::path path{};
    std::uint64_t resumed_from = 0;  ///< bytes kept from an earlier ".part" (0: downloaded whole)
    header_list headers{};        ///< of the final response
    std::string sha256{};         ///< lower-case hex, when `download_options::sha256` asked for it
};

/// The validator to send as `If-Range` when resuming a download that these response headers
/// began: the ETag when it is strong (a weak `W/` ETag cannot be used for If-Range), else
/// Last-Modified, else "" (then resuming restarts from 0).
/// Example: `opts.if_range = weft::http::validator_of(d.headers);`
std::string validator_of(const header_list& headers);

namespace detail {
struct session_impl;
}

/// A pool of connections and a cookie jar for many concurrent requests (see the file comment).
/// Move-only. (The request functions are overloaded rather than given a `= {}` default: GCC 12
/// destroys a braced default argument inside a `co_await` expression twice.)
///
/// Example: `weft::http::client_session s; auto r = co_await s.get(url);`
class client_session {
public:
    /// Example: `weft::http::client_session s({.limit_per_host = 4, .verify = false});`
    explicit client_session(session_options options = {});
    client_session(client_session&&) noexcept;
    client_session& operator=(client_session&&) noexcept;
    /// Requests still in flight keep the session's internals alive until they end.
    ~client_session();

    /// GET `url`; yields the whole response.
    /// *Throws:* `http::error`. *Cancellation:* cancellable at any point.
    /// *Example:* `auto r = co_await session.get("http://127.0.0.1:8000/robots.txt");`
    task<response> get(std::string url, request_options options);
    task<response> get(std::string url);
    /// HEAD `url` (the body is empty).
    /// *Example:* `auto len = (co_await session.head(url)).headers().get("content-length");`
    task<response> head(std::string url, request_options options);
    task<response> head(std::string url);
    /// POST `body` with `content_type` to `url`.
    /// *Example:* `co_await session.post(url, R"({"a":1})", "application/json");`
    task<response> post(std::string url, std::string body, std::string content_type, request_options options);
    task<response> post(std::string url, std::string body,
                        std::string content_type = "application/x-www-form-urlencoded");

    /// Streams `url` into `path`: bytes go to `path` + ".part" through the thread pool (in
    /// batches of up to 256 KiB: a small file is written, closed and renamed in one pool job),
    /// which is renamed to `path` once complete and verified: when the response gives a length
    /// (Content-Length, or the Content-Range total when resuming) the file must have exactly
    /// that size. The body is saved as sent (no Accept-Encoding is offered, so lengths and
    /// ranges count the file's own bytes). On any failure (error status ≥ 400, transfer
    /// error, timeout, cancellation, wrong size) the ".part" file is removed and `path` is
    /// untouched — unless `download_options::keep_partial` keeps it for a resume. (A batch
    /// already handed to the pool when the download is cancelled still lands in a kept
    /// ".part"; a dropped one is removed when that write ends.)
    /// *Throws:* `http::error` (reason `status` for an error status, `transfer` for a wrong
    /// size — "truncated: got X of Y bytes", `too_large` past `max_bytes`), or the file error.
    /// *Cancellation:* cancellable; nothing is left behind (but ".part" with `keep_partial`).
    /// *Example:* `auto d = co_await session.download(url, "imgs/1.jpg");`
    task<download_result> download(std::string url, std::filesystem::path path, request_options options,
                                   download_options download);
    task<download_result> download(std::string url, std::filesystem::path path, download_options download);
    task<download_result> download(std::string url, std::filesystem::path path, request_options options);
    task<download_result> download(std::string url, std::filesystem::path path);

    /// Transfers running now (holding slots).
    std::size_t active() const noexcept;
    /// The session's options.
    const session_options& options() const noexcept;

private:
    std::shared_ptr<detail::session_impl> impl_;
};

/// Checks that `url` is an absolute http(s) URL that libcurl can parse; returns its
/// "host:port" key. *Throws:* `http::error` (reason `invalid_url`) saying what is wrong.
/// Example: `weft::http::validate_url("http://127.0.0.1:8000/x") == "127.0.0.1:8000"`
std::string validate_url(const std::string& url);

}  // namespace weft::http
