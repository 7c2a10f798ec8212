#pragma once
/// \file
/// `weft::http::demo_site`: a deterministic image gallery on loopback, shaped like the
/// tutorial's crawl target, with fault injection — the fixture every crawler test and demo
/// uses (`weft demo-site` runs one).
///
/// Pages `/4kmeinv/index.html` (page 1) and `/4kmeinv/index_N.html` are GBK-encoded with
/// `<meta charset="gbk">`, Chinese text, and `<img src="/uploads/allimg/…jpg">` among noise
/// (other images, links, scripts). Images are JPEG-headed bytes drawn from the seed.
/// `/robots.txt` and `/manifest.json` (every image's path, size and SHA-256) complete it.
///
/// Faults hit page and image requests at the given rates, each request drawing once from the
/// seeded generator: 500/503 with Retry-After, 429 with Retry-After, connection reset mid-body,
/// truncated body (Content-Length lies), a stall, a 302 redirect; with `hotlink_protection`
/// an image request without a Referer gets 403.
///
/// Example:
/// \code
///   auto site = co_await weft::http::demo_site::start({.pages = 3, .per_page = 10});
///   auto r = co_await session.get(site.url() + "/4kmeinv/index_2.html");
///   for (auto& img : site.images()) spdlog::info("{} {} {}", img.path, img.size, img.sha256);
/// \endcode
///
/// *Cancellation:* `serve_forever()` is cancellable; `close()` stops the site.
/// *Thread-safety:* belongs to the loop that started it.

#include <weft/http/server.hpp>
#include <weft/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace weft::http {

/// Fault rates, each a probability in [0, 1] per page/image request.
struct demo_faults {
    double server_error = 0;  ///< 500 or 503, with Retry-After: 1
    double throttle = 0;      ///< 429 with Retry-After: 1
    double reset = 0;         ///< headers and half the body, then a TCP reset
    double truncate = 0;      ///< Content-Length says more than is sent, then close
    double stall = 0;         ///< no answer for `stall_for`
    double redirect = 0;      ///< 302 to the same resource
    /// Images requested without a Referer get 403.
    bool hotlink_protection = false;
    std::chrono::milliseconds stall_for{60'000};
};

/// Settings of a demo site.
struct demo_site_options {
    int pages = 5;
    int per_page = 20;
    std::size_t image_bytes = 16 * 1024;
    /// Added before each answer: `latency`, plus up to `jitter` more (uniform).
    std::chrono::milliseconds latency{0};
    std::chrono::milliseconds jitter{0};
    std::uint64_t seed = 1;
    demo_faults faults{};
    std::uint16_t port = 0;  ///< 0: a free port
};

/// One image of the site, as listed in `/manifest.json`.
struct demo_image {
    std::string path{};    ///< "/uploads/allimg/..."
    std::size_t size = 0;
    std::string sha256{};  ///< lower-case hex
};

namespace detail {
struct demo_state;
}

/// A running demo site on 127.0.0.1 (see the file comment). Move-only.
///
/// Example: `auto site = co_await weft::http::demo_site::start(); std::puts(site.url().c_str());`
class demo_site {
public:
    demo_site() noexcept;
    demo_site(demo_site&&) noexcept;
    demo_site& operator=(demo_site&&) noexcept;
    ~demo_site();

    /// Generates the content and starts serving on 127.0.0.1.
    /// *Throws:* `std::invalid_argument` for nonsensical options, `std::system_error` if the
    /// port is taken. *Example:* `auto site = co_await weft::http::demo_site::start({.seed = 7});`
    static task<demo_site> start(demo_site_options options = {});

    /// "http://127.0.0.1:PORT".
    std::string url() const;
    /// The URL of page `n` (1-based): ".../4kmeinv/index.html" for 1, ".../index_N.html" after.
    std::string page_url(int n) const;
    /// Every image, page by page.
    const std::vector<demo_image>& images() const noexcept;
    /// The images shown on page `n` (1-based).
    std::vector<demo_image> images_on_page(int n) const;
    /// The `/manifest.json` document.
    const std::string& manifest() const noexcept;
    /// The underlying server (accept and request counters).
    const server& http_server() const noexcept;

    /// Stops the site. Idempotent.
    void close();
    /// Waits until `close()`. *Example:* `co_await site.serve_forever();`
    task<void> serve_forever();
    /// Waits until closed and every connection ended.
    task<void> wait_closed();

private:
    std::shared_ptr<detail::demo_state> state_;
    server server_;
};

}  // namespace weft::http
