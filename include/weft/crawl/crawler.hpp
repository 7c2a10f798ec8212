#pragma once
/// \file
/// `weft::crawl::crawl`: the concurrent image crawler behind `weft crawl` and `weft get`.
///
/// Pages are fetched, decoded to UTF-8 (`http::response::text()`), parsed (libxml2) and the
/// image URLs selected (XPath, or the tutorial's regex), resolved against the page, filtered
/// (`match`), de-duplicated on their normalized form, and downloaded concurrently through one
/// `http::client_session` (total and per-host limits). Links selected by `follow` are crawled
/// to `depth`, on the seeds' hosts unless `any_host`.
///
/// Every URL and its outcome lives in a SQLite database inside the output directory, written
/// as the crawl goes; a file is downloaded to `name.part` and renamed once complete. So a crawl
/// stopped at any moment (Ctrl-C, kill -9, power loss) is finished by running it again: done
/// files are not fetched again and partial ones resume with a Range request (If-Range).
///
/// Politeness: robots.txt (RFC 9309, its Crawl-delay too) unless `ignore_robots`; a per-host
/// delay with jitter;
/// 429/503 slow the host down (adaptive) and `Retry-After` is always honoured; failed
/// attempts (timeouts, resets, truncation, 408/429/5xx) are retried with capped exponential
/// back-off and jitter. Each image is requested with its page as Referer.
///
/// Example:
/// \code
///   weft::crawl::crawl_options o;
///   o.seeds = weft::crawl::expand_url_glob("http://127.0.0.1:8000/4kmeinv/index_[2-5].html");
///   o.out_dir = "imgs";
///   auto result = co_await weft::crawl::crawl(o, {});
///   std::printf("%zu images saved\n", result.counts.images_done);
/// \endcode
///
/// *Throws:* `std::invalid_argument` for bad options (a bad URL, XPath or regex, named in the
/// message) and `std::runtime_error` when the output directory or its database cannot be
/// used — both before any request is made.
/// *Cancellation:* cancelling the awaiting task stops taking new work, cancels transfers in
/// flight keeping their partial files for a later resume, saves the state, and returns a
/// result with `interrupted` set.
/// *Thread-safety:* runs on the awaiting task's loop.

#include <weft/crawl/naming.hpp>
#include <weft/crawl/store.hpp>
#include <weft/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace weft::crawl {

/// What to crawl and how (the `weft crawl` options; see the file comment).
struct crawl_options {
    /// Start URLs: gallery pages, or (with `seeds_are_images`) the files themselves.
    std::vector<std::string> seeds{};
    /// `weft get`: the seeds are downloaded as they are, no page parsing.
    bool seeds_are_images = false;
    /// XPath selecting image URLs in a page.
    std::string select = "//img/@src";
    /// Tutorial style instead of XPath: a regex over the page text, capture group 1.
    std::string regex{};
    /// Keep only resolved image URLs this regex finds a match in ("" keeps all).
    std::string match{};
    /// XPath selecting links to crawl as pages ("" follows nothing), up to `depth` hops.
    std::string follow{};
    int depth = 0;
    /// Follow links to hosts other than the seeds'.
    bool any_host = false;
    /// Where files and the state database go.
    std::filesystem::path out_dir = "imgs";
    layout file_layout = layout::flat;
    /// Transfers at once, in all and per host.
    std::size_t jobs = 16;
    std::size_t per_host = 8;
    /// Pause between two requests to one host (drawn between 0.5× and 1.5×).
    std::chrono::milliseconds delay{0};
    /// Attempts after the first one, for transient failures.
    int retries = 4;
    std::chrono::milliseconds backoff_base{500};
    std::chrono::milliseconds backoff_cap{30'000};
    /// Connect, idle (no byte received for this long) and per-attempt timeouts.
    std::chrono::milliseconds connect_timeout{15'000};
    std::chrono::milliseconds idle_timeout{30'000};
    std::chrono::milliseconds attempt_timeout{300'000};
    /// Most redirects in a row (libcurl's own default is unlimited).
    long max_redirects = 10;
    bool ignore_robots = false;
    std::string user_agent = "weft-crawl/0.1";
    std::vector<std::pair<std::string, std::string>> headers{};
    /// Skip TLS verification (aiohttp's verify_ssl=False).
    bool insecure = false;
    std::string ca_file{};
    /// Refuse files larger than this (0: no limit).
    std::uint64_t max_bytes = 0;
    /// Skip an image whose SHA-256 equals one already saved (it is deleted, the record says so).
    bool dedup_content = false;
};

/// Counters of a crawl in progress (what the progress line shows).
struct crawl_counts {
    std::size_t pages_total = 0, pages_done = 0, pages_failed = 0;
    std::size_t images_total = 0, images_done = 0, images_failed = 0, images_skipped = 0;
    /// Images found already saved by an earlier run (counted in `images_done` too).
    std::size_t images_already = 0;
    std::uint64_t bytes = 0;
    std::size_t retries = 0;
    /// Transfers running now.
    std::size_t active = 0;
};

/// How a crawl ended.
struct crawl_result {
    crawl_counts counts{};
    /// Failures (and skips) by reason: "404", "timeout", "robots", "duplicate", ...
    std::map<std::string, std::size_t> failures_by_reason{};
    double seconds = 0;
    /// Stopped by cancellation (Ctrl-C): the state is saved, a rerun finishes the job.
    bool interrupted = false;
    /// Stopped because the output can no longer be written (disk full, ...): the message.
    std::string fatal_error{};
    /// Every URL of this crawl's database, with its outcome (for `--report`).
    std::vector<url_record> records{};

    /// 0 all saved, 1 something failed (or a fatal error), 130 interrupted.
    /// Example: `return result.exit_status();`
    int exit_status() const noexcept;
};

/// What the caller hears while a crawl runs (each optional; called on the loop).
struct crawl_observer {
    /// At most ten times a second while running, and once at the end (`final` true).
    std::function<void(const crawl_counts& counts, double elapsed_seconds, bool final)> on_progress{};
    /// Each URL's final outcome as it is decided.
    std::function<void(const url_record& record)> on_outcome{};
    /// A retry is scheduled (url, attempt that failed, reason, wait before the next one).
    std::function<void(const std::string& url, int attempt, const std::string& reason, std::chrono::milliseconds wait)>
        on_retry{};
};

/// Checks options without any I/O: throws `std::invalid_argument` naming a bad seed URL,
/// XPath, regex or number. Example: `weft::crawl::validate(o);  // before starting the loop`
void validate(const crawl_options& options);

/// Runs a crawl to the end (see the file comment).
/// *Example:* `auto r = co_await weft::crawl::crawl(o, {.on_outcome = print_line});`
task<crawl_result> crawl(crawl_options options, crawl_observer observer);

/// The name of the state database inside the output directory.
inline constexpr const char* state_file_name = ".weft-crawl.db";

}  // namespace weft::crawl
