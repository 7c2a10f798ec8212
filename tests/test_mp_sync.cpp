#include "mp_test_support.hpp"

#include <weft/errors.hpp>
#include <weft/mp/barrier.hpp>
#include <weft/mp/condition.hpp>
#include <weft/mp/event.hpp>
#include <weft/mp/hold.hpp>
#include <weft/mp/lock.hpp>
#include <weft/mp/process.hpp>
#include <weft/mp/queue.hpp>
#include <weft/mp/semaphore.hpp>
#include <weft/mp/value.hpp>

#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace mp = weft::mp;

namespace {

void add_many(mp::value<long> counter, int times) {
    for (int i = 0; i < times; ++i) {
        mp::hold h(counter.get_lock());
        counter.store(counter.load() + 1);
    }
}

void hold_forever(mp::lock l, mp::event holding) {
    l.acquire();
    holding.set();
    for (;;) pause();
}

void join_all(std::vector<mp::process>& ps) {
    for (auto& p : ps) {
        ASSERT_TRUE(p.join(20s)) << p.name();
        EXPECT_EQ(p.exitcode(), 0) << p.name();
    }
}

}  // namespace

TEST(MpSync, LockedIncrementsFromFourProcessesAddUp) {
    mp::value<long> counter{0};
    std::vector<mp::process> ps;
    for (int i = 0; i < 4; ++i) ps.emplace_back(add_many, counter, 500);
    for (auto& p : ps) p.start();
    join_all(ps);
    EXPECT_EQ(counter.load(), 2000);
}

TEST(MpSync, KillNineOfALockHolderLetsOthersProceed) {
    mp::lock l;
    mp::event holding;
    mp::process p(hold_forever, l, holding);
    p.start();
    ASSERT_TRUE(holding.wait(10s));
    EXPECT_FALSE(l.try_acquire());
    p.kill();
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(p.exitcode(), -SIGKILL);
    ASSERT_TRUE(l.acquire(5s));  // recovered, not deadlocked
    EXPECT_EQ(l.owner_deaths(), 1u);
    l.release();
    // And another process can use it normally afterwards.
    mp::value<long> counter{0};
    mp::process q([](mp::lock l, mp::value<long> c) { mp::hold h(l); c.store(7); }, l, counter);
    q.start();
    ASSERT_TRUE(q.join(10s));
    EXPECT_EQ(counter.load(), 7);
}

TEST(MpSync, LockTimesOut) {
    mp::lock l;
    l.acquire();
    std::thread t([l]() mutable { EXPECT_FALSE(l.acquire(20ms)); });
    t.join();
    l.release();
    EXPECT_TRUE(l.try_acquire());
    l.release();
}

TEST(MpSync, RLockIsRecursive) {
    mp::rlock r;
    r.acquire();
    EXPECT_TRUE(r.acquire(10ms));
    std::thread t([r]() mutable { EXPECT_FALSE(r.try_acquire()); });
    t.join();
    r.release();
    r.release();
}

TEST(MpSync, MisuseOfLocksThrows) {
#if defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "ThreadSanitizer aborts on the deliberate misuse (unlocking a mutex this thread "
                    "does not hold) before the EPERM check can throw";
#else
    mp::lock l;
    l.acquire();
    EXPECT_THROW(l.acquire(), weft::invalid_state_error);  // not recursive
    l.release();
    EXPECT_THROW(l.release(), weft::release_error);
    mp::rlock r;
    r.acquire();
    std::thread t([r]() mutable { EXPECT_THROW(r.release(), weft::release_error); });
    t.join();
    r.release();
    EXPECT_THROW(r.release(), weft::release_error);
#endif
}

TEST(MpSync, SemaphoreCountsAcrossProcesses) {
    mp::semaphore s{0};
    EXPECT_FALSE(s.acquire(10ms));
    EXPECT_FALSE(s.try_acquire());
    mp::process p([](mp::semaphore s) { s.release(3); }, s);
    p.start();
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(s.acquire(10s));
    EXPECT_EQ(s.get_value(), 0);
    ASSERT_TRUE(p.join(10s));
}

TEST(MpSync, EventWakesAWaitingProcess) {
    mp::event go, done;
    mp::process p(
        [](mp::event go, mp::event done) {
            if (go.wait(10s)) done.set();
        },
        go, done);
    p.start();
    EXPECT_FALSE(done.wait(20ms));
    go.set();
    EXPECT_TRUE(done.wait(10s));
    EXPECT_TRUE(go.is_set());
    go.clear();
    EXPECT_FALSE(go.is_set());
    ASSERT_TRUE(p.join(10s));
}

TEST(MpSync, ConditionNotifiesAProcessWaitingForAPredicate) {
    mp::condition cv;
    mp::value<int> stage{0};
    mp::process p(
        [](mp::condition cv, mp::value<int> stage) {
            mp::hold h(cv);
            if (cv.wait_for(10s, [&] { return stage.load() == 1; })) {
                stage.store(2);
                cv.notify_all();
            }
        },
        cv, stage);
    p.start();
    {
        mp::hold h(cv);
        stage.store(1);
        cv.notify_all();
        EXPECT_TRUE(cv.wait_for(10s, [&] { return stage.load() == 2; }));
    }
    ASSERT_TRUE(p.join(10s));
    mp::hold h(cv);
    EXPECT_FALSE(cv.wait(10ms));
}

TEST(MpSync, BarrierReleasesAllPartiesWithDistinctIndices) {
    mp::barrier b{3};
    mp::array<int> indices(2);
    std::vector<mp::process> ps;
    for (int i = 0; i < 2; ++i)
        ps.emplace_back([](mp::barrier b, mp::array<int> out, int slot) { out.store(static_cast<std::size_t>(slot), static_cast<int>(b.wait(10s))); }, b, indices, i);
    for (auto& p : ps) p.start();
    unsigned mine = b.wait(10s);
    join_all(ps);
    std::set<unsigned> all{mine, static_cast<unsigned>(indices.at(0)), static_cast<unsigned>(indices.at(1))};
    EXPECT_EQ(all, (std::set<unsigned>{0, 1, 2}));
    EXPECT_EQ(b.parties(), 3u);
}

TEST(MpSync, BarrierTimeoutBreaksIt) {
    mp::barrier b{2};
    EXPECT_THROW(b.wait(20ms), weft::broken_barrier_error);
    EXPECT_TRUE(b.broken());
    EXPECT_THROW(b.wait(20ms), weft::broken_barrier_error);
    b.reset();
    EXPECT_FALSE(b.broken());
    EXPECT_EQ(b.n_waiting(), 0u);
    b.abort();
    EXPECT_THROW(b.wait(), weft::broken_barrier_error);
}

TEST(MpSync, QueueCarriesStringsAndNumbersBetweenProcesses) {
    mp::queue<std::string> words{4};
    mp::queue<int> numbers{100};
    mp::process p(
        [](mp::queue<std::string> w, mp::queue<int> n) {
            for (int i = 0; i < 100; ++i) n.put(i);
            w.put("hello");
            w.put(std::string(500, 'x'));
        },
        words, numbers);
    p.start();
    EXPECT_EQ(words.get(10s), "hello");
    EXPECT_EQ(words.get(10s), std::string(500, 'x'));
    for (int i = 0; i < 100; ++i) EXPECT_EQ(numbers.get(10s), i);
    ASSERT_TRUE(p.join(10s));
}

TEST(MpSync, QueueBlockingSemanticsAndErrors) {
    mp::queue<int> q{2};
    EXPECT_EQ(q.maxsize(), 2u);
    EXPECT_TRUE(q.empty());
    EXPECT_THROW(q.get_nowait(), weft::queue_empty);
    EXPECT_THROW(q.get(10ms), weft::queue_empty);
    q.put(1);
    q.put_nowait(2);
    EXPECT_TRUE(q.full());
    EXPECT_EQ(q.qsize(), 2u);
    EXPECT_THROW(q.put_nowait(3), weft::queue_full);
    EXPECT_THROW(q.put(3, 10ms), weft::queue_full);
    // A blocked put proceeds once another process makes room.
    mp::process p([](mp::queue<int> q) { q.get(10s); }, q);
    p.start();
    q.put(3, 10s);
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_EQ(q.get_nowait(), 3);
    mp::queue<std::string> small{1, 16};
    EXPECT_THROW(small.put(std::string(100, 'y')), std::length_error);
    EXPECT_THROW(mp::queue<int>{0}, std::invalid_argument);
}

TEST(MpSync, ArrayIsSharedAndBoundsChecked) {
    mp::array<double> a(8);
    EXPECT_EQ(a.size(), 8u);
    mp::process p(
        [](mp::array<double> a) {
            for (std::size_t i = 0; i < a.size(); ++i) a.store(i, static_cast<double>(i) * 1.5);
        },
        a);
    p.start();
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(a.at(4), 6.0);
    EXPECT_EQ(a.to_vector().size(), 8u);
    EXPECT_THROW(a.at(8), std::out_of_range);
    mp::array<int> from(std::vector<int>{1, 2, 3});
    EXPECT_EQ(from[2], 3);
}

TEST(MpSync, ObjectsAreFreedAndNothingLeaks) {
    { mp::lock warm; }
    auto fds = weft_test::fd_count();
    auto shm = weft_test::shm_entries();
    for (int i = 0; i < 1000; ++i) {
        mp::queue<std::string> q{64};
        mp::lock l;
        mp::condition c(l);
        mp::value<int> v{i};
        mp::array<char> a(4096);
        mp::barrier b{1};
        b.wait();
    }
    EXPECT_EQ(weft_test::fd_count(), fds);
    EXPECT_EQ(weft_test::shm_entries(), shm);
    EXPECT_EQ(weft_test::zombie_count(), 0);
}
