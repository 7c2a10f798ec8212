// The crawl state store on SQLite: one connection, prepared statements cached per SQL text,
// one implicit transaction per write (WAL + synchronous=NORMAL: a commit is an append to the
// WAL without an fsync, which survives the process being killed; only a power loss may drop
// the last commits, never corrupt the file).
#include <weft/crawl/store.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

#include <array>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <system_error>

namespace weft::crawl {

namespace {

constexpr int schema_version = 1;

// Schema version 1. Kinds and states are stored by name, so the file reads well in the
// sqlite3 shell. `path` is NULL until reserved; UNIQUE ignores NULLs and compares with the
// BINARY collation (case-sensitive).
constexpr const char* schema_sql = R"sql(
CREATE TABLE urls(
    id        INTEGER PRIMARY KEY,
    url       TEXT    NOT NULL UNIQUE,
    kind      TEXT    NOT NULL CHECK (kind IN ('page', 'image')),
    depth     INTEGER NOT NULL,
    referer   TEXT    NOT NULL DEFAULT '',
    state     TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed', 'skipped')),
    path      TEXT    UNIQUE,
    bytes     INTEGER NOT NULL DEFAULT 0,
    status    INTEGER NOT NULL DEFAULT 0,
    attempts  INTEGER NOT NULL DEFAULT 0,
    error     TEXT    NOT NULL DEFAULT '',
    reason    TEXT    NOT NULL DEFAULT '',
    sha256    TEXT    NOT NULL DEFAULT '',
    validator TEXT    NOT NULL DEFAULT '',
    seconds   REAL    NOT NULL DEFAULT 0
);
CREATE INDEX urls_by_state ON urls(state, kind);
CREATE INDEX urls_by_content ON urls(sha256) WHERE sha256 <> '';
CREATE TABLE meta(
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
)sql";

#define WEFT_URL_COLUMNS \
    "id, url, kind, depth, referer, state, path, bytes, status, attempts, error, reason, sha256, validator, seconds"

// Every statement the store runs, prepared once on first use.
enum sql_id : std::size_t {
    sql_insert,
    sql_id_by_url,
    sql_by_id,
    sql_by_url,
    sql_pending,
    sql_all,
    sql_path_of,
    sql_set_path,
    sql_set_validator,
    sql_note_attempt,
    sql_finish,
    sql_reopen,
    sql_find_content,
    sql_set_meta,
    sql_get_meta,
    sql_count,
    sql_begin,
    sql_commit,
    sql_rollback,
    sql_savepoint,
    sql_release,
    sql_rollback_to,
    sql_statement_count
};

constexpr std::array<const char*, sql_statement_count> sql_text{
    "INSERT INTO urls(url, kind, depth, referer) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(url) DO NOTHING",
    "SELECT id FROM urls WHERE url = ?1",
    "SELECT " WEFT_URL_COLUMNS " FROM urls WHERE id = ?1",
    "SELECT " WEFT_URL_COLUMNS " FROM urls WHERE url = ?1",
    "SELECT " WEFT_URL_COLUMNS " FROM urls WHERE state = 'pending' ORDER BY id",
    "SELECT " WEFT_URL_COLUMNS " FROM urls ORDER BY id",
    "SELECT path FROM urls WHERE id = ?1",
    "UPDATE urls SET path = ?1 WHERE id = ?2",
    "UPDATE urls SET validator = ?1 WHERE id = ?2",
    "UPDATE urls SET attempts = attempts + 1, status = ?1, error = ?2 WHERE id = ?3",
    "UPDATE urls SET state = ?1, status = ?2, bytes = ?3, reason = ?4, error = ?5, sha256 = ?6,"
    " seconds = seconds + ?7 WHERE id = ?8",
    "UPDATE urls SET state = 'pending' WHERE id = ?1",
    "SELECT path FROM urls WHERE sha256 = ?1 AND state = 'done' AND path IS NOT NULL ORDER BY id LIMIT 1",
    "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    "SELECT value FROM meta WHERE key = ?1",
    "SELECT count(*) FROM urls WHERE state = ?1 AND kind = ?2",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT weft_nested",
    "RELEASE weft_nested",
    "ROLLBACK TO weft_nested",
};

#undef WEFT_URL_COLUMNS

url_kind kind_from(std::string_view name) {
    if (name == "page") return url_kind::page;
    if (name == "image") return url_kind::image;
    throw std::runtime_error(fmt::format("weft::crawl::store: unknown url kind '{}' in the database", name));
}

url_state state_from(std::string_view name) {
    if (name == "pending") return url_state::pending;
    if (name == "done") return url_state::done;
    if (name == "failed") return url_state::failed;
    if (name == "skipped") return url_state::skipped;
    throw std::runtime_error(fmt::format("weft::crawl::store: unknown url state '{}' in the database", name));
}

// SQLite's message for the connection's last error, with the OS error behind a failed open or
// I/O ("unable to open database file (Not a directory)").
std::string describe(sqlite3* db, int rc) {
    std::string text = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    bool from_os = (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL;
    if (int os = db && from_os ? sqlite3_system_errno(db) : 0; os != 0)
        text += " (" + std::system_category().message(os) + ")";
    return text;
}

}  // namespace

std::string_view to_string(url_kind kind) noexcept {
    return kind == url_kind::page ? "page" : "image";
}

std::string_view to_string(url_state state) noexcept {
    switch (state) {
    case url_state::pending: return "pending";
    case url_state::done: return "done";
    case url_state::failed: return "failed";
    case url_state::skipped: return "skipped";
    }
    return "pending";
}


namespace {

// The SQLite connection with its cached statements, its mutex and its transaction depth.
class connection {
public:
    explicit connection(std::filesystem::path f) : file_(std::move(f)) {}
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection() {
        for (sqlite3_stmt* s : statements_) sqlite3_finalize(s);
        sqlite3_close_v2(db_);
    }

    const std::filesystem::path& file() const noexcept { return file_; }
    sqlite3* db() const noexcept { return db_; }
    std::recursive_mutex& mutex() noexcept { return mutex_; }

    void open();

    [[noreturn]] void fail(std::string_view doing, int rc) const {
        throw std::runtime_error(
            fmt::format("weft::crawl::store: cannot {} '{}': {}", doing, file_.string(), describe(db_, rc)));
    }

    sqlite3_stmt* statement(sql_id which) {
        sqlite3_stmt*& s = statements_[which];
        if (!s) {
            if (int rc = sqlite3_prepare_v3(db_, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
                rc != SQLITE_OK)
                fail("prepare a statement for", rc);
        }
        return s;
    }

    // Takes the mutex and begins a transaction (a savepoint when one is already open).
    void begin();
    // Commits (or rolls back) the innermost transaction and releases the mutex taken by begin().
    // A failed commit rolls back and throws; a rollback never throws.
    void end(bool commit);

private:
    void exec(const char* sql, std::string_view doing) {
        if (int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); rc != SQLITE_OK) fail(doing, rc);
    }
    std::int64_t scalar(const char* sql, std::string_view doing);
    void run(sql_id which, std::string_view doing);
    void roll_back(bool outer) noexcept;

    std::filesystem::path file_;
    sqlite3* db_ = nullptr;
    std::array<sqlite3_stmt*, sql_statement_count> statements_{};
    std::recursive_mutex mutex_;  // recursive: a transaction holds it while its body calls members
    int transaction_depth_ = 0;
};

// One use of a cached statement: binds, steps, reads columns; resets it when done.
class query {
public:
    query(connection& owner, sql_id which) : owner_(owner), s_(owner.statement(which)) {}
    query(const query&) = delete;
    query& operator=(const query&) = delete;
    ~query() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }

    query& bind(int index, std::string_view text) {
        return check(sqlite3_bind_text64(s_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    }
    query& bind(int index, std::int64_t value) { return check(sqlite3_bind_int64(s_, index, value)); }
    query& bind(int index, double value) { return check(sqlite3_bind_double(s_, index, value)); }

    // SQLITE_ROW, SQLITE_DONE or an error code, without throwing.
    int step_code() noexcept { return sqlite3_step(s_); }
    // True for a row, false when done; throws on an error.
    bool step(std::string_view doing) {
        int rc = step_code();
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        owner_.fail(doing, rc);
    }

    bool null(int column) const { return sqlite3_column_type(s_, column) == SQLITE_NULL; }
    std::int64_t integer(int column) const { return sqlite3_column_int64(s_, column); }
    double real(int column) const { return sqlite3_column_double(s_, column); }
    std::string text(int column) const {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(s_, column));
        if (!data) return {};
        return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(s_, column)));
    }

    url_record record() const {
        url_record r;
        r.id = integer(0);
        r.url = text(1);
        r.kind = kind_from(text(2));
        r.depth = static_cast<int>(integer(3));
        r.referer = text(4);
        r.state = state_from(text(5));
        r.path = text(6);
        r.bytes = static_cast<std::uint64_t>(integer(7));
        r.status = static_cast<long>(integer(8));
        r.attempts = static_cast<int>(integer(9));
        r.error = text(10);
        r.reason = text(11);
        r.sha256 = text(12);
        r.validator = text(13);
        r.seconds = real(14);
        return r;
    }

private:
    query& check(int rc) {
        if (rc != SQLITE_OK) owner_.fail("bind a value for", rc);
        return *this;
    }

    connection& owner_;
    sqlite3_stmt* s_;
};

void connection::run(sql_id which, std::string_view doing) {
    query q(*this, which);
    q.step(doing);
}

std::int64_t connection::scalar(const char* sql, std::string_view doing) {
    sqlite3_stmt* s = nullptr;
    if (int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr); rc != SQLITE_OK) fail(doing, rc);
    int rc = sqlite3_step(s);
    std::int64_t value = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(doing, rc);
    return value;
}

void connection::open() {
    int rc = sqlite3_open_v2(file_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) fail("open", rc);
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode = WAL", "open");
    exec("PRAGMA synchronous = NORMAL", "open");

    std::int64_t version = scalar("PRAGMA user_version", "open");
    if (version == 0) {
        // Another process may be creating the schema right now: decide inside the write lock.
        begin();
        try {
            version = scalar("PRAGMA user_version", "open");
            if (version == 0) {
                if (scalar("SELECT count(*) FROM sqlite_schema", "open") != 0)
                    throw std::runtime_error(fmt::format("weft::crawl::store: cannot open '{}': it is a database of "
                                                         "something else, not weft's crawl state",
                                                         file_.string()));
                exec(schema_sql, "create the schema in");
                exec(fmt::format("PRAGMA user_version = {}", schema_version).c_str(), "create the schema in");
                version = schema_version;
            }
        } catch (...) {
            end(false);
            throw;
        }
        end(true);
    }
    if (version != schema_version)
        throw std::runtime_error(fmt::format("weft::crawl::store: cannot open '{}': unknown schema version {} "
                                             "(this weft knows version {}; made by another weft version?)",
                                             file_.string(), version, schema_version));
}

void connection::begin() {
    mutex_.lock();
    try {
        run(transaction_depth_ == 0 ? sql_begin : sql_savepoint, "begin a transaction in");
    } catch (...) {
        mutex_.unlock();
        throw;
    }
    ++transaction_depth_;
}

void connection::end(bool commit) {
    std::unique_lock lock(mutex_, std::adopt_lock);
    --transaction_depth_;
    bool outer = transaction_depth_ == 0;
    if (commit) {
        try {
            run(outer ? sql_commit : sql_release, "commit a transaction in");
            return;
        } catch (...) {
            roll_back(outer);
            throw;
        }
    }
    roll_back(outer);
}

void connection::roll_back(bool outer) noexcept {
    // Each step may fail harmlessly, e.g. when SQLite already rolled back by itself after SQLITE_FULL.
    auto run_quietly = [this](sql_id which) noexcept {
        try {
            query q(*this, which);
            q.step_code();
        } catch (...) {
        }
    };
    if (outer) {
        run_quietly(sql_rollback);
    } else {
        run_quietly(sql_rollback_to);
        run_quietly(sql_release);
    }
}

// A transaction for the store's own multi-statement operations (a savepoint when nested).
class scoped_transaction {
public:
    explicit scoped_transaction(connection& owner) : owner_(owner) { owner_.begin(); }
    scoped_transaction(const scoped_transaction&) = delete;
    scoped_transaction& operator=(const scoped_transaction&) = delete;
    ~scoped_transaction() {
        if (!ended_) owner_.end(false);
    }
    void commit() {
        ended_ = true;
        owner_.end(true);
    }

private:
    connection& owner_;
    bool ended_ = false;
};

std::vector<url_record> rows(connection& c, sql_id which) {
    std::vector<url_record> out;
    query q(c, which);
    while (q.step("read")) out.push_back(q.record());
    return out;
}

std::optional<url_record> one_row(query& q) {
    if (!q.step("read")) return std::nullopt;
    return q.record();
}

[[noreturn]] void no_record(const connection& c, std::int64_t id) {
    throw std::out_of_range(fmt::format("weft::crawl::store: no record with id {} in '{}'", id, c.file().string()));
}

// Runs an UPDATE of one record; an id with no record throws.
void update_one(connection& c, query& q, std::int64_t id, std::string_view doing) {
    q.step(doing);
    if (sqlite3_changes(c.db()) == 0) no_record(c, id);
}

std::int64_t to_int64(std::uint64_t bytes) {
    if (bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw std::invalid_argument(fmt::format("weft::crawl::store: byte count {} is too large to record", bytes));
    return static_cast<std::int64_t>(bytes);
}

constexpr int max_proposals = 100000;

}  // namespace

struct store::impl : connection {
    using connection::connection;
};

store::store(std::filesystem::path db_file) : impl_(std::make_unique<impl>(std::move(db_file))) {
    impl_->open();
}

store::~store() = default;
store::store(store&&) noexcept = default;
store& store::operator=(store&&) noexcept = default;

const std::filesystem::path& store::file() const noexcept {
    return impl_->file();
}

std::pair<std::int64_t, bool> store::add(const std::string& url, url_kind kind, int depth, const std::string& referer) {
    std::lock_guard lock(impl_->mutex());
    {
        query q(*impl_, sql_insert);
        q.bind(1, url).bind(2, to_string(kind)).bind(3, std::int64_t{depth}).bind(4, referer);
        q.step("add a URL to");
        if (sqlite3_changes(impl_->db()) == 1) return {sqlite3_last_insert_rowid(impl_->db()), true};
    }
    query q(*impl_, sql_id_by_url);
    q.bind(1, url);
    if (!q.step("read"))
        throw std::runtime_error(fmt::format("weft::crawl::store: '{}' vanished from '{}' while being added", url,
                                             impl_->file().string()));
    return {q.integer(0), false};
}

std::optional<url_record> store::find(std::int64_t id) const {
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_by_id);
    q.bind(1, id);
    return one_row(q);
}

std::optional<url_record> store::find(const std::string& url) const {
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_by_url);
    q.bind(1, url);
    return one_row(q);
}

std::vector<url_record> store::pending() const {
    std::lock_guard lock(impl_->mutex());
    return rows(*impl_, sql_pending);
}

std::vector<url_record> store::all() const {
    std::lock_guard lock(impl_->mutex());
    return rows(*impl_, sql_all);
}

std::string store::reserve_path(std::int64_t id, const std::function<std::string(int)>& propose) {
    scoped_transaction tx(*impl_);  // holds the mutex
    {
        query q(*impl_, sql_path_of);
        q.bind(1, id);
        if (!q.step("read")) no_record(*impl_, id);
        if (!q.null(0)) return q.text(0);
    }
    for (int n = 0; n < max_proposals; ++n) {
        std::string name = propose(n);
        if (name.empty())
            throw std::invalid_argument(
                fmt::format("weft::crawl::store: reserve_path: proposal {} for record {} is an empty path", n, id));
        int rc = 0;
        {
            query q(*impl_, sql_set_path);  // reset before the commit releases the mutex
            q.bind(1, name).bind(2, id);
            rc = q.step_code();
        }
        if (rc == SQLITE_DONE) {
            tx.commit();
            return name;
        }
        if (rc != SQLITE_CONSTRAINT_UNIQUE) impl_->fail("reserve a path in", rc);
    }
    throw std::invalid_argument(fmt::format(
        "weft::crawl::store: reserve_path: {} proposals for record {} were all taken", max_proposals, id));
}

void store::set_validator(std::int64_t id, const std::string& validator) {
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_set_validator);
    q.bind(1, validator).bind(2, id);
    update_one(*impl_, q, id, "record a validator in");
}

void store::note_attempt(std::int64_t id, long status, const std::string& error) {
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_note_attempt);
    q.bind(1, std::int64_t{status}).bind(2, error).bind(3, id);
    update_one(*impl_, q, id, "record an attempt in");
}

void store::finish(std::int64_t id, url_state state, long status, std::uint64_t bytes, const std::string& reason,
                   const std::string& error, const std::string& sha256, double seconds) {
    if (state == url_state::pending)
        throw std::invalid_argument(
            fmt::format("weft::crawl::store: finish: record {} cannot finish as 'pending' (use reopen)", id));
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_finish);
    q.bind(1, to_string(state)).bind(2, std::int64_t{status}).bind(3, to_int64(bytes));
    q.bind(4, reason).bind(5, error).bind(6, sha256).bind(7, seconds).bind(8, id);
    update_one(*impl_, q, id, "record an outcome in");
}

void store::reopen(std::int64_t id) {
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_reopen);
    q.bind(1, id);
    update_one(*impl_, q, id, "reopen a record in");
}

std::optional<std::string> store::find_content(const std::string& sha256) const {
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_find_content);
    q.bind(1, sha256);
    if (!q.step("read")) return std::nullopt;
    return q.text(0);
}

void store::set_meta(const std::string& key, const std::string& value) {
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_set_meta);
    q.bind(1, key).bind(2, value);
    q.step("record a crawl fact in");
}

std::optional<std::string> store::meta(const std::string& key) const {
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_get_meta);
    q.bind(1, key);
    if (!q.step("read")) return std::nullopt;
    return q.text(0);
}

std::size_t store::count(url_kind kind, url_state state) const {
    std::lock_guard lock(impl_->mutex());
    query q(*impl_, sql_count);
    q.bind(1, to_string(state)).bind(2, to_string(kind));
    q.step("count records in");
    return static_cast<std::size_t>(q.integer(0));
}

void store::begin_transaction() {
    impl_->begin();
}

void store::end_transaction(bool commit) {
    impl_->end(commit);
}

}  // namespace weft::crawl
