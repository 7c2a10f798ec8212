#include <weft/aio/condition.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using weft::aio::condition;

namespace {

constexpr weft::loop_options virtual_time{.virtual_time = true};

// Waits once under the lock; records its id when woken (with the lock held again).
weft::task<> waiter(condition& cv, std::vector<int>& woken, int id) {
    auto g = co_await cv.scoped();
    co_await cv.wait();
    EXPECT_TRUE(cv.locked());
    woken.push_back(id);
}

// Waits, and records how the wait ended and whether the lock was held then.
weft::task<> recording_waiter(condition& cv, std::vector<std::string>& log) {
    auto g = co_await cv.scoped();
    try {
        co_await cv.wait();
        log.push_back(std::string("notified, locked=") + (cv.locked() ? "yes" : "no"));
    } catch (const weft::cancelled_error&) {
        log.push_back(std::string("cancelled, locked=") + (cv.locked() ? "yes" : "no"));
        throw;
    } catch (const weft::timeout_error&) {
        log.push_back(std::string("timed out, locked=") + (cv.locked() ? "yes" : "no"));
    }
}

}  // namespace

TEST(AioCondition, WaitAndNotifyRequireTheLock) {
    weft::run([]() -> weft::task<> {
        condition cv;
        EXPECT_THROW(co_await cv.wait(), weft::invalid_state_error);
        EXPECT_THROW(cv.notify(), weft::invalid_state_error);
        EXPECT_THROW(cv.notify_all(), weft::invalid_state_error);
        EXPECT_THROW(cv.release(), weft::release_error);
        co_await cv.acquire();
        cv.notify();  // nobody waits: harmless
        cv.release();
        EXPECT_FALSE(cv.locked());
    }());
}

TEST(AioCondition, NotifyWakesWaitersInFifoOrderOnceTheLockIsReleased) {
    weft::run(
        []() -> weft::task<> {
            condition cv;
            std::vector<int> woken;
            std::vector<weft::task_handle<void>> tasks;
            for (int i = 0; i < 5; ++i) tasks.push_back(weft::create_task(waiter(cv, woken, i)));
            co_await weft::sleep(1ms);
            EXPECT_FALSE(cv.locked());  // every waiter released the lock in wait()
            {
                auto g = co_await cv.scoped();
                cv.notify();
                co_await weft::sleep(1ms);
                EXPECT_TRUE(woken.empty());  // waiter 0 needs the lock we hold
            }
            co_await tasks[0];
            EXPECT_EQ(woken, (std::vector<int>{0}));
            {
                auto g = co_await cv.scoped();
                cv.notify(2);
            }
            co_await tasks[2];
            EXPECT_EQ(woken, (std::vector<int>{0, 1, 2}));
            {
                auto g = co_await cv.scoped();
                cv.notify_all();
            }
            for (auto& t : tasks) co_await t;
            EXPECT_EQ(woken, (std::vector<int>{0, 1, 2, 3, 4}));
            EXPECT_FALSE(cv.locked());
        }(),
        virtual_time);
}

TEST(AioCondition, WaitForChecksThePredicateAfterEachNotification) {
    weft::run(
        []() -> weft::task<> {
            condition cv;
            std::deque<int> jobs;
            int checks = 0;
            auto consumer = weft::create_task([](condition& cv, std::deque<int>& jobs, int& checks) -> weft::task<int> {
                auto g = co_await cv.scoped();
                bool ok = co_await cv.wait_for([&] {
                    ++checks;
                    return jobs.size() >= 2;
                });
                EXPECT_TRUE(ok);
                int sum = jobs[0] + jobs[1];
                jobs.clear();
                co_return sum;
            }(cv, jobs, checks));
            for (int v : {10, 20}) {
                co_await weft::sleep(1ms);
                auto g = co_await cv.scoped();
                jobs.push_back(v);
                cv.notify();
            }
            EXPECT_EQ(co_await consumer, 30);
            EXPECT_EQ(checks, 3);  // at entry, after each notification
            auto g = co_await cv.scoped();
            jobs.push_back(1);
            jobs.push_back(2);
            EXPECT_TRUE(co_await cv.wait_for([&] { return !jobs.empty(); }));  // true at once
        }(),
        virtual_time);
}

TEST(AioCondition, CancelledWaitReacquiresTheLockBeforeThrowing) {
    weft::run(
        []() -> weft::task<> {
            condition cv;
            std::vector<std::string> log;
            auto w = weft::create_task(recording_waiter(cv, log));
            co_await weft::sleep(1ms);
            {
                auto g = co_await cv.scoped();
                w.cancel();
                co_await weft::sleep(1ms);
                EXPECT_TRUE(log.empty());  // w waits for the lock we hold
            }
            EXPECT_THROW(co_await w, weft::cancelled_error);
            EXPECT_EQ(log, (std::vector<std::string>{"cancelled, locked=yes"}));
            EXPECT_FALSE(cv.locked());  // w's guard released it
        }(),
        virtual_time);
}

TEST(AioCondition, TimedOutWaitReacquiresTheLock) {
    weft::run(
        []() -> weft::task<> {
            condition cv;
            auto g = co_await cv.scoped();
            auto start = weft::event_loop::current()->time();
            EXPECT_THROW(co_await weft::wait_for(cv.wait(), 10ms), weft::timeout_error);
            EXPECT_EQ(weft::event_loop::current()->time() - start, 10ms);
            EXPECT_TRUE(cv.locked());
            try {
                auto deadline = weft::timeout(10ms);
                co_await cv.wait();
                ADD_FAILURE() << "woken without a notification";
            } catch (const weft::timeout_error&) {
            }
            EXPECT_TRUE(cv.locked());
        }(),
        virtual_time);
}

TEST(AioCondition, CancellationWhileReacquiringAfterATimeoutWins) {
    weft::run(
        []() -> weft::task<> {
            condition cv;
            std::vector<std::string> log;
            auto w = weft::create_task([](condition& cv, std::vector<std::string>& log) -> weft::task<> {
                auto deadline = weft::timeout(5ms);
                co_await recording_waiter(cv, log);
            }(cv, log));
            co_await weft::sleep(1ms);
            auto g = co_await cv.scoped();
            co_await weft::sleep(10ms);  // w's deadline passes: it now waits for our lock
            w.cancel();
            g.release();
            EXPECT_THROW(co_await w, weft::cancelled_error);
            EXPECT_EQ(log, (std::vector<std::string>{"cancelled, locked=yes"}));
            EXPECT_FALSE(cv.locked());
        }(),
        virtual_time);
}

TEST(AioCondition, NotifiedWaiterCancelledBeforeRunningKeepsTheNotification) {
    weft::run(
        []() -> weft::task<> {
            condition cv;
            std::vector<std::string> log;
            auto w = weft::create_task(recording_waiter(cv, log));
            co_await weft::sleep(1ms);
            {
                auto g = co_await cv.scoped();
                cv.notify();
            }  // the lock goes to w, which has not run yet
            w.cancel();
            EXPECT_THROW(co_await w, weft::cancelled_error);  // raised at w's next suspension: its end
            EXPECT_EQ(log, (std::vector<std::string>{"notified, locked=yes"}));
            EXPECT_FALSE(cv.locked());
        }(),
        virtual_time);
}

TEST(AioCondition, TwoConditionsShareOneLock) {
    weft::run(
        []() -> weft::task<> {
            weft::aio::lock mutex;
            condition not_empty{mutex};
            condition not_full{mutex};
            EXPECT_EQ(&not_empty.underlying_lock(), &mutex);
            std::vector<int> woken;
            auto a = weft::create_task(waiter(not_empty, woken, 1));
            auto b = weft::create_task(waiter(not_full, woken, 2));
            co_await weft::sleep(1ms);
            {
                auto g = co_await mutex.scoped();
                EXPECT_TRUE(not_full.locked());
                not_full.notify();
            }
            co_await b;
            EXPECT_FALSE(a.done());
            {
                auto g = co_await not_empty.scoped();
                not_empty.notify_all();
            }
            co_await a;
            EXPECT_EQ(woken, (std::vector<int>{2, 1}));
        }(),
        virtual_time);
}
