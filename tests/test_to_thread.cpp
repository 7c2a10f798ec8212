#include <weft/event.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/thread_pool_executor.hpp>
#include <weft/to_thread.hpp>

#include <gtest/gtest.h>

#include <latch>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

TEST(ToThread, RunsOnAnotherThreadAndReturnsTheResult) {
    auto main_task = []() -> weft::task<bool> {
        auto loop_thread = std::this_thread::get_id();
        auto worker_thread = co_await weft::to_thread([] { return std::this_thread::get_id(); });
        co_return worker_thread != loop_thread;
    };
    EXPECT_TRUE(weft::run(main_task()));
}

TEST(ToThread, ForwardsArgumentsAndExceptions) {
    auto main_task = []() -> weft::task<std::string> {
        auto joined = co_await weft::to_thread([](std::string a, int n) { return a + std::to_string(n); }, "x", 5);
        try {
            co_await weft::to_thread([] { throw std::runtime_error("blocking call failed"); });
        } catch (const std::runtime_error& e) {
            joined += std::string(" ") + e.what();
        }
        co_return joined;
    };
    EXPECT_EQ(weft::run(main_task()), "x5 blocking call failed");
}

TEST(ToThread, TheLoopKeepsRunningWhileTheCallBlocks) {
    // The blocking call waits for an event that only a timer on the loop sets.
    weft::event opened;
    auto main_task = [&]() -> weft::task<int> {
        auto opener = weft::create_task([](weft::event& e) -> weft::task<> {  // parameters, not captures:
            co_await weft::sleep(5ms);                                        // the closure is a temporary
            e.set();
        }(opened));
        int r = co_await weft::to_thread([&] { return opened.wait(10s) ? 1 : 0; });
        co_await opener;
        co_return r;
    };
    EXPECT_EQ(weft::run(main_task()), 1);
}

TEST(ToThread, RunInExecutorUsesTheGivenPool) {
    weft::thread_pool_executor pool{1};
    auto main_task = [&]() -> weft::task<int> {
        auto* loop = weft::event_loop::current();
        co_return co_await loop->run_in_executor(pool, [](int x) { return x * 10; }, 4);
    };
    EXPECT_EQ(weft::run(main_task()), 40);
}

TEST(ToThread, CancellingTheAwaiterCancelsACallThatHasNotStarted) {
    weft::thread_pool_executor pool{1};
    std::latch release{1};
    auto blocker = pool.submit([&] { release.wait(); });
    weft::future<int> queued;
    auto main_task = [&]() -> weft::task<> {
        queued = pool.submit([] { return 1; });
        auto waiter = weft::create_task([](weft::future<int> f) -> weft::task<int> { co_return co_await f; }(queued));
        co_await weft::sleep(1ms);
        waiter.cancel();
        EXPECT_THROW(co_await waiter, weft::cancelled_error);
    };
    weft::run(main_task());
    release.count_down();
    blocker.result();
    EXPECT_TRUE(queued.cancelled());
}
