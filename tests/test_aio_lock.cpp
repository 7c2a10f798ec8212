#include <weft/aio/lock.hpp>
#include <weft/event_loop.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using weft::aio::lock;

namespace {

constexpr weft::loop_options virtual_time{.virtual_time = true};

weft::task<> worker(lock& l, std::vector<int>& order, int id) {
    co_await l.acquire();
    order.push_back(id);
    co_await weft::sleep(1ms);
    l.release();
}

weft::task<> scoped_worker(lock& l, std::vector<std::string>& log, std::string name) {
    auto guard = co_await l.scoped();
    log.push_back(name + " in");
    co_await weft::sleep(1ms);
    log.push_back(name + " out");
}

}  // namespace

TEST(AioLock, AcquireReleaseLocked) {
    weft::run([]() -> weft::task<> {
        lock l;
        EXPECT_FALSE(l.locked());
        co_await l.acquire();
        EXPECT_TRUE(l.locked());
        l.release();
        EXPECT_FALSE(l.locked());
        EXPECT_THROW(l.release(), weft::release_error);
    }());
}

TEST(AioLock, WaitersGetTheLockInFifoOrderAndNewcomersQueueBehind) {
    weft::run(
        []() -> weft::task<> {
            lock l;
            std::vector<int> order;
            co_await l.acquire();
            std::vector<weft::task_handle<void>> workers;
            for (int i = 0; i < 5; ++i) workers.push_back(weft::create_task(worker(l, order, i)));
            co_await weft::sleep(0s);  // every worker is now queued, in creation order
            l.release();               // handed to worker 0: stays locked
            EXPECT_TRUE(l.locked());
            co_await l.acquire();  // a newcomer: behind all five
            order.push_back(99);
            l.release();
            for (auto& w : workers) co_await w;
            EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 99}));
            EXPECT_FALSE(l.locked());
        }(),
        virtual_time);
}

TEST(AioLock, ScopedGuardReleasesAtScopeExitOnErrorAndEarly) {
    weft::run([]() -> weft::task<> {
        lock l;
        {
            auto g = co_await l.scoped();
            EXPECT_TRUE(g.owns());
            EXPECT_TRUE(l.locked());
        }
        EXPECT_FALSE(l.locked());
        try {
            auto g = co_await l.scoped();
            throw std::runtime_error("boom");
        } catch (const std::runtime_error&) {
        }
        EXPECT_FALSE(l.locked());
        auto g = co_await l.scoped();
        auto moved = std::move(g);
        EXPECT_FALSE(g.owns());
        EXPECT_TRUE(moved.owns());
        moved.release();
        EXPECT_FALSE(moved.owns());
        EXPECT_FALSE(l.locked());
    }());
}

TEST(AioLock, ScopedWorkersNeverOverlap) {
    weft::run(
        []() -> weft::task<> {
            lock l;
            std::vector<std::string> log;
            auto a = weft::create_task(scoped_worker(l, log, "a"));
            auto b = weft::create_task(scoped_worker(l, log, "b"));
            auto c = weft::create_task(scoped_worker(l, log, "c"));
            co_await a;
            co_await b;
            co_await c;
            EXPECT_EQ(log, (std::vector<std::string>{"a in", "a out", "b in", "b out", "c in", "c out"}));
        }(),
        virtual_time);
}

TEST(AioLock, CancelledWaiterLeavesTheQueueWithoutTheLock) {
    weft::run(
        []() -> weft::task<> {
            lock l;
            std::vector<int> order;
            co_await l.acquire();
            auto b = weft::create_task(worker(l, order, 1));
            auto c = weft::create_task(worker(l, order, 2));
            co_await weft::sleep(0s);
            b.cancel();
            EXPECT_THROW(co_await b, weft::cancelled_error);
            EXPECT_TRUE(l.locked());  // still ours
            l.release();              // goes to c, not to the cancelled b
            co_await c;
            EXPECT_EQ(order, (std::vector<int>{2}));
            EXPECT_FALSE(l.locked());
        }(),
        virtual_time);
}

TEST(AioLock, WaiterCancelledAfterBeingHandedTheLockKeepsItThenPassesItOn) {
    weft::run(
        []() -> weft::task<> {
            lock l;
            std::vector<std::string> log;
            co_await l.acquire();
            auto b = weft::create_task(scoped_worker(l, log, "b"));
            auto c = weft::create_task(scoped_worker(l, log, "c"));
            co_await weft::sleep(0s);
            l.release();  // b is handed the lock but has not run yet
            b.cancel();   // too late for the acquire: b sees it at its next suspension
            EXPECT_THROW(co_await b, weft::cancelled_error);
            co_await c;
            EXPECT_EQ(log, (std::vector<std::string>{"b in", "c in", "c out"}));
            EXPECT_FALSE(l.locked());
        }(),
        virtual_time);
}

TEST(AioLock, AcquireTimesOutWithTimeoutScopeAndWaitFor) {
    weft::run(
        []() -> weft::task<> {
            lock l;
            co_await l.acquire();
            auto start = weft::event_loop::current()->time();
            try {
                auto deadline = weft::timeout(10ms);
                co_await l.acquire();
                ADD_FAILURE() << "acquired a held lock";
            } catch (const weft::timeout_error&) {
            }
            EXPECT_EQ(weft::event_loop::current()->time() - start, 10ms);
            EXPECT_THROW(co_await weft::wait_for(l.scoped(), 5ms), weft::timeout_error);
            EXPECT_TRUE(l.locked());
            l.release();
            auto g = co_await weft::wait_for(l.scoped(), 5ms);
            EXPECT_TRUE(g.owns());
        }(),
        virtual_time);
}

TEST(AioLock, AlreadyCancelledTaskDoesNotWait) {
    weft::run([]() -> weft::task<> {
        lock l;
        co_await l.acquire();
        weft::current_task().cancel();
        EXPECT_THROW(co_await l.acquire(), weft::cancelled_error);
        weft::current_task().uncancel();
        l.release();
        EXPECT_FALSE(l.locked());
    }());
}

namespace {
weft::task<> hand_off_then_stop(lock& l, weft::event_loop& loop) {
    co_await weft::sleep(0s);  // let the waiters queue up
    l.release();               // the first waiter is handed the lock...
    loop.stop();               // ...but the loop stops before it runs
    co_await weft::sleep(1h);
}
}  // namespace

TEST(AioLock, FrameDestroyedAfterBeingHandedTheLockPassesItOn) {
    lock l;
    std::vector<int> order;
    weft::event_loop loop(virtual_time);
    loop.run_until_complete([](lock& l) -> weft::task<> { co_await l.acquire(); }(l));
    auto b = loop.create_task(worker(l, order, 1));
    auto c = loop.create_task(worker(l, order, 2));
    auto main = loop.create_task(hand_off_then_stop(l, loop));
    loop.run_forever();
    EXPECT_TRUE(l.locked());
    loop.close();  // destroys b's frame (holding the handed lock), then c's
    EXPECT_TRUE(order.empty());
    EXPECT_FALSE(l.locked());
    EXPECT_TRUE(b.cancelled());
}
