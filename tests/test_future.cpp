#include <weft/future.hpp>
#include <weft/futures_wait.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/thread_pool_executor.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST(Future, SetResultThenResult) {
    weft::promise<int> p;
    auto f = p.get_future();
    EXPECT_EQ(f.status(), weft::future_status::pending);
    EXPECT_FALSE(f.done());
    EXPECT_TRUE(p.set_running_or_notify_cancel());
    EXPECT_TRUE(f.running());
    EXPECT_FALSE(f.cancel());  // running work cannot be cancelled
    p.set_result(42);
    EXPECT_TRUE(f.done());
    EXPECT_FALSE(f.running());
    EXPECT_EQ(f.result(), 42);
    EXPECT_EQ(f.exception(), nullptr);
}

TEST(Future, ResultBlocksUntilAnotherThreadCompletes) {
    weft::promise<std::string> p;
    auto f = p.get_future();
    std::jthread producer([p = std::move(p)]() mutable {
        std::this_thread::sleep_for(20ms);
        p.set_result("hello");
    });
    EXPECT_EQ(f.result(), "hello");
}

TEST(Future, ResultTimesOut) {
    weft::promise<int> p;
    auto f = p.get_future();
    EXPECT_THROW(f.result(10ms), weft::timeout_error);
    EXPECT_THROW(f.exception(1ms), weft::timeout_error);
    EXPECT_FALSE(f.wait_for(1ms));
    p.set_result(1);
    EXPECT_TRUE(f.wait_for(1ms));
    EXPECT_EQ(f.result(0s), 1);
}

TEST(Future, ExceptionIsStoredAndRethrown) {
    weft::promise<int> p;
    auto f = p.get_future();
    p.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    EXPECT_THROW(f.result(), std::runtime_error);
    ASSERT_NE(f.exception(), nullptr);
    EXPECT_EQ(weft::describe(f.exception()), "boom");
}

TEST(Future, CancelOnlyWhilePending) {
    weft::promise<int> p;
    auto f = p.get_future();
    EXPECT_TRUE(f.cancel());
    EXPECT_TRUE(f.cancel());  // idempotent, as in Python
    EXPECT_TRUE(f.cancelled());
    EXPECT_TRUE(f.done());
    EXPECT_FALSE(p.set_running_or_notify_cancel());
    EXPECT_THROW(f.result(), weft::cancelled_error);
    EXPECT_THROW(f.exception(), weft::cancelled_error);
    EXPECT_THROW(p.set_result(1), weft::invalid_state_error);
}

TEST(Future, CompletingTwiceIsAnError) {
    weft::promise<int> p;
    p.set_result(1);
    try {
        p.set_result(2);
        FAIL() << "expected invalid_state_error";
    } catch (const weft::invalid_state_error& e) {
        EXPECT_NE(std::string(e.what()).find("finished"), std::string::npos);
    }
    EXPECT_THROW(p.set_exception(std::make_exception_ptr(std::runtime_error("x"))), weft::invalid_state_error);
    EXPECT_THROW(p.set_running_or_notify_cancel(), weft::invalid_state_error);
}

TEST(Future, BrokenPromiseFailsTheFuture) {
    weft::future<int> f;
    {
        weft::promise<int> p;
        f = p.get_future();
    }
    EXPECT_THROW(f.result(), weft::invalid_state_error);
}

TEST(Future, EmptyFutureThrows) {
    weft::future<int> f;
    EXPECT_FALSE(f.valid());
    EXPECT_THROW(f.done(), weft::invalid_state_error);
}

TEST(Future, VoidAndMoveOnlyResults) {
    weft::promise<void> pv;
    pv.set_result();
    pv.get_future().result();

    weft::promise<std::unique_ptr<int>> pu;
    pu.set_result(std::make_unique<int>(7));
    auto f = pu.get_future();
    EXPECT_EQ(*f.result(), 7);
    auto owned = f.take_result();
    EXPECT_EQ(*owned, 7);
}

TEST(Future, DoneCallbackRunsAtOnceIfDone) {
    weft::promise<int> p;
    p.set_result(5);
    int seen = 0;
    p.get_future().add_done_callback([&](weft::future<int> g) { seen = g.result(); });
    EXPECT_EQ(seen, 5);
}

TEST(Future, DoneCallbackRunsInCompletingThread) {
    weft::promise<int> p;
    auto f = p.get_future();
    std::thread::id ran_on;
    f.add_done_callback([&](weft::future<int>) { ran_on = std::this_thread::get_id(); });
    std::thread::id producer_id;
    std::jthread producer([&] {
        producer_id = std::this_thread::get_id();
        p.set_result(1);
    });
    producer.join();
    EXPECT_EQ(ran_on, producer_id);
}

TEST(Future, CallbackExceptionsAreSwallowed) {
    weft::promise<int> p;
    auto f = p.get_future();
    int after = 0;
    f.add_done_callback([](weft::future<int>) { throw std::runtime_error("callback failed"); });
    f.add_done_callback([&](weft::future<int>) { after = 1; });
    p.set_result(1);
    EXPECT_EQ(after, 1);
}

TEST(Future, CallbacksAddedFromOtherThreadsWhileCompletingRunExactlyOnce) {
    for (int round = 0; round < 50; ++round) {
        weft::promise<int> p;
        auto f = p.get_future();
        constexpr int threads = 4, per_thread = 50;
        std::vector<std::atomic<int>> calls(threads * per_thread);
        std::atomic<bool> go{false};
        std::vector<std::jthread> adders;
        for (int t = 0; t < threads; ++t) {
            adders.emplace_back([&, t] {
                while (!go.load()) std::this_thread::yield();
                for (int i = 0; i < per_thread; ++i) {
                    f.add_done_callback([&calls, idx = t * per_thread + i](weft::future<int> g) {
                        if (g.result() == 9) calls[static_cast<std::size_t>(idx)].fetch_add(1);
                    });
                }
            });
        }
        go = true;
        p.set_result(9);
        adders.clear();  // joins
        for (auto& c : calls) ASSERT_EQ(c.load(), 1);
    }
}

TEST(Future, ManyBlockingWaitersAllWake) {
    weft::promise<int> p;
    auto f = p.get_future();
    std::atomic<int> woke{0};
    std::vector<std::jthread> waiters;
    for (int i = 0; i < 8; ++i) waiters.emplace_back([&] { woke += f.result(); });
    std::this_thread::sleep_for(10ms);
    p.set_result(1);
    waiters.clear();
    EXPECT_EQ(woke.load(), 8);
}

// ---- co_await from a weft coroutine -------------------------------------------------------

TEST(FutureAwait, AwaitDoesNotBlockTheLoop) {
    weft::promise<int> p;
    auto f = p.get_future();
    auto main_task = [&]() -> weft::task<int> {
        // A timer on the same loop completes the promise from another thread: only possible
        // if the loop keeps running while the task awaits the future.
        // (Coroutine lambdas take what they use as parameters: a capture would dangle once
        // the temporary closure is gone.)
        auto opener = weft::create_task([](weft::promise<int>& pr) -> weft::task<> {
            co_await weft::sleep(5ms);
            std::jthread([&] { pr.set_result(11); }).join();
        }(p));
        int v = co_await f;
        co_await opener;
        co_return v;
    };
    EXPECT_EQ(weft::run(main_task()), 11);
}

TEST(FutureAwait, AwaitRethrowsAndMovesOut) {
    weft::thread_pool_executor pool{2};
    auto main_task = [&]() -> weft::task<int> {
        auto boom = pool.submit([]() -> int { throw std::runtime_error("boom"); });
        try {
            co_await boom;
            ADD_FAILURE() << "expected an exception";
        } catch (const std::runtime_error& e) {
            EXPECT_STREQ(e.what(), "boom");
        }
        auto owned = co_await pool.submit([] { return std::make_unique<int>(3); });
        co_return *owned;
    };
    EXPECT_EQ(weft::run(main_task()), 3);
}

TEST(FutureAwait, CancellingTheAwaitingTaskCancelsAPendingFuture) {
    weft::promise<int> p;
    auto f = p.get_future();
    auto main_task = [&]() -> weft::task<> {
        auto waiter = weft::create_task([](weft::future<int> fut) -> weft::task<int> { co_return co_await fut; }(f));
        co_await weft::sleep(1ms);
        waiter.cancel();
        EXPECT_THROW(co_await waiter, weft::cancelled_error);
    };
    weft::run(main_task());
    EXPECT_TRUE(f.cancelled());
    EXPECT_FALSE(p.set_running_or_notify_cancel());
}

TEST(FutureAwait, LateCompletionAfterTimeoutTouchesNothingFreed) {
    weft::promise<int> p;
    auto f = p.get_future();
    ASSERT_TRUE(p.set_running_or_notify_cancel());  // running: the timeout cannot cancel it
    auto main_task = [&]() -> weft::task<> {
        EXPECT_THROW(co_await weft::wait_for(f, 5ms), weft::timeout_error);
    };
    weft::run(main_task());  // the loop is closed and destroyed here
    EXPECT_TRUE(f.running());
    p.set_result(4);  // posts nowhere: the awaiter detached itself
    EXPECT_EQ(f.result(), 4);
}

TEST(FutureAwait, CoroutineAwaits10kPoolFuturesWhileLoopServesTimers) {
    weft::thread_pool_executor pool{4};
    std::atomic<int> ticks{0};
    weft::promise<void> gate;  // the first job waits until the loop has served 3 timer ticks
    auto gate_future = gate.get_future();
    auto main_task = [&]() -> weft::task<long> {
        auto ticker = weft::create_task([](std::atomic<int>& n, weft::promise<void>& g) -> weft::task<> {
            for (;;) {
                co_await weft::sleep(1ms);
                if (n.fetch_add(1) + 1 == 3) g.set_result();
            }
        }(ticks, gate));
        std::vector<weft::future<int>> fs;
        fs.reserve(10000);
        fs.push_back(pool.submit([gate_future] {
            gate_future.result();
            return 0;
        }));
        for (int i = 1; i < 10000; ++i) fs.push_back(pool.submit([i] { return i; }));
        long sum = 0;
        for (auto& f : fs) sum += co_await f;
        ticker.cancel();
        co_return sum;
    };
    EXPECT_EQ(weft::run(main_task()), 10000L * 9999 / 2);
    EXPECT_GE(ticks.load(), 3);
}

// ---- wait / as_completed ----------------------------------------------------------------

TEST(FuturesWait, AllCompleted) {
    weft::thread_pool_executor pool{2};
    std::vector<weft::future<int>> fs;
    for (int i = 0; i < 20; ++i) fs.push_back(pool.submit([i] { return i * i; }));
    auto r = weft::wait(fs);
    EXPECT_EQ(r.done.size(), 20u);
    EXPECT_TRUE(r.not_done.empty());
    for (std::size_t i = 0; i < r.done.size(); ++i) EXPECT_EQ(r.done[i].result(), int(i * i));
}

TEST(FuturesWait, FirstCompletedAndTimeout) {
    weft::promise<int> slow;
    weft::promise<int> fast;
    std::vector<weft::future<int>> fs{slow.get_future(), fast.get_future()};
    auto timed_out = weft::wait(fs, 5ms);
    EXPECT_TRUE(timed_out.done.empty());
    EXPECT_EQ(timed_out.not_done.size(), 2u);
    std::jthread t([&] { fast.set_result(1); });
    auto r = weft::wait(fs, weft::return_when::first_completed);
    ASSERT_EQ(r.done.size(), 1u);
    EXPECT_EQ(r.done[0].result(), 1);
    EXPECT_EQ(r.not_done.size(), 1u);
    slow.set_result(0);
}

TEST(FuturesWait, FirstException) {
    weft::promise<int> ok, bad, never;
    std::vector<weft::future<int>> fs{ok.get_future(), bad.get_future(), never.get_future()};
    ok.set_result(1);
    std::jthread t([&] { bad.set_exception(std::make_exception_ptr(std::runtime_error("x"))); });
    auto r = weft::wait(fs, 10s, weft::return_when::first_exception);
    EXPECT_EQ(r.done.size(), 2u);
    ASSERT_EQ(r.not_done.size(), 1u);
    EXPECT_TRUE(r.not_done[0] == fs[2]);
    never.set_result(0);
}

TEST(FuturesWait, AsCompletedYieldsInCompletionOrder) {
    weft::promise<int> a, b, c;
    std::vector<weft::future<int>> fs{a.get_future(), b.get_future(), c.get_future()};
    b.set_result(2);
    std::jthread t([&] {
        std::this_thread::sleep_for(5ms);
        c.set_result(3);
        std::this_thread::sleep_for(5ms);
        a.set_result(1);
    });
    std::vector<int> order;
    for (const auto& f : weft::as_completed(fs)) order.push_back(f.result());
    EXPECT_EQ(order, (std::vector<int>{2, 3, 1}));
}

TEST(FuturesWait, AsCompletedTimesOut) {
    weft::promise<int> a, b;
    std::vector<weft::future<int>> fs{a.get_future(), b.get_future()};
    a.set_result(1);
    int seen = 0;
    try {
        for (const auto& f : weft::as_completed(fs, 10ms)) seen += f.result();
        FAIL() << "expected timeout_error";
    } catch (const weft::timeout_error& e) {
        EXPECT_STREQ(e.what(), "1 (of 2) futures unfinished");
    }
    EXPECT_EQ(seen, 1);
}
