// The crawl state store: dedup, order, path reservation, outcomes, content dedup, meta, counts,
// persistence across reopen, clear errors, transactions, kill -9 safety and threads.
#include <weft/crawl/store.hpp>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using weft::crawl::store;
using weft::crawl::url_kind;
using weft::crawl::url_record;
using weft::crawl::url_state;

namespace {

class CrawlStore : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = std::filesystem::temp_directory_path() /
               ("weft_store_" + std::to_string(::getpid()) + "_" + test->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::filesystem::path db_file() const { return dir_ / "state.db"; }

    std::filesystem::path dir_;
};

std::string numbered(const std::string& stem, int n) {
    return n == 0 ? stem + ".jpg" : stem + "-" + std::to_string(n) + ".jpg";
}

std::string image_url(int i) {
    return "http://127.0.0.1/img/" + std::to_string(i) + ".jpg";
}

// Runs SQL on a database file directly, as another program would.
void run_sql(const std::filesystem::path& file, const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}

}  // namespace

TEST(CrawlStoreNames, ToString) {
    EXPECT_EQ(weft::crawl::to_string(url_kind::page), "page");
    EXPECT_EQ(weft::crawl::to_string(url_kind::image), "image");
    EXPECT_EQ(weft::crawl::to_string(url_state::pending), "pending");
    EXPECT_EQ(weft::crawl::to_string(url_state::done), "done");
    EXPECT_EQ(weft::crawl::to_string(url_state::failed), "failed");
    EXPECT_EQ(weft::crawl::to_string(url_state::skipped), "skipped");
}

TEST_F(CrawlStore, AddDeduplicatesAndFinds) {
    store db(db_file());
    EXPECT_EQ(db.file(), db_file());
    auto [page, page_new] = db.add("http://127.0.0.1/index.html", url_kind::page, 0, "");
    auto [img, img_new] = db.add(image_url(1), url_kind::image, 1, "http://127.0.0.1/index.html");
    EXPECT_TRUE(page_new);
    EXPECT_TRUE(img_new);
    EXPECT_NE(page, img);

    auto [again, again_new] = db.add(image_url(1), url_kind::page, 7, "http://elsewhere/");
    EXPECT_EQ(again, img);
    EXPECT_FALSE(again_new);

    auto r = db.find(img);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, img);
    EXPECT_EQ(r->url, image_url(1));
    EXPECT_EQ(r->kind, url_kind::image);  // the second add changed nothing
    EXPECT_EQ(r->depth, 1);
    EXPECT_EQ(r->referer, "http://127.0.0.1/index.html");
    EXPECT_EQ(r->state, url_state::pending);
    EXPECT_EQ(r->path, "");
    EXPECT_EQ(r->bytes, 0u);
    EXPECT_EQ(r->status, 0);
    EXPECT_EQ(r->attempts, 0);
    EXPECT_EQ(r->error, "");
    EXPECT_EQ(r->reason, "");
    EXPECT_EQ(r->sha256, "");
    EXPECT_EQ(r->validator, "");
    EXPECT_EQ(r->seconds, 0.0);

    auto by_url = db.find("http://127.0.0.1/index.html");
    ASSERT_TRUE(by_url);
    EXPECT_EQ(by_url->id, page);
    EXPECT_EQ(by_url->kind, url_kind::page);
    EXPECT_FALSE(db.find(std::int64_t{999}));
    EXPECT_FALSE(db.find("http://127.0.0.1/never"));
    EXPECT_FALSE(db.find(std::string("HTTP://127.0.0.1/index.html")));  // the key is the string as given
}

TEST_F(CrawlStore, PendingAndAllKeepInsertionOrder) {
    store db(db_file());
    std::vector<std::int64_t> ids;
    for (int i : {5, 3, 9, 1, 7}) ids.push_back(db.add(image_url(i), url_kind::image, 1, "").first);
    db.finish(ids[1], url_state::done, 200, 10, "", "", "", 0);
    db.finish(ids[3], url_state::skipped, 0, 0, "robots", "", "", 0);

    std::vector<std::string> pending;
    for (const auto& r : db.pending()) pending.push_back(r.url);
    EXPECT_EQ(pending, (std::vector<std::string>{image_url(5), image_url(9), image_url(7)}));

    std::vector<std::int64_t> all;
    for (const auto& r : db.all()) all.push_back(r.id);
    EXPECT_EQ(all, ids);
}

TEST_F(CrawlStore, ReservePathMakesNamesUnique) {
    store db(db_file());
    auto a = db.add(image_url(1), url_kind::image, 1, "").first;
    auto b = db.add(image_url(2), url_kind::image, 1, "").first;
    auto c = db.add(image_url(3), url_kind::image, 1, "").first;
    auto d = db.add(image_url(4), url_kind::image, 1, "").first;

    std::vector<int> asked;
    auto propose = [&](int n) {
        asked.push_back(n);
        return numbered("photo", n);
    };
    EXPECT_EQ(db.reserve_path(a, propose), "photo.jpg");
    EXPECT_EQ(asked, std::vector<int>{0});
    asked.clear();
    EXPECT_EQ(db.reserve_path(b, propose), "photo-1.jpg");  // same proposals, next free name
    EXPECT_EQ(asked, (std::vector<int>{0, 1}));
    asked.clear();
    EXPECT_EQ(db.reserve_path(a, propose), "photo.jpg");  // already reserved: kept, nothing proposed
    EXPECT_TRUE(asked.empty());
    EXPECT_EQ(db.reserve_path(c, [](int n) { return numbered("Photo", n); }), "Photo.jpg");  // case-sensitive
    EXPECT_EQ(db.reserve_path(d, propose), "photo-2.jpg");
    EXPECT_EQ(db.find(b)->path, "photo-1.jpg");
}

TEST_F(CrawlStore, ReservePathErrorsLeaveNothingReserved) {
    store db(db_file());
    auto a = db.add(image_url(1), url_kind::image, 1, "").first;
    EXPECT_THROW(db.reserve_path(a, [](int) { return std::string(); }), std::invalid_argument);
    EXPECT_THROW(db.reserve_path(a, [](int) -> std::string { throw std::runtime_error("disk gone"); }),
                 std::runtime_error);
    EXPECT_EQ(db.find(a)->path, "");
    EXPECT_THROW(db.reserve_path(4242, [](int n) { return numbered("x", n); }), std::out_of_range);
    // The store is still usable (its mutex and transaction were released).
    EXPECT_EQ(db.reserve_path(a, [](int n) { return numbered("x", n); }), "x.jpg");
}

TEST_F(CrawlStore, AttemptsValidatorFinishAndReopen) {
    store db(db_file());
    auto id = db.add(image_url(1), url_kind::image, 2, "http://127.0.0.1/p").first;
    db.set_validator(id, "\"etag-1\"");
    db.note_attempt(id, 503, "Service Unavailable");
    db.note_attempt(id, 0, "Connection reset by peer");
    auto r = db.find(id);
    EXPECT_EQ(r->validator, "\"etag-1\"");
    EXPECT_EQ(r->attempts, 2);
    EXPECT_EQ(r->status, 0);
    EXPECT_EQ(r->error, "Connection reset by peer");
    EXPECT_EQ(r->state, url_state::pending);

    db.finish(id, url_state::failed, 404, 0, "404", "Not Found", "", 1.5);
    r = db.find(id);
    EXPECT_EQ(r->state, url_state::failed);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->reason, "404");
    EXPECT_EQ(r->error, "Not Found");
    EXPECT_EQ(r->attempts, 2);  // finish does not count an attempt
    EXPECT_DOUBLE_EQ(r->seconds, 1.5);

    db.reopen(id);
    r = db.find(id);
    EXPECT_EQ(r->state, url_state::pending);
    EXPECT_EQ(r->validator, "\"etag-1\"");  // a parked transfer keeps what it needs to resume
    EXPECT_EQ(r->attempts, 2);
    EXPECT_EQ(r->error, "Not Found");

    const std::string hash(64, 'a');
    db.finish(id, url_state::done, 200, 123456789012ull, "", "", hash, 0.25);
    r = db.find(id);
    EXPECT_EQ(r->state, url_state::done);
    EXPECT_EQ(r->bytes, 123456789012ull);
    EXPECT_EQ(r->sha256, hash);
    EXPECT_EQ(r->error, "");
    EXPECT_EQ(r->reason, "");
    EXPECT_DOUBLE_EQ(r->seconds, 1.75);  // time of every run adds up

    EXPECT_THROW(db.finish(id, url_state::pending, 0, 0, "", "", "", 0), std::invalid_argument);
    EXPECT_THROW(db.finish(id, url_state::done, 200, ~0ull, "", "", "", 0), std::invalid_argument);
    EXPECT_THROW(db.finish(77, url_state::done, 200, 1, "", "", "", 0), std::out_of_range);
    EXPECT_THROW(db.note_attempt(77, 0, ""), std::out_of_range);
    EXPECT_THROW(db.set_validator(77, "x"), std::out_of_range);
    EXPECT_THROW(db.reopen(77), std::out_of_range);
    EXPECT_NE(error_of([&] { db.reopen(77); }).find("77"), std::string::npos);
}

TEST_F(CrawlStore, FindContentOnlyFindsSavedImages) {
    store db(db_file());
    const std::string x(64, 'x'), y(64, 'y'), z(64, 'z');
    auto first = db.add(image_url(1), url_kind::image, 1, "").first;
    auto second = db.add(image_url(2), url_kind::image, 1, "").first;
    auto failed = db.add(image_url(3), url_kind::image, 1, "").first;
    auto pathless = db.add(image_url(4), url_kind::image, 1, "").first;
    db.reserve_path(first, [](int n) { return numbered("a", n); });
    db.reserve_path(second, [](int n) { return numbered("b", n); });
    db.reserve_path(failed, [](int n) { return numbered("c", n); });
    db.finish(second, url_state::done, 200, 3, "", "", x, 0);
    db.finish(first, url_state::done, 200, 3, "", "", x, 0);
    db.finish(failed, url_state::failed, 200, 3, "size", "too short", y, 0);
    db.finish(pathless, url_state::done, 200, 3, "", "", z, 0);

    EXPECT_EQ(db.find_content(x), "a.jpg");  // the earliest record
    EXPECT_EQ(db.find_content(y), std::nullopt);
    EXPECT_EQ(db.find_content(z), std::nullopt);
    EXPECT_EQ(db.find_content(std::string(64, '0')), std::nullopt);
    EXPECT_EQ(db.find_content(""), std::nullopt);
}

TEST_F(CrawlStore, Meta) {
    store db(db_file());
    EXPECT_EQ(db.meta("seeds"), std::nullopt);
    db.set_meta("seeds", "http://127.0.0.1/index_[2-5].html");
    db.set_meta("select", "//img/@src");
    EXPECT_EQ(db.meta("seeds"), "http://127.0.0.1/index_[2-5].html");
    db.set_meta("seeds", "");
    EXPECT_EQ(db.meta("seeds"), "");
    EXPECT_EQ(db.meta("select"), "//img/@src");
}

TEST_F(CrawlStore, CountsByKindAndState) {
    store db(db_file());
    for (int i = 0; i < 3; ++i) db.add("http://127.0.0.1/page" + std::to_string(i), url_kind::page, 0, "");
    std::vector<std::int64_t> images;
    for (int i = 0; i < 6; ++i) images.push_back(db.add(image_url(i), url_kind::image, 1, "").first);
    db.finish(images[0], url_state::done, 200, 1, "", "", "", 0);
    db.finish(images[1], url_state::done, 200, 1, "", "", "", 0);
    db.finish(images[2], url_state::failed, 404, 0, "404", "", "", 0);
    db.finish(images[3], url_state::skipped, 0, 0, "duplicate", "", "", 0);

    EXPECT_EQ(db.count(url_kind::page, url_state::pending), 3u);
    EXPECT_EQ(db.count(url_kind::page, url_state::done), 0u);
    EXPECT_EQ(db.count(url_kind::image, url_state::pending), 2u);
    EXPECT_EQ(db.count(url_kind::image, url_state::done), 2u);
    EXPECT_EQ(db.count(url_kind::image, url_state::failed), 1u);
    EXPECT_EQ(db.count(url_kind::image, url_state::skipped), 1u);
}

TEST_F(CrawlStore, ReopeningKeepsEverything) {
    std::vector<url_record> before;
    {
        store db(db_file());
        auto page = db.add("http://127.0.0.1/", url_kind::page, 0, "").first;
        db.finish(page, url_state::done, 200, 900, "", "", "", 0.5);
        auto img = db.add(image_url(1), url_kind::image, 1, "http://127.0.0.1/").first;
        db.reserve_path(img, [](int n) { return numbered("one", n); });
        db.set_validator(img, "W/\"v\"");
        db.note_attempt(img, 0, "Operation timed out");
        db.add(image_url(2), url_kind::image, 1, "http://127.0.0.1/");
        db.set_meta("options", "{\"j\":16}");
        before = db.all();
    }
    store db(db_file());
    auto after = db.all();
    ASSERT_EQ(after.size(), before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
        const auto &x = before[i], &y = after[i];
        EXPECT_EQ(x.id, y.id);
        EXPECT_EQ(x.url, y.url);
        EXPECT_EQ(x.kind, y.kind);
        EXPECT_EQ(x.depth, y.depth);
        EXPECT_EQ(x.referer, y.referer);
        EXPECT_EQ(x.state, y.state);
        EXPECT_EQ(x.path, y.path);
        EXPECT_EQ(x.bytes, y.bytes);
        EXPECT_EQ(x.status, y.status);
        EXPECT_EQ(x.attempts, y.attempts);
        EXPECT_EQ(x.error, y.error);
        EXPECT_EQ(x.reason, y.reason);
        EXPECT_EQ(x.sha256, y.sha256);
        EXPECT_EQ(x.validator, y.validator);
        EXPECT_EQ(x.seconds, y.seconds);
    }
    EXPECT_EQ(db.meta("options"), "{\"j\":16}");
    EXPECT_FALSE(db.add(image_url(1), url_kind::image, 1, "").second);
    EXPECT_EQ(db.pending().size(), 2u);
    EXPECT_EQ(db.reserve_path(after[1].id, [](int n) { return numbered("other", n); }), "one.jpg");
}

TEST_F(CrawlStore, TwoStoresOnOneFileSeeEachOther) {
    store a(db_file());
    store b(db_file());
    auto id = a.add(image_url(1), url_kind::image, 1, "").first;
    EXPECT_EQ(b.add(image_url(1), url_kind::image, 1, "").first, id);
    b.reserve_path(id, [](int n) { return numbered("p", n); });
    auto other = a.add(image_url(2), url_kind::image, 1, "").first;
    EXPECT_EQ(a.reserve_path(other, [](int n) { return numbered("p", n); }), "p-1.jpg");
}

TEST_F(CrawlStore, MoveKeepsTheDatabase) {
    store a(db_file());
    a.add(image_url(1), url_kind::image, 1, "");
    store b(std::move(a));
    EXPECT_TRUE(b.find(image_url(1)));
    store c(dir_ / "other.db");
    c = std::move(b);
    EXPECT_EQ(c.file(), db_file());
    EXPECT_EQ(c.all().size(), 1u);
}

TEST_F(CrawlStore, TransactionCommitsTogetherOrNotAtAll) {
    store db(db_file());
    db.transaction([&] {
        for (int i = 0; i < 100; ++i) db.add(image_url(i), url_kind::image, 1, "");
    });
    EXPECT_EQ(db.all().size(), 100u);

    EXPECT_THROW(db.transaction([&] {
        db.add(image_url(500), url_kind::image, 1, "");
        db.set_meta("half", "done");
        throw std::runtime_error("stop");
    }),
                 std::runtime_error);
    EXPECT_FALSE(db.find(image_url(500)));
    EXPECT_EQ(db.meta("half"), std::nullopt);

    // A nested transaction that fails rolls back only its own writes.
    db.transaction([&] {
        db.add(image_url(600), url_kind::image, 1, "");
        try {
            db.transaction([&] {
                db.add(image_url(601), url_kind::image, 1, "");
                throw std::runtime_error("inner");
            });
        } catch (const std::runtime_error&) {
        }
        db.add(image_url(602), url_kind::image, 1, "");
    });
    EXPECT_TRUE(db.find(image_url(600)));
    EXPECT_FALSE(db.find(image_url(601)));
    EXPECT_TRUE(db.find(image_url(602)));

    // Writes from another thread wait for the transaction instead of joining it.
    std::thread other;
    EXPECT_THROW(db.transaction([&] {
        db.add(image_url(700), url_kind::image, 1, "");
        other = std::thread([&] { db.add(image_url(701), url_kind::image, 1, ""); });
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        throw std::runtime_error("rolled back");
    }),
                 std::runtime_error);
    other.join();
    EXPECT_FALSE(db.find(image_url(700)));
    EXPECT_TRUE(db.find(image_url(701)));
}

TEST_F(CrawlStore, UnusableLocationsGiveClearErrors) {
    auto missing = dir_ / "no-such-dir" / "state.db";
    auto message = error_of([&] { store db(missing); });
    EXPECT_NE(message.find(missing.string()), std::string::npos) << message;
    EXPECT_NE(message.find("unable to open"), std::string::npos) << message;

    // A regular file where the directory should be (unwritable for root too).
    std::ofstream(dir_ / "plain-file") << "x";
    auto under_file = dir_ / "plain-file" / "state.db";
    message = error_of([&] { store db(under_file); });
    EXPECT_NE(message.find(under_file.string()), std::string::npos) << message;
    EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
}

TEST_F(CrawlStore, GarbageFileIsNotOpened) {
    auto garbage = dir_ / "garbage.db";
    {
        std::ofstream out(garbage, std::ios::binary);
        for (int i = 0; i < 4096; ++i) out << static_cast<char>('A' + i % 26);
    }
    auto message = error_of([&] { store db(garbage); });
    EXPECT_NE(message.find(garbage.string()), std::string::npos) << message;
    EXPECT_NE(message.find("not a database"), std::string::npos) << message;
    // Nothing was written into it.
    EXPECT_EQ(std::filesystem::file_size(garbage), 4096u);
}

TEST_F(CrawlStore, OtherDatabasesAreNotOpened) {
    auto foreign = dir_ / "foreign.db";
    run_sql(foreign, "CREATE TABLE photos(name TEXT); INSERT INTO photos VALUES ('keep me');");
    auto message = error_of([&] { store db(foreign); });
    EXPECT_NE(message.find(foreign.string()), std::string::npos) << message;
    EXPECT_NE(message.find("not weft's crawl state"), std::string::npos) << message;

    { store db(db_file()); }
    run_sql(db_file(), "PRAGMA user_version = 99");
    message = error_of([&] { store db(db_file()); });
    EXPECT_NE(message.find(db_file().string()), std::string::npos) << message;
    EXPECT_NE(message.find("unknown schema version 99"), std::string::npos) << message;
}

// A child process writes in a loop and reports each committed record through a pipe; it is
// killed with SIGKILL 0-20 ms after its first commit. The database must open afterwards and
// hold every record the child reported (a write that returned is committed), and each batch
// whole or not at all.
TEST_F(CrawlStore, SurvivesKillNineAtAnyMoment) {
    constexpr int rounds = 5;
    constexpr int batch = 10;
    std::mt19937 random(20240607);
    for (int round = 0; round < rounds; ++round) {
        auto url_of = [round](int i) { return "http://127.0.0.1/r" + std::to_string(round) + "/" + std::to_string(i); };
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            int code = 0;
            try {
                store db(db_file());
                for (int i = 0; i < 1000000; ++i) {
                    auto id = db.add(url_of(i), url_kind::image, 1, "").first;
                    std::string stem = "r" + std::to_string(round) + "-" + std::to_string(i);
                    db.reserve_path(id, [&](int n) { return numbered(stem, n); });
                    db.finish(id, url_state::done, 200, static_cast<std::uint64_t>(i), "", "", "", 0.001);
                    db.transaction([&] {
                        for (int k = 0; k < batch; ++k)
                            db.add(url_of(i) + "/batch/" + std::to_string(k), url_kind::page, 2, "");
                    });
                    if (::write(fds[1], &i, sizeof i) != sizeof i) break;
                }
            } catch (...) {
                code = 3;
            }
            ::_exit(code);
        }
        ::close(fds[1]);

        // Wait for the first commit (bounded), then let it run 0-20 ms more and kill it.
        std::vector<char> reports;
        char buffer[4096];
        pollfd pfd{fds[0], POLLIN, 0};
        ASSERT_EQ(::poll(&pfd, 1, 20000), 1) << "the child never committed";
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(random)));
        ASSERT_EQ(::kill(pid, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself with status " << status;
        for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
            reports.insert(reports.end(), buffer, buffer + n);
        ::close(fds[0]);
        ASSERT_GE(reports.size(), sizeof(int));
        int last = 0;
        std::memcpy(&last, reports.data() + (reports.size() / sizeof(int) - 1) * sizeof(int), sizeof(int));

        store db(db_file());
        for (int i = 0; i <= last; ++i) {
            auto r = db.find(url_of(i));
            ASSERT_TRUE(r) << "round " << round << ": committed record " << i << " lost";
            EXPECT_EQ(r->state, url_state::done);
            EXPECT_EQ(r->bytes, static_cast<std::uint64_t>(i));
            EXPECT_EQ(r->path, "r" + std::to_string(round) + "-" + std::to_string(i) + ".jpg");
        }
        std::map<std::string, int> batch_sizes;
        for (const auto& r : db.all()) {
            if (auto at = r.url.find("/batch/"); at != std::string::npos) ++batch_sizes[r.url.substr(0, at)];
        }
        for (const auto& [owner, size] : batch_sizes) EXPECT_EQ(size, batch) << owner << ": a torn transaction";
        // Still writable after recovery.
        EXPECT_TRUE(db.add(url_of(-1), url_kind::image, 0, "").second);
    }
}

// Four threads add overlapping URLs, race for the same file names and record outcomes, while
// another one reads; every URL ends up once, with one id, and every path is unique.
TEST_F(CrawlStore, ConcurrentThreads) {
    store db(db_file());
    constexpr int threads = 4;
    constexpr int shared_urls = 25;
    constexpr int own_urls = 25;
    std::vector<std::map<std::string, std::int64_t>> seen(threads);
    std::vector<std::thread> workers;
    std::atomic<bool> stop_reader{false};
    std::thread reader([&] {  // outcomes are never lost: the count of saved images only grows
        std::size_t saved = 0;
        while (!stop_reader.load()) {
            std::size_t now = db.count(url_kind::image, url_state::done);
            EXPECT_GE(now, saved);
            std::size_t pending = db.pending().size();
            EXPECT_LE(pending, db.all().size());  // records are never removed
            saved = now;
        }
    });
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < shared_urls + own_urls; ++i) {
                bool shared = i < shared_urls;
                std::string url = shared ? "http://127.0.0.1/shared/" + std::to_string(i)
                                         : "http://127.0.0.1/t" + std::to_string(t) + "/" + std::to_string(i);
                std::int64_t id = 0;
                if (t % 2 == 0) {
                    id = db.add(url, url_kind::image, 1, "").first;
                } else {
                    db.transaction([&] { id = db.add(url, url_kind::image, 1, "").first; });
                }
                seen[static_cast<std::size_t>(t)][url] = id;
                db.reserve_path(id, [](int n) { return numbered("same", n); });
                db.note_attempt(id, 0, "");
                if (!shared) db.finish(id, url_state::done, 200, 1, "", "", "", 0);
            }
        });
    }
    for (auto& w : workers) w.join();
    stop_reader = true;
    reader.join();

    auto all = db.all();
    EXPECT_EQ(all.size(), static_cast<std::size_t>(shared_urls + threads * own_urls));
    std::set<std::string> paths;
    for (const auto& r : all) {
        EXPECT_FALSE(r.path.empty()) << r.url;
        paths.insert(r.path);
    }
    EXPECT_EQ(paths.size(), all.size());
    for (int t = 1; t < threads; ++t) {
        for (int i = 0; i < shared_urls; ++i) {
            std::string url = "http://127.0.0.1/shared/" + std::to_string(i);
            EXPECT_EQ(seen[static_cast<std::size_t>(t)][url], seen[0][url]) << url;
        }
    }
    EXPECT_EQ(db.find("http://127.0.0.1/shared/0")->attempts, threads);
    EXPECT_EQ(db.count(url_kind::image, url_state::done), static_cast<std::size_t>(threads * own_urls));
    EXPECT_EQ(db.count(url_kind::image, url_state::pending), static_cast<std::size_t>(shared_urls));
}
