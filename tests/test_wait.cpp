// weft::wait (ALL_COMPLETED / FIRST_COMPLETED / FIRST_EXCEPTION, timeout, cancellation) and
// weft::as_completed.
#include "runtime_test_support.hpp"

#include <weft/as_completed.hpp>
#include <weft/event_loop.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/wait.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using namespace weft_test;

std::vector<int> results_of(const std::vector<weft::task_handle<int>>& hs) {
    std::vector<int> out;
    for (auto& h : hs) out.push_back(h.result());
    return out;
}

TEST(Wait, AllCompletedWaitsForEveryTaskAndRaisesNothing) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            std::vector<weft::task<int>> jobs;
            jobs.push_back(value_after(1, 30ms));
            jobs.push_back(fails_after("boom", 10ms));
            jobs.push_back(value_after(3, 20ms));
            auto [done, pending] = co_await weft::wait(std::move(jobs));
            EXPECT_EQ(since(start), 30ms);
            EXPECT_TRUE(pending.empty());
            EXPECT_EQ(done.size(), 3u);
            if (done.size() != 3u) co_return;
            EXPECT_EQ(done[0].result(), 1);  // in the order given
            EXPECT_THROW(done[1].result(), std::runtime_error);
            EXPECT_EQ(done[2].result(), 3);
        }(),
        virtual_time);
}

TEST(Wait, FirstCompletedReturnsAtTheFirstCompletion) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 30ms)),
                                                   weft::create_task(value_after(2, 10ms)),
                                                   weft::create_task(value_after(3, 20ms))};
            auto [done, pending] = co_await weft::wait(hs, weft::return_when::first_completed);
            EXPECT_EQ(since(start), 10ms);
            EXPECT_EQ(results_of(done), (std::vector<int>{2}));
            EXPECT_EQ(pending.size(), 2u);
            if (pending.size() != 2u) co_return;
            EXPECT_EQ(pending[0], hs[0]);
            EXPECT_EQ(pending[1], hs[2]);
            for (auto& p : pending) EXPECT_FALSE(p.cancelled());
            auto rest = co_await weft::wait(std::move(pending));
            EXPECT_EQ(results_of(rest.done), (std::vector<int>{1, 3}));
        }(),
        virtual_time);
}

TEST(Wait, FirstCompletedCountsAFailureAsCompletion) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 30ms)),
                                                   weft::create_task(fails_after("x", 5ms))};
            auto [done, pending] = co_await weft::wait(hs, weft::return_when::first_completed);
            EXPECT_EQ(since(start), 5ms);
            EXPECT_EQ(done.size(), 1u);
            if (done.size() != 1u) co_return;
            EXPECT_NE(done[0].exception(), nullptr);
            hs[0].cancel();
        }(),
        virtual_time);
}

TEST(Wait, FirstExceptionReturnsAtTheFirstFailure) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 5ms)),
                                                   weft::create_task(fails_after("x", 10ms)),
                                                   weft::create_task(value_after(3, 30ms))};
            auto [done, pending] = co_await weft::wait(hs, weft::return_when::first_exception);
            EXPECT_EQ(since(start), 10ms);
            EXPECT_EQ(done.size(), 2u);
            if (done.size() != 2u) co_return;
            EXPECT_EQ(done[0].result(), 1);
            EXPECT_THROW(done[1].result(), std::runtime_error);
            EXPECT_EQ(pending.size(), 1u);
            if (pending.size() != 1u) co_return;
            EXPECT_EQ(co_await pending[0], 3);
        }(),
        virtual_time);
}

TEST(Wait, FirstExceptionWithoutFailuresWaitsForAll) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            std::vector<weft::task<int>> jobs;
            jobs.push_back(value_after(1, 5ms));
            jobs.push_back(value_after(2, 15ms));
            auto [done, pending] = co_await weft::wait(std::move(jobs), weft::return_when::first_exception);
            EXPECT_EQ(since(start), 15ms);
            EXPECT_EQ(done.size(), 2u);
            EXPECT_TRUE(pending.empty());
        }(),
        virtual_time);
}

TEST(Wait, FirstExceptionIgnoresACancelledTask) {
    // asyncio: a cancelled task is not an exception for FIRST_EXCEPTION.
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 1h)),
                                                   weft::create_task(value_after(2, 20ms))};
            auto killer = [](weft::task_handle<int> v) -> weft::task<> {
                co_await weft::sleep(5ms);
                v.cancel();
            };
            auto k = weft::create_task(killer(hs[0]));
            auto [done, pending] = co_await weft::wait(hs, weft::return_when::first_exception);
            EXPECT_EQ(since(start), 20ms);
            EXPECT_EQ(done.size(), 2u);
            EXPECT_TRUE(done[0].cancelled());
            co_await k;
        }(),
        virtual_time);
}

TEST(Wait, TimeoutReturnsDoneAndPendingWithoutCancelling) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 5ms)),
                                                   weft::create_task(value_after(2, 50ms))};
            auto [done, pending] = co_await weft::wait(hs, 10ms);
            EXPECT_EQ(since(start), 10ms);
            EXPECT_EQ(results_of(done), (std::vector<int>{1}));
            EXPECT_EQ(pending.size(), 1u);
            if (pending.size() != 1u) co_return;
            EXPECT_FALSE(pending[0].done());
            EXPECT_EQ(co_await pending[0], 2);  // still running, not cancelled
            EXPECT_EQ(since(start), 50ms);
        }(),
        virtual_time);
}

TEST(Wait, TimeoutNotReachedReturnsEarly) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            std::vector<weft::task<int>> jobs;
            jobs.push_back(value_after(1, 5ms));
            auto [done, pending] = co_await weft::wait(std::move(jobs), 1h);
            EXPECT_EQ(since(start), 5ms);
            EXPECT_EQ(done.size(), 1u);
            EXPECT_TRUE(pending.empty());
            EXPECT_EQ(weft::event_loop::current()->time() - start, 5ms);
        }(),
        virtual_time);
}

TEST(Wait, EmptyInputReturnsAtOnce) {
    weft::run(
        []() -> weft::task<> {
            auto [done, pending] = co_await weft::wait(std::vector<weft::task<int>>{});
            EXPECT_TRUE(done.empty());
            EXPECT_TRUE(pending.empty());
        }(),
        virtual_time);
}

weft::task<> waits_for_all(std::vector<weft::task_handle<int>> hs) { (void)co_await weft::wait(std::move(hs)); }

TEST(Wait, CancellingTheWaiterLeavesTheChildrenRunning) {
    weft::run(
        []() -> weft::task<> {
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 10ms)),
                                                   weft::create_task(value_after(2, 20ms))};
            auto w = weft::create_task(waits_for_all(hs));
            co_await weft::sleep(1ms);
            w.cancel();
            EXPECT_THROW(co_await w, weft::cancelled_error);
            EXPECT_FALSE(hs[0].done());
            EXPECT_EQ(co_await hs[0], 1);
            EXPECT_EQ(co_await hs[1], 2);
        }(),
        virtual_time);
}

TEST(Wait, OldStyleLoopApi) {
    // The tutorial's `loop.run_until_complete(asyncio.wait(tasks))`.
    weft::event_loop loop(virtual_time);
    std::vector<weft::task<int>> jobs;
    for (int i = 0; i < 3; ++i) jobs.push_back(value_after(i, std::chrono::milliseconds(10 * (3 - i))));
    auto [done, pending] = loop.run_until_complete(weft::wait(std::move(jobs)));
    EXPECT_EQ(results_of(done), (std::vector<int>{0, 1, 2}));
    EXPECT_TRUE(pending.empty());
    done.clear();
    loop.close();
}

TEST(AsCompleted, YieldsTasksInCompletionOrder) {
    weft::run(
        []() -> weft::task<> {
            std::vector<weft::task<int>> jobs;
            jobs.push_back(value_after(1, 30ms));
            jobs.push_back(value_after(2, 10ms));
            jobs.push_back(fails_after("three", 20ms));
            jobs.push_back(value_after(4, 0s));
            auto order = weft::as_completed(std::move(jobs));
            EXPECT_EQ(order.remaining(), 4u);
            std::vector<std::string> seen;
            while (order.remaining() > 0) {
                auto t = co_await order.next();
                try {
                    seen.push_back(std::to_string(t.result()));
                } catch (const std::runtime_error& e) {
                    seen.push_back(e.what());
                }
            }
            EXPECT_EQ(seen, (std::vector<std::string>{"4", "2", "three", "1"}));
            EXPECT_THROW(co_await order.next(), weft::invalid_state_error);
        }(),
        virtual_time);
}

TEST(AsCompleted, AlreadyDoneTasksComeFirst) {
    weft::run(
        []() -> weft::task<> {
            auto early = weft::create_task(value_after(1, 1ms));
            auto late = weft::create_task(value_after(2, 10ms));
            co_await weft::sleep(5ms);
            auto order = weft::as_completed(std::vector<weft::task_handle<int>>{late, early});
            EXPECT_EQ((co_await order.next()).result(), 1);
            EXPECT_EQ((co_await order.next()).result(), 2);
        }(),
        virtual_time);
}

TEST(AsCompleted, TimeoutThrowsAndLeavesTheRestRunning) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 5ms)),
                                                   weft::create_task(value_after(2, 50ms))};
            auto order = weft::as_completed(hs, 10ms);
            EXPECT_EQ((co_await order.next()).result(), 1);
            EXPECT_THROW(co_await order.next(), weft::timeout_error);
            EXPECT_EQ(since(start), 10ms);
            EXPECT_EQ(order.remaining(), 1u);
            EXPECT_FALSE(hs[1].cancelled());
            EXPECT_EQ(co_await hs[1], 2);
        }(),
        virtual_time);
}

TEST(AsCompleted, EmptyInputIsExhaustedAtOnce) {
    weft::run(
        []() -> weft::task<> {
            auto order = weft::as_completed(std::vector<weft::task<int>>{});
            EXPECT_EQ(order.remaining(), 0u);
            EXPECT_THROW(co_await order.next(), weft::invalid_state_error);
        }(),
        virtual_time);
}

}  // namespace
