// weft::crawl::crawl — the engine behind `weft crawl` and `weft get`.
//
// Shape: one dispatcher task pops URLs from an in-memory frontier (pages before images) and
// spawns one worker task per URL into a task_group, keeping at most `2 × jobs` workers awake
// (a worker sleeping out a back-off does not count); the session's admission control then
// holds every transfer to `jobs` in all and `per_host` per host. Workers never throw (each
// outcome is recorded), except for cancellation.
//
// State: every write goes to the SQLite store on ONE dedicated thread (so the loop never
// blocks on disk, and writes are applied in the order they were made); writes nobody waits
// for (outcomes, attempts, validators) are grouped, one transaction per batch. The order that makes
// a kill -9 at any moment safe: a page's new URLs are committed before the page is marked
// done; an image's file is renamed from ".part" only once complete, and a pending image whose
// final file exists at start-up was therefore completed (names are reserved per record).
#include <weft/crawl/crawler.hpp>
#include <weft/crawl/extract.hpp>
#include <weft/crawl/politeness.hpp>
#include <weft/crawl/robots.hpp>
#include <weft/crawl/url.hpp>

#include <weft/aio/event.hpp>
#include <weft/errors.hpp>
#include <weft/event_loop.hpp>
#include <weft/http/client_session.hpp>
#include <weft/sleep.hpp>
#include <weft/task_group.hpp>
#include <weft/timeout.hpp>
#include <weft/thread_pool_executor.hpp>
#include <weft/to_thread.hpp>

#include "common/sha256.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <exception>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

namespace weft::crawl {

using std::chrono::milliseconds;
namespace fsys = std::filesystem;

int crawl_result::exit_status() const noexcept {
    if (interrupted) return 130;
    if (!fatal_error.empty() || counts.pages_failed > 0 || counts.images_failed > 0) return 1;
    return 0;
}

namespace {

bool transient_status(long status) { return status == 408 || status == 429 || status >= 500; }

// Reasons a later run should try again (the rest are final: 404, robots, redirect loop, ...).
bool transient_reason(const std::string& reason) {
    static const std::unordered_set<std::string> transient{"timeout", "connect", "reset", "truncated", "transfer",
                                                           "interrupted", "disk", "robots.txt unreachable"};
    if (transient.count(reason)) return true;
    long status = std::atol(reason.c_str());
    return status > 0 && transient_status(status);
}

struct failure {
    std::string reason{};
    std::string message{};
    long status = 0;
    bool transient = false;
    std::optional<milliseconds> retry_after{};
};

failure classify(const http::error& e) {
    using r = http::error::reason;
    failure f{.reason = "error", .message = e.what(), .status = e.status()};
    switch (e.kind()) {
    case r::status:
        f.reason = std::to_string(e.status());
        f.transient = transient_status(e.status());
        break;
    case r::timeout: f.reason = "timeout", f.transient = true; break;
    case r::connect: f.reason = "connect", f.transient = true; break;
    case r::transfer: {
        std::string what = e.what();
        bool reset = what.find("reset") != std::string::npos || what.find("Recv failure") != std::string::npos;
        bool truncated = what.find("truncated") != std::string::npos || e.curl_code() == CURLE_PARTIAL_FILE;
        f.reason = truncated ? "truncated" : reset ? "reset" : "transfer";
        f.transient = true;
        break;
    }
    case r::tls: f.reason = "tls"; break;
    case r::too_many_redirects: f.reason = "redirect loop"; break;
    case r::invalid_url: f.reason = "bad url"; break;
    case r::too_large: f.reason = "too large"; break;
    case r::other: f.reason = "error"; break;
    }
    return f;
}

failure from_status(const http::response& r) {
    failure f{.reason = std::to_string(r.status()), .message = "HTTP status " + std::to_string(r.status()),
              .status = r.status(), .transient = transient_status(r.status())};
    if (auto v = r.headers().get("retry-after")) f.retry_after = parse_retry_after(*v, std::chrono::system_clock::now());
    return f;
}

// How long outcomes wait to be committed together (a kill -9 loses at most this much
// bookkeeping, which the next run recovers: see the file comment).
constexpr std::chrono::milliseconds commit_window{10};

// Errors that end the whole crawl: the output cannot be written any more (EFBIG: a file
// size limit, which ends every later file too).
bool fatal_io(const std::system_error& e) {
    int code = e.code().value();
    return e.code().category() == std::generic_category() &&
           (code == ENOSPC || code == EDQUOT || code == EFBIG || code == EROFS || code == EACCES || code == EPERM);
}

std::string sha256_of_file(const fsys::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw fsys::filesystem_error("read", path, std::make_error_code(std::errc::io_error));
    weft::detail::sha256 hash;
    std::vector<char> buffer(256 * 1024);
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
        hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
    }
    return hash.hex();
}

// Reserves the file name of image `id` (numbered when taken); on the store's thread.
std::string reserve_name(store& db, std::int64_t id, const std::string& url, layout how) {
    fsys::path base = local_name(url, how);
    return db.reserve_path(id, [&](int k) { return numbered_name(base, k).string(); });
}

// What a page yields, computed on a worker thread (decoding and parsing are CPU work).
struct page_links {
    std::vector<std::string> images;
    std::vector<std::string> pages;
};

struct extraction_job {
    std::shared_ptr<const http::response> page;
    std::string select, follow;
    std::shared_ptr<const std::regex> regex, match;

    page_links operator()() const {
        std::string text = page->text();
        page_links out;
        html_document doc(text, page->url());
        out.images = regex ? regex_links(text, *regex, doc.base_url()) : doc.links(xpath(select));
        if (match) {
            std::erase_if(out.images, [&](const std::string& u) { return !std::regex_search(u, *match); });
        }
        if (!follow.empty()) out.pages = doc.links(xpath(follow));
        return out;
    }
};

struct host_info {
    explicit host_info(milliseconds delay) : pacer(delay) {}
    host_pacer pacer;
    std::optional<robots_rules> robots;
    std::string robots_error;  // why robots.txt could not be read (then everything is refused)
    bool robots_loading = false;
    aio::event robots_ready;
};

// One URL of the frontier. (Not an aggregate: GCC 12 copies an aggregate coroutine parameter
// bitwise into the frame, which breaks its strings.)
struct work_item {
    work_item(std::int64_t id, std::string url, url_kind kind, int depth, std::string referer, std::string path,
              std::string validator)
        : id(id), url(std::move(url)), kind(kind), depth(depth), referer(std::move(referer)), path(std::move(path)),
          validator(std::move(validator)) {}
    std::int64_t id = 0;
    std::string url;
    url_kind kind = url_kind::image;
    int depth = 0;
    std::string referer;
    std::string path;
    std::string validator;
    std::chrono::steady_clock::time_point started{};
    int tries = 0;  // requests made for it in this run
};

work_item item_of(const url_record& r) {
    return work_item(r.id, r.url, r.kind, r.depth, r.referer, r.path, r.validator);
}

// What start-up reads and repairs, on the store's thread.
struct startup_state {
    std::vector<url_record> pending;
    std::unordered_map<std::string, std::string> saved_contents;  // SHA-256 -> path
    crawl_counts counts;
    std::vector<std::string> seed_hosts;
};

class engine {
public:
    engine(crawl_options options, crawl_observer observer)
        : o_(std::move(options)), observer_(std::move(observer)), session_(session_settings(o_)) {
        if (!o_.regex.empty()) regex_ = std::make_shared<const std::regex>(compile_regex(o_.regex));
        if (!o_.match.empty()) match_ = std::make_shared<const std::regex>(compile_regex(o_.match));
    }

    task<crawl_result> run();

private:
    static http::session_options session_settings(const crawl_options& o) {
        http::session_options s;
        s.limit = o.jobs;
        s.limit_per_host = o.per_host;
        s.connect_timeout = o.connect_timeout;
        s.timeout = o.attempt_timeout;
        s.low_speed_limit = 1;
        s.low_speed_time = std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(o.idle_timeout));
        s.max_redirects = o.max_redirects;
        s.user_agent = o.user_agent;
        s.headers = o.headers;
        s.verify = !o.insecure;
        s.ca_file = o.ca_file;
        return s;
    }

    // Runs `fn(store&)` on the store's thread; co_await the result.
    template <class Fn>
    auto on_store(Fn fn) {
        return db_thread_.submit([this, fn = std::move(fn)]() mutable { return fn(*store_); });
    }

    startup_state open_state();
    task<void> dispatch();
    task<void> ticker();
    task<void> work(work_item item);
    task<void> crawl_page(work_item& item);
    task<void> fetch_image(work_item& item);
    task<bool> robots_allow(const std::string& url);
    void refuse_by_robots(const work_item& item);
    task<void> pace(const std::string& origin);
    bool settle_attempt(const std::string& origin, int attempt, const std::optional<failure>& failed, failure& last);
    task<void> retry_wait(work_item& item, int attempt, const failure& f);
    void record(const work_item& item, url_state state, const failure& f, std::uint64_t bytes,
                std::string_view sha256);
    void write_later(std::function<void(store&)> op);
    task<void> flush_writes();
    host_info& host(const std::string& origin);
    void add_found(const std::vector<std::string>& urls, url_kind kind, int depth,
                   std::vector<std::pair<std::string, int>>& fresh);
    void wake() { changed_.set(); }
    void progress(bool final);
    double elapsed() const;
    double random01() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

    crawl_options o_;
    crawl_observer observer_;
    http::client_session session_;
    std::shared_ptr<const std::regex> regex_, match_;
    std::unique_ptr<store> store_;
    thread_pool_executor db_thread_{1};
    // Writes nobody waits for, committed in order, a batch per SQLite transaction (group
    // commit: one WAL append and lock round for many records).
    std::vector<std::function<void(store&)>> writes_;
    bool flushing_ = false;
    aio::event writes_idle_;
    aio::event flush_now_;  // the crawl is over: commit without waiting for the window
    std::optional<task_handle<void>> flusher_;

    std::deque<work_item> pages_, images_;
    std::unordered_set<std::string> seen_;
    std::unordered_set<std::string> seed_hosts_;
    // --dedup-content: what is saved, checked and claimed on the loop in one step (no race).
    std::unordered_map<std::string, std::string> saved_contents_;
    std::unordered_map<std::string, std::unique_ptr<host_info>> hosts_;
    std::size_t running_ = 0;  // worker tasks alive
    std::size_t awake_ = 0;    // of which not sleeping out a back-off
    aio::event changed_;
    crawl_counts counts_;
    std::map<std::string, std::size_t> reasons_;
    std::string fatal_;
    std::mt19937_64 rng_{std::random_device{}()};
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

startup_state engine::open_state() {
    std::error_code ec;
    fsys::create_directories(o_.out_dir, ec);
    if (ec) throw std::runtime_error("cannot create output directory '" + o_.out_dir.string() + "': " + ec.message());
    {
        // Probe: a directory that exists but cannot be written is refused now, not per file.
        fsys::path probe = o_.out_dir / ".weft-write-test";
        std::ofstream f(probe);
        if (!f) throw std::runtime_error("cannot write to output directory '" + o_.out_dir.string() + "': " +
                                         std::generic_category().message(errno));
        f.close();
        fsys::remove(probe, ec);
    }
    store_ = std::make_unique<store>(o_.out_dir / state_file_name);
    store& db = *store_;
    startup_state s;
    db.transaction([&] {
        url_kind seed_kind = o_.seeds_are_images ? url_kind::image : url_kind::page;
        for (auto& seed : o_.seeds) db.add(normalize_url(seed), seed_kind, 0, "");
    });
    for (auto& r : db.all()) {
        seen_.insert(r.url);
        // A rerun retries what failed for a passing reason (5xx, timeouts, resets...).
        if (r.state == url_state::failed && transient_reason(r.reason)) {
            db.reopen(r.id);
            r.state = url_state::pending;
        }
        bool page = r.kind == url_kind::page;
        (page ? s.counts.pages_total : s.counts.images_total)++;
        if (r.state == url_state::pending) {
            // Completed (renamed) but killed before the record said so: names are reserved
            // per record and only complete files are renamed, so the file is this one.
            if (!page && !r.path.empty() && fsys::exists(o_.out_dir / r.path) &&
                !fsys::exists(fsys::path(o_.out_dir / r.path) += ".part")) {
                fsys::path file = o_.out_dir / r.path;
                auto size = fsys::file_size(file);
                db.finish(r.id, url_state::done, 200, size, "", "", sha256_of_file(file), r.seconds);
                s.counts.images_done++;
                s.counts.images_already++;
                continue;
            }
            s.pending.push_back(r);
        } else if (r.state == url_state::done) {
            if (!page && !fsys::exists(o_.out_dir / r.path)) {  // deleted since: fetch again
                db.reopen(r.id);
                r.state = url_state::pending;
                s.pending.push_back(r);
                continue;
            }
            (page ? s.counts.pages_done : s.counts.images_done)++;
            if (!page) {
                s.counts.images_already++;
                if (!r.sha256.empty()) s.saved_contents.emplace(r.sha256, r.path);
            }
        } else if (r.state == url_state::failed) {
            (page ? s.counts.pages_failed : s.counts.images_failed)++;
            reasons_[r.reason]++;
        } else {
            if (!page) s.counts.images_skipped++;
            reasons_[r.reason]++;
        }
    }
    for (auto& seed : o_.seeds) s.seed_hosts.push_back(url_host(seed));
    return s;
}

task<crawl_result> engine::run() {
    auto opened = db_thread_.submit([this] { return open_state(); });  // store_ is made there
    startup_state start = co_await opened;
    counts_ = start.counts;
    seed_hosts_.insert(start.seed_hosts.begin(), start.seed_hosts.end());
    saved_contents_ = std::move(start.saved_contents);
    for (auto& r : start.pending) (r.kind == url_kind::page ? pages_ : images_).push_back(item_of(r));

    crawl_result result;
    auto ticking = create_task(ticker(), "crawl-progress");
    try {
        co_await dispatch();
    } catch (const cancelled_error&) {
        result.interrupted = true;
    }
    ticking.cancel();
    // Every write made so far reaches the database before the records are read back.
    flush_now_.set();
    if (flushing_) co_await writes_idle_.wait();
    auto records = on_store([](store& db) { return db.all(); });
    result.records = co_await records;
    result.counts = counts_;
    result.counts.active = 0;
    result.failures_by_reason = reasons_;
    result.seconds = elapsed();
    result.fatal_error = fatal_;
    progress(true);
    co_return result;
}

task<void> engine::dispatch() {
    task_group group;
    const std::size_t max_awake = std::max<std::size_t>(2 * o_.jobs, 4);
    // Cancelled (Ctrl-C) while waiting for a change: the workers are cancelled and awaited
    // here, before the cancellation goes on, so none of them unwinds after the engine is gone
    // (a group left without join() only cancels its children).
    std::exception_ptr interrupted;
    try {
        for (;;) {
            bool have_work = !pages_.empty() || !images_.empty();
            if (fatal_.empty() && have_work && awake_ < max_awake) {
                auto& from = pages_.empty() ? images_ : pages_;
                work_item item = std::move(from.front());
                from.pop_front();
                ++running_;
                ++awake_;
                group.create_task(work(std::move(item)));
                continue;
            }
            if (running_ == 0 && (!have_work || !fatal_.empty())) break;
            changed_.clear();
            co_await changed_.wait();
        }
    } catch (const cancelled_error&) {
        interrupted = std::current_exception();
        group.cancel();
    }
    co_await group.join();
    if (interrupted) std::rethrow_exception(interrupted);
}

task<void> engine::ticker() {
    for (;;) {
        progress(false);
        co_await sleep(milliseconds(100));
    }
}

void engine::progress(bool final) {
    if (!observer_.on_progress) return;
    counts_.active = session_.active();
    observer_.on_progress(counts_, elapsed(), final);
}

double engine::elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

host_info& engine::host(const std::string& origin) {
    auto& slot = hosts_[origin];
    if (!slot) slot = std::make_unique<host_info>(o_.delay);
    return *slot;
}

task<void> engine::work(work_item item) {
    struct leave {
        engine* e;
        ~leave() {
            --e->running_;
            --e->awake_;
            e->wake();
        }
    } on_exit{this};
    item.started = std::chrono::steady_clock::now();
    std::optional<failure> crashed;
    try {
        if (!co_await robots_allow(item.url)) {
            refuse_by_robots(item);
        } else if (item.kind == url_kind::page) {
            co_await crawl_page(item);
        } else {
            co_await fetch_image(item);
        }
    } catch (const std::exception& e) {  // one URL's trouble (a name, a file) is not the crawl's
        crashed = failure{.reason = "error", .message = e.what()};
    }
    if (crashed) record(item, url_state::failed, *crashed, 0, "");
}

task<void> engine::pace(const std::string& origin) {
    host_info& h = host(origin);
    event_loop& loop = *event_loop::current();
    auto start = h.pacer.book(loop.time(), random01());
    if (start > loop.time()) co_await sleep(start - loop.time());
}

task<bool> engine::robots_allow(const std::string& url) {
    if (o_.ignore_robots) co_return true;
    url_split parts = split_origin(url);
    host_info& h = host(parts.origin);
    if (!h.robots && h.robots_loading) co_await h.robots_ready.wait();
    if (!h.robots) {
        h.robots_loading = true;
        robots_rules rules = robots_rules::allow_all();
        std::string robots_url = parts.origin + "/robots.txt";
        for (int attempt = 1;; ++attempt) {
            std::optional<failure> failed;
            try {
                co_await pace(parts.origin);
                auto got = session_.get(robots_url);
                http::response r = co_await std::move(got);
                if (r.ok()) {
                    std::string product = o_.user_agent.substr(0, o_.user_agent.find('/'));
                    rules = robots_rules::parse(r.text(), product);
                } else if (r.status() >= 500 || r.status() == 429) {
                    failed = from_status(r);
                }  // other 4xx: no robots.txt, everything allowed
            } catch (const http::error& e) {
                failed = classify(e);
            }
            if (!failed) break;
            if (!failed->transient || attempt > o_.retries) {
                rules = robots_rules::disallow_all();  // RFC 9309 §2.3.1.4: unreachable means disallowed
                std::string_view why = failed->message;
                if (why.starts_with(robots_url + ": ")) why.remove_prefix(robots_url.size() + 2);  // named already
                h.robots_error = robots_url + " unreachable (" + std::string(why) + ")";
                break;
            }
            if (failed->status == 429 || failed->status == 503) host(parts.origin).pacer.throttled(event_loop::current()->time(), failed->retry_after);
            auto wait = std::max(backoff_delay(o_.backoff_base, o_.backoff_cap, attempt, random01()),
                                 failed->retry_after.value_or(milliseconds(0)));
            co_await sleep(wait);
        }
        if (auto delay = rules.crawl_delay()) h.pacer.require_delay(*delay);
        h.robots = std::move(rules);
        h.robots_ready.set();
    }
    co_return h.robots->allowed(parts.path_and_query);
}

// Records a URL robots.txt keeps us from: skipped when the rules say so, failed when
// robots.txt itself could not be read (a host that is down is an error, not a skip).
void engine::refuse_by_robots(const work_item& item) {
    const std::string& unreachable = host(split_origin(item.url).origin).robots_error;
    if (unreachable.empty()) {
        const failure disallowed{.reason = "robots", .message = "disallowed by robots.txt"};
        record(item, url_state::skipped, disallowed, 0, "");
    } else {
        const failure refused{.reason = "robots.txt unreachable", .message = unreachable};
        record(item, url_state::failed, refused, 0, "");
    }
}

// Tells the host's pacer how an attempt went (a 429/503 slows the host down); true when the
// failure is worth another attempt. `last` keeps the failure for the record.
bool engine::settle_attempt(const std::string& origin, int attempt, const std::optional<failure>& failed,
                            failure& last) {
    host_info& h = host(origin);
    if (!failed) {
        h.pacer.succeeded();
        return false;
    }
    if (failed->status == 429 || failed->status == 503) h.pacer.throttled(event_loop::current()->time(), failed->retry_after);
    last = *failed;
    return failed->transient && attempt <= o_.retries && fatal_.empty();
}

task<void> engine::retry_wait(work_item& item, int attempt, const failure& f) {
    auto wait = std::max(backoff_delay(o_.backoff_base, o_.backoff_cap, attempt, random01()),
                         f.retry_after.value_or(milliseconds(0)));
    ++counts_.retries;
    if (observer_.on_retry) observer_.on_retry(item.url, attempt, f.reason, wait);
    write_later([id = item.id, status = f.status, message = f.message](store& db) { db.note_attempt(id, status, message); });
    --awake_;
    wake();
    struct rouse {
        engine* e;
        ~rouse() { ++e->awake_; }
    } on_wake{this};
    co_await sleep(wait);
}

void engine::record(const work_item& item, url_state state, const failure& f, std::uint64_t bytes,
                    std::string_view sha256) {
    bool page = item.kind == url_kind::page;
    switch (state) {
    case url_state::done: (page ? counts_.pages_done : counts_.images_done)++; break;
    case url_state::failed:
        (page ? counts_.pages_failed : counts_.images_failed)++;
        reasons_[f.reason]++;
        break;
    case url_state::skipped:
        if (!page) counts_.images_skipped++;
        reasons_[f.reason]++;
        break;
    case url_state::pending: break;
    }
    url_record r;
    r.id = item.id;
    r.url = item.url;
    r.kind = item.kind;
    r.depth = item.depth;
    r.referer = item.referer;
    r.state = state;
    r.path = item.path;
    r.bytes = bytes;
    r.status = f.status;
    r.reason = f.reason;
    r.error = f.message;
    r.sha256 = sha256;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - item.started).count();
    if (observer_.on_outcome) observer_.on_outcome(r);
    bool requested = item.tries > 0;  // the last attempt (failed ones were noted as they failed)
    write_later([r, requested](store& db) {
        if (requested) db.note_attempt(r.id, r.status, r.error);
        db.finish(r.id, r.state, r.status, r.bytes, r.reason, r.error, r.sha256, r.seconds);
    });
}

void engine::write_later(std::function<void(store&)> op) {
    writes_.push_back(std::move(op));
    if (flushing_) return;
    flushing_ = true;
    writes_idle_.clear();
    flusher_ = create_task(flush_writes(), "crawl-store");
}

task<void> engine::flush_writes() {
    while (!writes_.empty()) {
        if (!flush_now_.is_set()) {
            // Group commit: the writes of a short window go in one transaction.
            try {
                auto window = timeout(commit_window);
                co_await flush_now_.wait();
            } catch (const timeout_error&) {
            }
        }
        auto batch = std::make_shared<std::vector<std::function<void(store&)>>>(std::move(writes_));
        writes_.clear();
        auto committed = on_store([batch](store& db) {
            db.transaction([&] {
                for (auto& op : *batch) op(db);
            });
        });
        std::optional<std::string> failed;
        try {
            co_await std::move(committed);
        } catch (const std::exception& e) {
            failed = e.what();
        }
        if (failed && fatal_.empty()) {
            fatal_ = "cannot record the crawl's state: " + *failed;
            wake();
        }
    }
    flushing_ = false;
    writes_idle_.set();
}

void engine::add_found(const std::vector<std::string>& urls, url_kind kind, int depth,
                       std::vector<std::pair<std::string, int>>& fresh) {
    for (auto& u : urls) {
        std::string key;
        try {
            key = normalize_url(u);
        } catch (const std::invalid_argument&) {
            continue;
        }
        if (kind == url_kind::page && !o_.any_host && !seed_hosts_.count(url_host(key))) continue;
        if (seen_.insert(key).second) fresh.emplace_back(std::move(key), depth);
    }
}

task<void> engine::crawl_page(work_item& item) {
    std::string origin = split_origin(item.url).origin;
    std::shared_ptr<const http::response> page;
    failure last;
    for (int attempt = 1;; ++attempt) {
        co_await pace(origin);
        ++item.tries;
        std::optional<failure> failed;
        try {
            http::request_options ro;
            ro.referer = item.referer;
            auto got = session_.get(item.url, std::move(ro));
            http::response r = co_await std::move(got);
            if (r.ok()) page = std::make_shared<const http::response>(std::move(r));
            else failed = from_status(r);
        } catch (const http::error& e) {
            failed = classify(e);
        }
        if (!settle_attempt(origin, attempt, failed, last)) break;
        co_await retry_wait(item, attempt, *failed);
    }
    if (!page) {
        record(item, url_state::failed, last, 0, "");
        co_return;
    }

    extraction_job job{page, o_.select, item.depth < o_.depth ? o_.follow : std::string(), regex_, match_};
    page_links found;
    std::optional<failure> unparsable;
    try {
        auto extracted = to_thread(std::move(job));
        found = co_await std::move(extracted);
    } catch (const std::exception& e) {
        unparsable = failure{.reason = "unparsable", .message = e.what(), .status = page->status()};
    }
    if (unparsable) {
        record(item, url_state::failed, *unparsable, page->body().size(), "");
        co_return;
    }
    std::vector<std::pair<std::string, int>> new_images, new_pages;
    add_found(found.images, url_kind::image, item.depth, new_images);
    add_found(found.pages, url_kind::page, item.depth + 1, new_pages);
    // The page's finds are committed before the page is marked done (see the file comment).
    std::string referer = page->url();
    // Fresh images get their file names reserved in the same transaction (no store round trip
    // per image later). The lambda owns its data: a cancelled page may not wait for the job.
    auto added = on_store([new_images = std::move(new_images), new_pages = std::move(new_pages), referer,
                           how = o_.file_layout](store& db) {
        std::vector<url_record> out;
        db.transaction([&] {
            auto remember = [&](std::int64_t id, const std::string& url, url_kind kind, int depth) {
                url_record r;
                r.id = id;
                r.url = url;
                r.kind = kind;
                r.depth = depth;
                r.referer = referer;
                if (kind == url_kind::image) {
                    try {
                        r.path = reserve_name(db, id, url, how);
                    } catch (const std::invalid_argument&) {
                        // no usable name: fetch_image tries again and records why
                    }
                }
                out.push_back(std::move(r));
            };
            for (auto& [url, depth] : new_images) {
                if (auto [id, fresh] = db.add(url, url_kind::image, depth, referer); fresh) remember(id, url, url_kind::image, depth);
            }
            for (auto& [url, depth] : new_pages) {
                if (auto [id, fresh] = db.add(url, url_kind::page, depth, referer); fresh) remember(id, url, url_kind::page, depth);
            }
        });
        return out;
    });
    std::vector<url_record> fresh = co_await added;
    for (auto& r : fresh) {
        bool is_page = r.kind == url_kind::page;
        (is_page ? counts_.pages_total : counts_.images_total)++;
        (is_page ? pages_ : images_).push_back(item_of(r));
    }
    wake();
    const failure none{.status = page->status()};
    record(item, url_state::done, none, page->body().size(), "");
}

task<void> engine::fetch_image(work_item& item) {
    if (item.path.empty()) {
        auto reserved = on_store([id = item.id, url = item.url, how = o_.file_layout](store& db) {
            return reserve_name(db, id, url, how);
        });
        item.path = co_await reserved;
    }
    if (!is_confined(item.path)) {  // a guard: local_name never produces such a name
        const failure unsafe{.reason = "bad name", .message = "unsafe file name '" + item.path + "'"};
        record(item, url_state::failed, unsafe, 0, "");
        co_return;
    }
    fsys::path target = o_.out_dir / item.path;
    if (target.has_parent_path() && target.parent_path() != o_.out_dir) {
        auto made = to_thread([dir = target.parent_path()] { fsys::create_directories(dir); });
        co_await made;
    }

    std::string origin = split_origin(item.url).origin;
    std::optional<http::download_result> saved;
    failure last;
    for (int attempt = 1;; ++attempt) {
        co_await pace(origin);
        ++item.tries;
        std::optional<failure> failed;
        try {
            http::request_options ro;
            ro.referer = item.referer;
            http::download_options dopt;
            dopt.resume = true;
            dopt.if_range = item.validator;
            dopt.max_bytes = o_.max_bytes;
            dopt.keep_partial = true;
            dopt.sha256 = true;
            dopt.on_headers = [this, &item](long, const http::header_list& headers) {
                std::string v = http::validator_of(headers);
                if (v == item.validator) return;
                item.validator = v;
                write_later([id = item.id, v](store& db) { db.set_validator(id, v); });
            };
            dopt.on_progress = [this](std::uint64_t n) { counts_.bytes += n; };
            auto got = session_.download(item.url, target, std::move(ro), std::move(dopt));
            saved = co_await std::move(got);
        } catch (const http::error& e) {
            failed = classify(e);
        } catch (const std::system_error& e) {
            failed = failure{.reason = "disk", .message = e.what()};
            if (fatal_io(e) && fatal_.empty()) {
                fatal_ = e.what();
                wake();
            }
        }
        if (!settle_attempt(origin, attempt, failed, last)) break;
        co_await retry_wait(item, attempt, *failed);
    }
    if (!saved) {
        record(item, url_state::failed, last, 0, "");
        co_return;
    }

    const std::string& digest = saved->sha256;
    if (o_.dedup_content) {
        auto [twin, first] = saved_contents_.try_emplace(digest, item.path);
        if (!first && twin->second != item.path) {
            auto removed = to_thread([target] { fsys::remove(target); });
            co_await removed;
            failure dup{.reason = "duplicate", .message = "same content as '" + twin->second + "'", .status = saved->status};
            record(item, url_state::skipped, dup, saved->bytes, digest);
            co_return;
        }
    }
    const failure none{.status = saved->status};
    record(item, url_state::done, none, saved->bytes, digest);
}

task<crawl_result> run_engine(std::unique_ptr<engine> e) { co_return co_await e->run(); }

}  // namespace

void validate(const crawl_options& o) {
    if (o.seeds.empty()) throw std::invalid_argument("no URL to crawl: give URLs, -i FILE or --demo");
    for (auto& seed : o.seeds) {
        try {
            http::validate_url(seed);
        } catch (const http::error& e) {
            throw std::invalid_argument(std::string("bad URL: ") + e.what());
        }
    }
    if (!o.seeds_are_images) {
        if (o.regex.empty()) xpath{o.select};
        if (!o.follow.empty()) xpath{o.follow};
    }
    if (!o.regex.empty()) compile_regex(o.regex);
    if (!o.match.empty()) compile_regex(o.match);
    if (o.jobs == 0) throw std::invalid_argument("-j must be at least 1");
    if (o.per_host == 0) throw std::invalid_argument("--per-host must be at least 1");
    if (o.depth < 0) throw std::invalid_argument("--depth must not be negative");
    if (o.retries < 0) throw std::invalid_argument("--retries must not be negative");
}

task<crawl_result> crawl(crawl_options options, crawl_observer observer) {
    validate(options);
    return run_engine(std::make_unique<engine>(std::move(options), std::move(observer)));
}

}  // namespace weft::crawl
