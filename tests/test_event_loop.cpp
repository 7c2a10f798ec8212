// weft::event_loop: callback ordering, timers, cross-thread calls, life cycle, fds, signals,
// virtual time, debug mode.
#include "log_capture.hpp"

#include <weft/event_loop.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr weft::loop_options virtual_time{.virtual_time = true};

TEST(EventLoop, CallSoonRunsInFifoOrder) {
    weft::event_loop loop;
    std::vector<int> order;
    for (int i = 0; i < 5; ++i) loop.call_soon([&order, i] { order.push_back(i); });
    loop.call_soon([&] {
        // Scheduled while running: after everything already queued.
        loop.call_soon([&] { order.push_back(100); loop.stop(); });
        order.push_back(5);
    });
    loop.call_soon([&] { order.push_back(6); });
    loop.run_forever();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 100}));
}

TEST(EventLoop, TimersFireInDeadlineOrderAndEqualDeadlinesInSchedulingOrder) {
    weft::event_loop loop(virtual_time);
    std::vector<std::string> order;
    auto start = loop.time();
    loop.call_later(30ms, [&] { order.push_back("30"); loop.stop(); });
    loop.call_later(10ms, [&] { order.push_back("10a"); });
    loop.call_at(start + 10ms, [&] { order.push_back("10b"); });
    loop.call_later(20ms, [&] { order.push_back("20"); });
    loop.call_later(10ms, [&] { order.push_back("10c"); });
    loop.call_soon([&] { order.push_back("soon"); });
    loop.run_forever();
    EXPECT_EQ(order, (std::vector<std::string>{"soon", "10a", "10b", "10c", "20", "30"}));
    EXPECT_EQ(loop.time() - start, 30ms);
}

TEST(EventLoop, CallAtInThePastRunsOnNextIteration) {
    weft::event_loop loop(virtual_time);
    bool ran = false;
    loop.call_at(loop.time() - 1s, [&] { ran = true; loop.stop(); });
    loop.run_forever();
    EXPECT_TRUE(ran);
}

TEST(EventLoop, CancelledCallbackNeverRuns) {
    weft::event_loop loop(virtual_time);
    int runs = 0;
    auto soon = loop.call_soon([&] { ++runs; });
    auto later = loop.call_later(5ms, [&] { ++runs; });
    auto at = loop.call_at(loop.time() + 5ms, [&] { ++runs; });
    soon.cancel();
    later.cancel();
    EXPECT_TRUE(soon.cancelled());
    EXPECT_TRUE(later.cancelled());
    EXPECT_FALSE(at.cancelled());
    loop.call_soon([&] { at.cancel(); });  // cancelled from a callback, before it is due
    loop.call_later(10ms, [&] { loop.stop(); });
    loop.run_forever();
    EXPECT_EQ(runs, 0);
    later.cancel();  // harmless twice
    weft::callback_handle empty;
    empty.cancel();  // harmless on an empty handle
    EXPECT_FALSE(empty.cancelled());
}

TEST(EventLoop, CancelAfterRunIsHarmless) {
    weft::event_loop loop;
    int runs = 0;
    auto h = loop.call_soon([&] { ++runs; loop.stop(); });
    loop.run_forever();
    h.cancel();
    EXPECT_EQ(runs, 1);
}

TEST(EventLoop, ExceptionInCallbackIsLoggedAndLoopContinues) {
    weft::event_loop loop;
    weft_test::weft_log().clear();
    bool after = false;
    loop.call_soon([] { throw std::runtime_error("callback-boom"); });
    loop.call_soon([&] { after = true; loop.stop(); });
    loop.run_forever();
    EXPECT_TRUE(after);
    EXPECT_EQ(weft_test::count_logged("callback-boom"), 1u);
}

TEST(EventLoop, CallSoonThreadsafeFromManyThreadsRunsEveryCallInPerThreadOrder) {
    constexpr int threads = 8;
    constexpr int per_thread = 10'000;
    weft::event_loop loop;
    std::vector<std::vector<int>> seen(threads);  // touched on the loop thread only
    int total = 0;
    std::atomic<bool> go{false};
    std::vector<std::jthread> producers;
    for (int t = 0; t < threads; ++t) {
        producers.emplace_back([&, t] {
            while (!go.load()) std::this_thread::yield();
            for (int i = 0; i < per_thread; ++i) {
                loop.call_soon_threadsafe([&, t, i] {
                    seen[t].push_back(i);
                    if (++total == threads * per_thread) loop.stop();
                });
            }
        });
    }
    loop.call_soon([&] { go = true; });
    auto watchdog = loop.call_later(60s, [&] { loop.stop(); });  // bound the test if calls are lost
    loop.run_forever();
    watchdog.cancel();
    producers.clear();
    ASSERT_EQ(total, threads * per_thread);
    for (int t = 0; t < threads; ++t) {
        ASSERT_EQ(seen[t].size(), static_cast<std::size_t>(per_thread));
        for (int i = 0; i < per_thread; ++i) ASSERT_EQ(seen[t][i], i) << "thread " << t;
    }
}

TEST(EventLoop, StopThreadsafeWakesABlockedLoop) {
    weft::event_loop loop;
    std::atomic<bool> running{false};
    loop.call_soon([&] { running = true; });
    std::jthread stopper([&] {
        while (!running.load()) std::this_thread::yield();
        std::this_thread::sleep_for(10ms);
        loop.stop_threadsafe();
    });
    loop.run_forever();  // blocks in epoll with nothing to do until the other thread wakes it
    EXPECT_EQ(loop.current_state(), weft::event_loop::state::idle);
}

TEST(EventLoop, StopBeforeRunForeverRunsOneIteration) {
    weft::event_loop loop;
    std::vector<int> order;
    loop.call_soon([&] {
        order.push_back(1);
        loop.call_soon([&] { order.push_back(2); });
    });
    loop.stop();
    loop.run_forever();
    EXPECT_EQ(order, (std::vector<int>{1}));
    loop.stop();
    loop.run_forever();  // the loop can be run again; the queued callback runs now
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(EventLoop, StateAndCurrentDuringRun) {
    weft::event_loop loop;
    EXPECT_EQ(weft::event_loop::current(), nullptr);
    EXPECT_EQ(loop.current_state(), weft::event_loop::state::idle);
    bool checked = false;
    loop.call_soon([&] {
        EXPECT_EQ(weft::event_loop::current(), &loop);
        EXPECT_TRUE(loop.is_running());
        loop.stop();
        EXPECT_EQ(loop.current_state(), weft::event_loop::state::stopping);
        checked = true;
    });
    loop.run_forever();
    EXPECT_TRUE(checked);
    EXPECT_EQ(weft::event_loop::current(), nullptr);
    loop.close();
    EXPECT_TRUE(loop.is_closed());
    loop.close();  // idempotent
}

weft::task<int> seven() { co_return 7; }

TEST(EventLoop, RunUntilCompleteReturnsTheResult) {
    weft::event_loop loop;
    EXPECT_EQ(loop.run_until_complete(seven()), 7);
    EXPECT_EQ(loop.run_until_complete(seven()), 7);  // again, same loop
    loop.close();
}

TEST(EventLoop, RunUntilCompleteOnARunningLoopNamesTheState) {
    weft::event_loop loop;
    std::string message;
    loop.call_soon([&] {
        try {
            loop.run_until_complete(seven());
        } catch (const weft::invalid_state_error& e) {
            message = e.what();
        }
        loop.stop();
    });
    loop.run_forever();
    EXPECT_NE(message.find("running"), std::string::npos) << message;
}

TEST(EventLoop, RunUntilCompleteOnAClosedLoopNamesTheState) {
    weft::event_loop loop;
    loop.close();
    try {
        loop.run_until_complete(seven());
        FAIL() << "no exception";
    } catch (const weft::invalid_state_error& e) {
        EXPECT_NE(std::string(e.what()).find("closed"), std::string::npos) << e.what();
    }
    EXPECT_THROW(loop.run_forever(), weft::invalid_state_error);
    EXPECT_THROW(loop.call_soon([] {}), weft::invalid_state_error);
    EXPECT_THROW(loop.call_later(1ms, [] {}), weft::invalid_state_error);
    EXPECT_THROW(loop.call_soon_threadsafe([] {}), weft::invalid_state_error);
}

TEST(EventLoop, AnotherLoopCannotRunInsideARunningOne) {
    weft::event_loop outer;
    weft::event_loop inner;
    bool threw = false;
    outer.call_soon([&] {
        try {
            inner.run_until_complete(seven());
        } catch (const weft::invalid_state_error&) {
            threw = true;
        }
        outer.stop();
    });
    outer.run_forever();
    EXPECT_TRUE(threw);
}

struct set_on_destroy {
    bool* flag;
    ~set_on_destroy() { *flag = true; }
};

weft::task<> sleeps_forever(bool* destroyed, bool* finished) {
    set_on_destroy guard{destroyed};
    co_await weft::sleep(24h);
    *finished = true;
}

TEST(EventLoop, CloseDestroysPendingTasksWithAWarning) {
    weft_test::weft_log().clear();
    bool destroyed = false, finished = false;
    weft::task_handle<void> handle;
    {
        weft::event_loop loop(virtual_time);
        handle = loop.create_task(sleeps_forever(&destroyed, &finished), "forever-sleeper");
        loop.call_later(1ms, [&] { loop.stop(); });
        loop.run_forever();
        EXPECT_FALSE(handle.done());
        EXPECT_EQ(loop.all_tasks().size(), 1u);
        loop.close();
        EXPECT_TRUE(destroyed);
        EXPECT_FALSE(finished);
        EXPECT_TRUE(handle.done());
        EXPECT_TRUE(handle.cancelled());
        EXPECT_TRUE(loop.all_tasks().empty());
    }
    EXPECT_EQ(weft_test::count_logged("forever-sleeper"), 1u);
    EXPECT_EQ(weft_test::count_logged("destroyed but it is pending"), 1u);
}

TEST(EventLoop, CloseWhileRunningThrows) {
    weft::event_loop loop;
    bool threw = false;
    loop.call_soon([&] {
        try {
            loop.close();
        } catch (const weft::invalid_state_error& e) {
            threw = std::string(e.what()).find("running") != std::string::npos;
        }
        loop.stop();
    });
    loop.run_forever();
    EXPECT_TRUE(threw);
}

struct pipe_fds {
    int fd[2];
    pipe_fds() { EXPECT_EQ(::pipe(fd), 0); }
    ~pipe_fds() {
        ::close(fd[0]);
        ::close(fd[1]);
    }
};

TEST(EventLoop, AddReaderCallsBackWhileReadableUntilRemoved) {
    weft::event_loop loop;
    pipe_fds p;
    std::string received;
    int calls = 0;
    loop.add_reader(p.fd[0], [&] {
        ++calls;
        char c;
        ASSERT_EQ(::read(p.fd[0], &c, 1), 1);  // one byte per call: level-triggered
        received += c;
        if (received == "abc") {
            EXPECT_TRUE(loop.remove_reader(p.fd[0]));
            loop.stop();
        }
    });
    loop.call_soon([&] { ASSERT_EQ(::write(p.fd[1], "abc", 3), 3); });
    loop.run_forever();
    EXPECT_EQ(received, "abc");
    EXPECT_EQ(calls, 3);
    EXPECT_FALSE(loop.remove_reader(p.fd[0]));
    // Removed: more data does not call back.
    ASSERT_EQ(::write(p.fd[1], "d", 1), 1);
    loop.call_later(5ms, [&] { loop.stop(); });
    loop.run_forever();
    EXPECT_EQ(calls, 3);
}

TEST(EventLoop, AddWriterOnAPipeAndReaderOnTheSameLoop) {
    weft::event_loop loop;
    pipe_fds p;
    bool wrote = false;
    std::string got;
    loop.add_writer(p.fd[1], [&] {
        ASSERT_EQ(::write(p.fd[1], "x", 1), 1);
        wrote = true;
        EXPECT_TRUE(loop.remove_writer(p.fd[1]));
    });
    loop.add_reader(p.fd[0], [&] {
        char c;
        ASSERT_EQ(::read(p.fd[0], &c, 1), 1);
        got += c;
        loop.remove_reader(p.fd[0]);
        loop.stop();
    });
    loop.run_forever();
    EXPECT_TRUE(wrote);
    EXPECT_EQ(got, "x");
    EXPECT_FALSE(loop.remove_writer(p.fd[1]));
}

TEST(EventLoop, AddReaderOnABadFdThrows) {
    weft::event_loop loop;
    EXPECT_THROW(loop.add_reader(-1, [] {}), std::system_error);
}

TEST(EventLoop, SignalIsDeliveredAsALoopEvent) {
    weft::event_loop loop;
    int delivered = 0;
    bool on_loop_thread = false;
    loop.add_signal_handler(SIGUSR1, [&] {
        ++delivered;
        on_loop_thread = weft::event_loop::current() == &loop;
        loop.stop();
    });
    loop.call_soon([] { ::raise(SIGUSR1); });
    auto watchdog = loop.call_later(30s, [&] { loop.stop(); });
    loop.run_forever();
    watchdog.cancel();
    EXPECT_EQ(delivered, 1);
    EXPECT_TRUE(on_loop_thread);
    EXPECT_TRUE(loop.remove_signal_handler(SIGUSR1));
    EXPECT_FALSE(loop.remove_signal_handler(SIGUSR1));
    EXPECT_THROW(loop.add_signal_handler(SIGKILL, [] {}), std::invalid_argument);
    EXPECT_THROW(loop.add_signal_handler(0, [] {}), std::invalid_argument);
}

TEST(EventLoop, OnlyOneLoopOwnsSignalHandlers) {
    weft::event_loop a;
    weft::event_loop b;
    a.add_signal_handler(SIGUSR2, [] {});
    EXPECT_THROW(b.add_signal_handler(SIGUSR2, [] {}), weft::invalid_state_error);
    a.close();  // releases the handlers
    b.add_signal_handler(SIGUSR2, [] {});
    EXPECT_TRUE(b.remove_signal_handler(SIGUSR2));
}

TEST(EventLoop, VirtualTimeAdvancesToTheNextTimerAtOnce) {
    weft::event_loop loop(virtual_time);
    auto start = loop.time();
    std::vector<std::chrono::hours> fired;
    loop.call_later(2h, [&] { fired.push_back(std::chrono::duration_cast<std::chrono::hours>(loop.time() - start)); loop.stop(); });
    loop.call_later(1h, [&] { fired.push_back(std::chrono::duration_cast<std::chrono::hours>(loop.time() - start)); });
    loop.run_forever();  // two hours of loop time; the test would time out on a real clock
    EXPECT_EQ(fired, (std::vector<std::chrono::hours>{1h, 2h}));
    EXPECT_EQ(loop.time() - start, 2h);
}

weft::task<> tick_tock(std::vector<int>& out, int id, int n) {
    for (int i = 0; i < n; ++i) {
        co_await weft::sleep(1s);
        out.push_back(id);
    }
}

TEST(EventLoop, VirtualTimeRunsTasksDeterministically) {
    std::vector<int> out;
    weft::run(
        [](std::vector<int>& out) -> weft::task<> {
            auto start = weft::event_loop::current()->time();
            auto a = weft::create_task(tick_tock(out, 1, 3));
            auto b = weft::create_task(tick_tock(out, 2, 3));
            co_await a;
            co_await b;
            EXPECT_EQ(weft::event_loop::current()->time() - start, 3s);
        }(out),
        virtual_time);
    EXPECT_EQ(out, (std::vector<int>{1, 2, 1, 2, 1, 2}));
}

weft::task<> blocks_the_loop() {
    std::this_thread::sleep_for(60ms);  // deliberately blocking: what debug mode reports
    co_return;
}

TEST(EventLoop, DebugModeWarnsAboutASlowStepNamingTheTask) {
    weft_test::weft_log().clear();
    weft::event_loop loop(weft::loop_options{.debug = true});
    EXPECT_TRUE(loop.get_debug());
    loop.slow_callback_duration = 20ms;
    loop.run_until_complete(loop.create_task(blocks_the_loop(), "slowpoke"));
    EXPECT_EQ(weft_test::count_logged("slowpoke"), 1u);
    EXPECT_EQ(weft_test::count_logged("blocking the event loop"), 1u);
}

TEST(EventLoop, NoSlowStepWarningWithoutDebugMode) {
    weft_test::weft_log().clear();
    weft::event_loop loop;
    loop.set_debug(false);
    loop.slow_callback_duration = 20ms;
    loop.run_until_complete(loop.create_task(blocks_the_loop(), "quiet-slowpoke"));
    EXPECT_EQ(weft_test::count_logged("quiet-slowpoke"), 0u);
}

}  // namespace
