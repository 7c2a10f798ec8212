#pragma once
/// \file
/// How the crawler paces itself: retry back-off, `Retry-After`, and a per-host pacer with a
/// fixed delay plus a Scrapy-style adaptive slow-down when a server says 429 or 503.
///
/// Example:
/// \code
///   weft::crawl::host_pacer pacer(200ms);
///   auto start = pacer.book(loop.time(), random01());   // when this request may go
///   co_await weft::sleep(start - loop.time());
///   // ... a 429 arrived with Retry-After: 5
///   pacer.throttled(loop.time(), 5s);
/// \endcode
///
/// *Thread-safety:* plain values; one pacer per host, used from the crawler's loop.

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>

namespace weft::crawl {

/// Capped exponential back-off with jitter: the n-th retry (n ≥ 1) waits a uniformly drawn
/// time in [d/2, d], where d = min(cap, base · 2^(n-1)). `unit_random` is in [0, 1).
/// Example: `auto wait = weft::crawl::backoff_delay(500ms, 30s, 3, 0.5);  // 1.5 s`
std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base, std::chrono::milliseconds cap, int retry,
                                        double unit_random);

/// Parses an HTTP `Retry-After` value: delta-seconds ("120") or an HTTP-date, relative to
/// `now`. A date in the past gives 0; garbage gives nullopt.
/// Example: `weft::crawl::parse_retry_after("5", std::chrono::system_clock::now()) == 5s`
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

/// Paces the requests to one host (see the file comment).
///
/// Each request books a start time: no earlier than the previous booking plus the current
/// delay (drawn between 0.5× and 1.5× of it, as Scrapy's RANDOMIZE_DOWNLOAD_DELAY does), and no
/// earlier than the end of a `Retry-After` pause. A throttling answer doubles the adaptive delay
/// (from at least `min_backoff`, up to `max_delay`); each success halves what it adds to the
/// configured delay, so a host that recovers is back at full speed after a few answers.
///
/// Example: `weft::crawl::host_pacer pacer(0ms);  // no delay until the server pushes back`
class host_pacer {
public:
    using time_point = std::chrono::steady_clock::time_point;

    explicit host_pacer(std::chrono::milliseconds delay,
                        std::chrono::milliseconds max_delay = std::chrono::milliseconds(60'000),
                        std::chrono::milliseconds min_backoff = std::chrono::milliseconds(250)) noexcept
        : configured_(delay), current_(delay), max_(max_delay), min_backoff_(min_backoff) {}

    /// Books the next request: the time it may start (`now` when nothing holds it back).
    /// Example: `auto at = pacer.book(loop.time(), 0.3);`
    time_point book(time_point now, double unit_random) noexcept;

    /// The server pushed back (429/503): slow down, and hold every request until
    /// `now + retry_after` when the server said so.
    /// Example: `pacer.throttled(loop.time(), std::chrono::seconds(1));`
    void throttled(time_point now, std::optional<std::chrono::milliseconds> retry_after) noexcept;

    /// A request succeeded: relax the adaptive delay toward the configured one.
    /// Example: `pacer.succeeded();`
    void succeeded() noexcept;

    /// Raises the configured delay to at least `delay` (robots.txt's Crawl-delay).
    /// Example: `if (auto d = rules.crawl_delay()) pacer.require_delay(*d);`
    void require_delay(std::chrono::milliseconds delay) noexcept {
        configured_ = std::max(configured_, delay);
        current_ = std::max(current_, configured_);
    }

    /// The delay between requests now (configured plus adaptive).
    /// Example: `if (pacer.current_delay() > 1s) spdlog::info("host is throttling us");`
    std::chrono::milliseconds current_delay() const noexcept { return current_; }

private:
    std::chrono::milliseconds configured_;
    std::chrono::milliseconds current_;
    std::chrono::milliseconds max_;
    std::chrono::milliseconds min_backoff_;
    time_point next_{};
    time_point paused_until_{};
};

}  // namespace weft::crawl
