#pragma once
/// \file
/// `weft::crawl::store`: the crawler's crash-safe state — every URL seen, its outcome, the file
/// path reserved for it, and a few crawl-level facts — in one SQLite database (WAL journal).
///
/// Each write is its own SQLite transaction (or part of a batch made with `transaction`), so a
/// process killed at any moment — Ctrl-C, `kill -9`, a crash — leaves a database that opens and
/// holds every write that returned. A rerun opens the same file and continues with `pending()`.
///
/// Example:
/// \code
///   weft::crawl::store db{"imgs/.weft-crawl.db"};
///   auto [id, is_new] = db.add("https://example.org/a.jpg", weft::crawl::url_kind::image, 1,
///                              "https://example.org/index.html");
///   std::string file = db.reserve_path(id, [](int n) { return n == 0 ? "a.jpg" : fmt::format("a-{}.jpg", n); });
///   db.finish(id, weft::crawl::url_state::done, 200, 4096, "", "", sha256_hex, 0.25);
///   for (const auto& r : db.pending()) schedule(r);   // after a restart: what is left to do
/// \endcode
///
/// *Throws:* `std::runtime_error` naming the database file and SQLite's message when SQLite
/// fails (unwritable directory, not a database, disk full, ...); `std::out_of_range` for an id
/// that has no record; `std::invalid_argument` for arguments the store cannot record.
/// *Cancellation:* every member is a short blocking call (SQLite on the local disk); from the
/// event loop, call it on a dedicated thread or through `weft::to_thread`.
/// *Thread-safety:* every member may be called from any thread; calls are serialized by an
/// internal mutex. Several processes may open the same file (SQLite's own locking; a busy
/// database is waited for up to 5 s). After `fork()`, the child must open its own `store`.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::crawl {

/// What a URL is to the crawler: a page to parse for more URLs, or an image to save.
///
/// Example: `db.add(url, weft::crawl::url_kind::page, 0, "");`
enum class url_kind { page, image };

/// Where a URL stands: still to do, saved/parsed, given up on, or deliberately not fetched
/// (`skipped`: disallowed by robots.txt, duplicate content, filtered out).
///
/// Example: `if (db.find(id)->state == weft::crawl::url_state::done) continue;`
enum class url_state { pending, done, failed, skipped };

/// The kind's name: "page" or "image" (as stored in the database and shown in reports).
///
/// Example: `fmt::print("{}\n", weft::crawl::to_string(weft::crawl::url_kind::image));  // image`
std::string_view to_string(url_kind kind) noexcept;

/// The state's name: "pending", "done", "failed" or "skipped".
///
/// Example: `json["outcome"] = std::string(weft::crawl::to_string(record.state));`
std::string_view to_string(url_state state) noexcept;

/// One URL's row in the store (a plain value; a copy, not a live view).
///
/// Example: `if (auto r = db.find(url); r && r->state == weft::crawl::url_state::failed) log(r->error);`
struct url_record {
    std::int64_t id = 0;
    std::string url;            ///< normalized absolute URL (the dedup key; unique)
    url_kind kind = url_kind::image;
    int depth = 0;
    std::string referer;        ///< the page it was found on ("" for seeds)
    url_state state = url_state::pending;
    std::string path;           ///< reserved relative file path ("" until reserved; images)
    std::uint64_t bytes = 0;
    long status = 0;            ///< last HTTP status (0: none yet)
    int attempts = 0;
    std::string error;          ///< last error text ("" when none)
    std::string reason;         ///< short failure class for the summary: "404", "timeout", "robots", ...
    std::string sha256;         ///< of the saved content (images; "" when none)
    std::string validator;      ///< ETag or Last-Modified of a partial download, for If-Range
    double seconds = 0;         ///< time spent on it, all attempts of all runs
};

/// The crawl state database (see the file comment). Move-only; a moved-from store may only be
/// destroyed or assigned to.
///
/// Example:
/// \code
///   weft::crawl::store db{dir / ".weft-crawl.db"};
///   db.transaction([&] { for (auto& u : seeds) db.add(u, weft::crawl::url_kind::page, 0, ""); });
///   std::size_t left = db.count(weft::crawl::url_kind::image, weft::crawl::url_state::pending);
/// \endcode
class store {
public:
    /// Opens `db_file`, creating it (and its schema) if missing: journal_mode=WAL,
    /// synchronous=NORMAL, busy_timeout 5 s, schema version kept in `PRAGMA user_version`. The
    /// directory must exist.
    ///
    /// *Throws:* `std::runtime_error` naming the file and SQLite's message: the directory is
    /// missing or unwritable, the file is not a database, or a database of something else or of
    /// a newer schema version.
    /// Example: `weft::crawl::store db{"imgs/.weft-crawl.db"};`
    explicit store(std::filesystem::path db_file);
    /// Closes the database (every write already returned is on disk for any later opener).
    ///
    /// Example: `{ weft::crawl::store db{file}; db.set_meta("k", "v"); }  // closed; reopen later`
    ~store();
    /// Takes over `other`'s database; `other` may then only be destroyed or assigned to.
    ///
    /// Example: `std::optional<weft::crawl::store> db; db.emplace(std::move(opened));`
    store(store&& other) noexcept;
    /// Closes this store's database and takes over `other`'s.
    ///
    /// Example: `db = weft::crawl::store{other_file};`
    store& operator=(store&& other) noexcept;
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    /// The database file this store was opened on.
    ///
    /// Example: `spdlog::info("state in {}", db.file().string());`
    const std::filesystem::path& file() const noexcept;

    /// Adds `url` unless already present: `{id, true}` when new (state pending), `{existing id,
    /// false}` otherwise (the existing record is not changed).
    ///
    /// Example: `if (auto [id, fresh] = db.add(u, url_kind::image, d + 1, page); fresh) queue.push(id);`
    std::pair<std::int64_t, bool> add(const std::string& url, url_kind kind, int depth, const std::string& referer);

    /// The record with this id, or nullopt.
    ///
    /// Example: `auto r = db.find(id).value();`
    std::optional<url_record> find(std::int64_t id) const;
    /// The record with this (normalized) URL, or nullopt.
    ///
    /// Example: `bool seen = db.find("https://example.org/a.jpg").has_value();`
    std::optional<url_record> find(const std::string& url) const;

    /// Records still pending, in insertion order (what a resumed crawl must still do).
    ///
    /// Example: `for (const auto& r : db.pending()) schedule(r.id, r.url, r.kind);`
    std::vector<url_record> pending() const;
    /// Every record in insertion order (report, summary).
    ///
    /// Example: `for (const auto& r : db.all()) report.push_back(to_json(r));`
    std::vector<url_record> all() const;

    /// Reserves a unique relative path for record `id` (used for images): if the record already
    /// has one, returns it (a resumed crawl gets the same file); otherwise tries `propose(0)`,
    /// `propose(1)`, ... until one is not used by another record (compared case-sensitively),
    /// stores it and returns it. `propose` runs with the store's mutex held: it must not call the
    /// store from another thread and wait for it.
    ///
    /// *Throws:* `std::out_of_range` for an unknown id; `std::invalid_argument` if `propose`
    /// returns "" or has proposed 100000 names without a free one; whatever `propose` throws.
    /// Example: `auto p = db.reserve_path(id, [&](int n) { return n ? fmt::format("{}-{}{}", stem, n, ext) : name; });`
    std::string reserve_path(std::int64_t id, const std::function<std::string(int)>& propose);

    /// Remembers the ETag or Last-Modified of a partially downloaded file (for If-Range).
    ///
    /// *Throws:* `std::out_of_range` for an unknown id.
    /// Example: `db.set_validator(id, response_headers.get("etag").value_or(""));`
    void set_validator(std::int64_t id, const std::string& validator);

    /// Counts one more attempt (attempts += 1), remembering the status and error of the one
    /// that failed. `finish` leaves `attempts` as it is.
    ///
    /// *Throws:* `std::out_of_range` for an unknown id.
    /// Example: `db.note_attempt(id, 503, "Service Unavailable");  // then retry after a backoff`
    void note_attempt(std::int64_t id, long status, const std::string& error);

    /// Records the final outcome: state (not pending: see `reopen`), status, bytes, reason,
    /// error, sha256; `seconds` is added to the time already recorded for this URL.
    ///
    /// *Throws:* `std::out_of_range` for an unknown id; `std::invalid_argument` for
    /// `url_state::pending`.
    /// Example: `db.finish(id, url_state::failed, 404, 0, "404", "Not Found", "", 0.1);`
    void finish(std::int64_t id, url_state state, long status, std::uint64_t bytes, const std::string& reason,
                const std::string& error, const std::string& sha256, double seconds);

    /// Puts a record back to pending (a parked transfer after Ctrl-C, or `--retry-failed`).
    /// Only the state changes: path, validator, attempts and the last error are kept.
    ///
    /// *Throws:* `std::out_of_range` for an unknown id.
    /// Example: `for (auto& r : db.all()) if (r.state == url_state::failed) db.reopen(r.id);`
    void reopen(std::int64_t id);

    /// The path of a saved image (state done) with this SHA-256, if any (the earliest one).
    ///
    /// Example:
    /// \code
    ///   if (auto same = db.find_content(hash))
    ///       db.finish(id, url_state::skipped, 200, 0, "duplicate", "same as " + *same, hash, t);
    /// \endcode
    std::optional<std::string> find_content(const std::string& sha256) const;

    /// Sets a crawl-level fact (seeds, options), replacing an earlier value.
    ///
    /// Example: `db.set_meta("select", "//img/@src");`
    void set_meta(const std::string& key, const std::string& value);
    /// A crawl-level fact, or nullopt if never set.
    ///
    /// Example: `if (db.meta("select").value_or(xpath) != xpath) warn_options_changed();`
    std::optional<std::string> meta(const std::string& key) const;

    /// How many records have this kind and state.
    ///
    /// Example: `auto saved = db.count(url_kind::image, url_state::done);`
    std::size_t count(url_kind kind, url_state state) const;

    /// Runs `f()` as one transaction (BEGIN IMMEDIATE ... COMMIT): all of its writes land
    /// together or, if `f` throws (anything, `weft::cancelled_error` included), none do and the
    /// exception propagates. Batches many adds into one disk sync. The store's mutex is held for
    /// the whole call, so other threads' calls wait; `f` may call this store's members (including
    /// a nested `transaction`, which then is a savepoint inside the outer one).
    ///
    /// *Throws:* what `f` throws; `std::runtime_error` if SQLite cannot begin or commit.
    /// Example: `db.transaction([&] { for (auto& u : found) db.add(u, url_kind::image, d, page); });`
    template <class F>
    void transaction(F&& f) {
        begin_transaction();
        try {
            std::forward<F>(f)();
        } catch (...) {
            end_transaction(false);
            throw;
        }
        end_transaction(true);
    }

private:
    struct impl;

    void begin_transaction();
    void end_transaction(bool commit);

    std::unique_ptr<impl> impl_;
};

}  // namespace weft::crawl
