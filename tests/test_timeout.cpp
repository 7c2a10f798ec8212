// Deadlines: weft::timeout scopes, wait_for, and many concurrent sleepers waking in order.
#include "runtime_test_support.hpp"

#include <weft/event_loop.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;

namespace {

using namespace weft_test;

weft::task<std::string> text_after(std::string v, weft::event_loop::duration d) {
    co_await weft::sleep(d);
    co_return v;
}

static_assert(std::is_base_of_v<std::exception, weft::timeout_error>);

TEST(Timeout, TimeoutErrorIsAStdException) {
    try {
        throw weft::timeout_error();
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()), "");
    }
}

TEST(Timeout, SleepInsideAnExpiringScopeThrowsAtTheDeadline) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            bool after_sleep = false;
            try {
                auto scope = weft::timeout(10ms);
                EXPECT_EQ(scope.when(), start + 10ms);
                co_await weft::sleep(1h);
                after_sleep = true;
            } catch (const weft::timeout_error&) {
            }
            EXPECT_FALSE(after_sleep);
            EXPECT_EQ(since(start), 10ms);
        }(),
        virtual_time);
}

TEST(Timeout, ExpiredReportsTheScopeState) {
    weft::run(
        []() -> weft::task<> {
            auto scope = weft::timeout(5ms);
            EXPECT_FALSE(scope.expired());
            EXPECT_THROW(co_await weft::sleep(1h), weft::timeout_error);
            EXPECT_TRUE(scope.expired());
        }(),
        virtual_time);
}

TEST(Timeout, ScopeThatDoesNotExpireLeavesNoTrace) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            {
                auto scope = weft::timeout(10ms);
                co_await weft::sleep(1ms);
            }
            co_await weft::sleep(50ms);  // past the old deadline: no timeout_error
            EXPECT_EQ(since(start), 51ms);
            EXPECT_EQ(weft::all_tasks().size(), 1u);
        }(),
        virtual_time);
}

TEST(Timeout, AwaitThatDoesNotSuspendIsNotInterrupted) {
    weft::run(
        []() -> weft::task<> {
            auto scope = weft::timeout(1ms);
            EXPECT_THROW(co_await weft::sleep(1h), weft::timeout_error);
            // An inline task that never suspends runs to completion even in an expired scope.
            auto ready = []() -> weft::task<int> { co_return 3; };
            EXPECT_EQ(co_await ready(), 3);
        }(),
        virtual_time);
}

TEST(Timeout, ExpiredScopeMakesEveryLaterSuspensionThrow) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            auto scope = weft::timeout(5ms);
            int timeouts = 0;
            for (int i = 0; i < 3; ++i) {
                try {
                    co_await weft::sleep(1h);
                } catch (const weft::timeout_error&) {
                    ++timeouts;
                }
            }
            try {
                co_await weft::sleep(0s);  // even a plain yield
            } catch (const weft::timeout_error&) {
                ++timeouts;
            }
            EXPECT_EQ(timeouts, 4);
            EXPECT_EQ(since(start), 5ms);
        }(),
        virtual_time);
}

TEST(Timeout, InnerScopeExpiresFirst) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            auto outer = weft::timeout(50ms);
            {
                auto inner = weft::timeout(10ms);
                EXPECT_THROW(co_await weft::sleep(1h), weft::timeout_error);
                EXPECT_TRUE(inner.expired());
                EXPECT_FALSE(outer.expired());
            }
            EXPECT_EQ(since(start), 10ms);
            co_await weft::sleep(30ms);  // still inside the outer scope's time
            EXPECT_THROW(co_await weft::sleep(1h), weft::timeout_error);
            EXPECT_TRUE(outer.expired());
            EXPECT_EQ(since(start), 50ms);
        }(),
        virtual_time);
}

TEST(Timeout, OuterScopeExpiresFirstAndReachesTheInnerOperation) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            bool caught_inside = false;
            try {
                auto outer = weft::timeout(10ms);
                try {
                    auto inner = weft::timeout(1h);
                    co_await weft::sleep(2h);
                } catch (const weft::timeout_error&) {
                    caught_inside = true;
                    EXPECT_TRUE(outer.expired());
                }
                co_await weft::sleep(1ms);  // the outer scope is still expired
                ADD_FAILURE() << "outer scope did not throw";
            } catch (const weft::timeout_error&) {
            }
            EXPECT_TRUE(caught_inside);
            EXPECT_EQ(since(start), 10ms);
        }(),
        virtual_time);
}

TEST(Timeout, RescheduleMovesTheDeadline) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            auto scope = weft::timeout(10ms);
            scope.reschedule(50ms);
            EXPECT_EQ(scope.when(), start + 50ms);
            co_await weft::sleep(30ms);  // past the first deadline
            EXPECT_THROW(co_await weft::sleep(1h), weft::timeout_error);
            EXPECT_EQ(since(start), 50ms);
            // An expired scope can be re-armed.
            scope.reschedule(20ms);
            EXPECT_FALSE(scope.expired());
            co_await weft::sleep(10ms);
            EXPECT_THROW(co_await weft::sleep(1h), weft::timeout_error);
            EXPECT_EQ(since(start), 70ms);
        }(),
        virtual_time);
}

TEST(Timeout, TimeoutOutsideATaskThrowsInvalidState) {
    EXPECT_THROW((void)weft::timeout(1s), weft::invalid_state_error);
}

TEST(Timeout, ScopeInOneTaskDoesNotAffectAnother) {
    weft::run(
        []() -> weft::task<> {
            auto other = weft::create_task(value_after(1, 20ms));
            {
                auto scope = weft::timeout(5ms);
                EXPECT_THROW(co_await weft::sleep(1h), weft::timeout_error);
            }
            co_await weft::sleep(30ms);
            EXPECT_EQ(other.result(), 1);
        }(),
        virtual_time);
}

TEST(WaitFor, TaskInTimeGivesItsValue) {
    weft::run(
        []() -> weft::task<> {
            EXPECT_EQ(co_await weft::wait_for(value_after(7, 5ms), 10ms), 7);
            EXPECT_EQ(co_await weft::wait_for(value_after(8, 0s), 0s), 8);  // ready work wins
        }(),
        virtual_time);
}

TEST(WaitFor, SlowTaskThrowsTimeoutErrorAtTheDeadline) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            EXPECT_THROW(co_await weft::wait_for(value_after(7, 1h), 10ms), weft::timeout_error);
            EXPECT_EQ(since(start), 10ms);
        }(),
        virtual_time);
}

weft::task<> cleanup_on_cancel(bool& cancelled) {
    try {
        co_await weft::sleep(1h);
    } catch (const weft::cancelled_error&) {
        cancelled = true;
        throw;
    }
}

TEST(WaitFor, HandleIsCancelledOnTimeout) {
    weft::run(
        []() -> weft::task<> {
            bool cancelled = false;
            auto h = weft::create_task(cleanup_on_cancel(cancelled));
            auto start = now();
            EXPECT_THROW(co_await weft::wait_for(h, 10ms), weft::timeout_error);
            EXPECT_EQ(since(start), 10ms);
            EXPECT_TRUE(h.done());  // like asyncio: wait_for waits for the cancelled task
            EXPECT_TRUE(h.cancelled());
            EXPECT_TRUE(cancelled);
        }(),
        virtual_time);
}

TEST(WaitFor, HandleInTimeKeepsItsResultForOtherHandles) {
    weft::run(
        []() -> weft::task<> {
            auto h = weft::create_task(text_after("payload", 5ms));
            EXPECT_EQ(co_await weft::wait_for(h, 10ms), "payload");
            EXPECT_EQ(h.result(), "payload");  // the handle still holds the result
            EXPECT_EQ(co_await h, "payload");
        }(),
        virtual_time);
}

TEST(WaitFor, ErrorOfTheTaskPassesThrough) {
    weft::run(
        []() -> weft::task<> {
            auto fails = []() -> weft::task<int> {
                co_await weft::sleep(1ms);
                throw std::out_of_range("inner");
            };
            EXPECT_THROW(co_await weft::wait_for(fails(), 10ms), std::out_of_range);
        }(),
        virtual_time);
}

TEST(WaitFor, CancelOfTheWaiterIsACancelNotATimeout) {
    weft::run(
        []() -> weft::task<> {
            auto waiter = []() -> weft::task<int> { co_return co_await weft::wait_for(value_after(1, 1h), 1h); };
            auto h = weft::create_task(waiter());
            co_await weft::sleep(1ms);
            h.cancel();
            EXPECT_THROW(co_await h, weft::cancelled_error);
        }(),
        virtual_time);
}

// --- many sleepers ---------------------------------------------------------------------------

struct wake {
    long long at_ms;
    int id;
};

weft::task<> sleep_and_note(std::vector<wake>& out, int id, std::chrono::milliseconds d,
                            weft::event_loop::time_point start) {
    co_await weft::sleep(d);
    out.push_back({std::chrono::duration_cast<std::chrono::milliseconds>(now() - start).count(), id});
}

weft::task<> many_sleepers(int n, int max_ms, std::vector<int>& delays, std::vector<wake>& out) {
    auto start = now();
    std::vector<weft::task_handle<void>> hs;
    hs.reserve(n);
    for (int i = 0; i < n; ++i) hs.push_back(weft::create_task(sleep_and_note(out, i, std::chrono::milliseconds(delays[i]), start)));
    for (auto& h : hs) co_await h;
    (void)max_ms;
}

void expect_deadline_order(const std::vector<int>& delays, const std::vector<wake>& out, bool exact_time) {
    ASSERT_EQ(out.size(), delays.size());
    std::vector<int> expected(delays.size());
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i);
    // Deadline order; equal deadlines in the order the timers were armed (creation order).
    std::stable_sort(expected.begin(), expected.end(), [&](int a, int b) { return delays[a] < delays[b]; });
    for (std::size_t k = 0; k < out.size(); ++k) {
        ASSERT_EQ(out[k].id, expected[k]) << "position " << k;
        if (exact_time) ASSERT_EQ(out[k].at_ms, delays[out[k].id]) << "task " << out[k].id;
        else ASSERT_GE(out[k].at_ms, delays[out[k].id]) << "task " << out[k].id;
    }
}

TEST(ManySleepers, HundredThousandWakeInDeadlineOrderOnVirtualTime) {
    constexpr int n = 100'000;
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> dist(0, 10'000);  // many equal deadlines
    std::vector<int> delays(n);
    for (auto& d : delays) d = dist(rng);
    std::vector<wake> out;
    out.reserve(n);
    weft::run(many_sleepers(n, 10'000, delays, out), virtual_time);
    expect_deadline_order(delays, out, true);
}

TEST(ManySleepers, TenThousandWakeInDeadlineOrderOnRealTime) {
    constexpr int n = 10'000;
    std::mt19937 rng(777);
    std::uniform_int_distribution<int> dist(1, 50);
    std::vector<int> delays(n);
    for (auto& d : delays) d = dist(rng);
    std::vector<wake> out;
    out.reserve(n);
    weft::run(many_sleepers(n, 50, delays, out));
    expect_deadline_order(delays, out, false);
}

}  // namespace
