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
/// With `messy` on, `/messy/index.html` also links to pages with the cases real sites throw at
/// a crawler (`<base href>`, relative and protocol-relative URLs, `&amp;` in attributes,
/// upper-case and unquoted attributes, `data-src` and `srcset`, percent-encoded and non-ASCII
/// names, charsets declared only in the header or only in `<meta http-equiv>`, broken markup,
/// redirect loops, 404s, redirects, hostile names, hotlink protection, robots.txt), each with
/// machine-readable expectations (`messy_cases()`, and the manifest's `"messy"` list). These
/// pages are answered at once, never with latency or faults.
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
#include <string_view>
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
    /// Also serve the `/messy/` pages (see `demo_site::messy_cases()`); robots.txt then gains
    /// `Disallow: /messy/private/`.
    bool messy = false;
};

/// One image of the site, as listed in `/manifest.json`.
struct demo_image {
    /// The request target, percent-encoded, with its query if any: "/uploads/allimg/...",
    /// "/messy/img/%E5%9B%BE%E7%89%87.jpg", "/messy/img/pic.jpg?id=1".
    std::string path{};
    std::size_t size = 0;
    std::string sha256{};  ///< lower-case hex
};

/// One image reference of a messy page and what a correct crawler does with it.
///
/// Example: `if (img.expect == "saved") EXPECT_EQ(sha256_of(saved_file), img.sha256);`
struct messy_image {
    /// Absolute, exactly as a correct crawler requests it: resolved against the page (and its
    /// `<base href>`), entities decoded, non-ASCII characters percent-encoded as UTF-8.
    std::string url{};
    /// "saved", "failed" or "skipped".
    std::string expect{};
    /// What the case checks: "base href", "404", "too many redirects", "robots", ...
    std::string why{};
    /// SHA-256 (lower-case hex) of the bytes finally served (after redirects), for every image
    /// served with 200: the "saved" ones and the one "skipped" by robots.txt (which
    /// `--ignore-robots` saves); empty for the failures.
    std::string sha256{};
};

/// One messy case: a page, the XPath that reaches its images, and the images.
///
/// Example: `for (auto& c : site.messy_cases()) crawl(c.page_url, c.select);`
struct messy_case {
    std::string name{};      ///< "base-href", "srcset", "hostile-names", ...
    std::string page_url{};  ///< absolute
    std::string select = "//img/@src";
    std::vector<messy_image> images{};
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
    /// Every image served with 200, as in the manifest: page by page, then the `/messy/` ones.
    const std::vector<demo_image>& images() const noexcept;
    /// The images shown on page `n` (1-based).
    std::vector<demo_image> images_on_page(int n) const;
    /// The `/manifest.json` document.
    const std::string& manifest() const noexcept;
    /// The underlying server (accept and request counters).
    const server& http_server() const noexcept;
    /// The messy cases (empty unless `options.messy`), in the order `/messy/index.html` links
    /// their pages. Two cases may share a page when they need different `select`s.
    /// *Example:* `for (auto& c : site.messy_cases()) for (auto& i : c.images) check(i.url, i.expect);`
    std::vector<messy_case> messy_cases() const;
    /// How many requests (any method, any answer) arrived for `target`: an absolute URL of this
    /// site or a path, with its query if any, percent-encoded or not (compared after
    /// percent-decoding the path; the query as is).
    /// *Example:* `EXPECT_EQ(site.requests_for(site.url() + "/messy/img/shared.jpg"), 1u);`
    std::size_t requests_for(std::string_view target) const;

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
