// Spawned tasks (weft::create_task, task_handle): ordering, results, callbacks, cancellation
// at every kind of await, never-retrieved errors, run()'s shutdown, shield.
#include "log_capture.hpp"
#include "runtime_test_support.hpp"

#include <weft/as_completed.hpp>
#include <weft/event_loop.hpp>
#include <weft/gather.hpp>
#include <weft/run.hpp>
#include <weft/shield.hpp>
#include <weft/sleep.hpp>
#include <weft/task_group.hpp>
#include <weft/task_handle.hpp>
#include <weft/wait.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using namespace weft_test;

weft::task<> record(std::vector<int>& out, int id) {
    out.push_back(id);
    co_return;
}

// Sleeps; on cancellation records it and rethrows.
weft::task<> sleeper(weft::event_loop::duration d, bool& cancelled, bool& finished) {
    try {
        co_await weft::sleep(d);
    } catch (const weft::cancelled_error&) {
        cancelled = true;
        throw;
    }
    finished = true;
}

TEST(TaskHandle, TasksStartInCreationOrderAfterTheCreatorYields) {
    weft::run([]() -> weft::task<> {
        std::vector<int> out;
        std::vector<weft::task_handle<void>> hs;
        for (int i = 0; i < 5; ++i) hs.push_back(weft::create_task(record(out, i)));
        EXPECT_TRUE(out.empty());  // nothing runs until the creator suspends
        for (auto& h : hs) EXPECT_FALSE(h.done());
        co_await weft::sleep(0s);
        EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4}));
        for (auto& h : hs) EXPECT_TRUE(h.done());
    }());
}

TEST(TaskHandle, DoneResultExceptionCancelled) {
    weft::run(
        []() -> weft::task<> {
            auto ok = weft::create_task(value_after(5, 1ms));
            auto bad = weft::create_task(fails_after("bad", 1ms));
            EXPECT_FALSE(ok.done());
            co_await weft::sleep(2ms);
            EXPECT_TRUE(ok.done());
            EXPECT_FALSE(ok.cancelled());
            EXPECT_EQ(ok.result(), 5);
            EXPECT_EQ(ok.exception(), nullptr);
            EXPECT_EQ(co_await ok, 5);
            EXPECT_EQ(co_await ok, 5);  // awaiting twice gives the result twice
            EXPECT_TRUE(bad.done());
            EXPECT_FALSE(bad.cancelled());
            EXPECT_NE(bad.exception(), nullptr);
            EXPECT_THROW(bad.result(), std::runtime_error);
            EXPECT_EQ(bad.cancel(), false);  // done: cancel is refused
            EXPECT_FALSE(bad.cancelled());
        }(),
        virtual_time);
}

TEST(TaskHandle, ResultWhilePendingNamesTheState) {
    weft::run(
        []() -> weft::task<> {
            auto h = weft::create_task(value_after(1, 1s), "not-yet");
            try {
                (void)h.result();
                ADD_FAILURE() << "no exception";
            } catch (const weft::invalid_state_error& e) {
                std::string what = e.what();
                EXPECT_NE(what.find("pending"), std::string::npos) << what;
                EXPECT_NE(what.find("not-yet"), std::string::npos) << what;
            }
            EXPECT_THROW((void)h.exception(), weft::invalid_state_error);
            h.cancel();
            co_return;
        }(),
        virtual_time);
}

TEST(TaskHandle, EmptyHandleThrowsInvalidState) {
    weft::task_handle<int> h;
    EXPECT_FALSE(h);
    EXPECT_THROW((void)h.done(), weft::invalid_state_error);
}

TEST(TaskHandle, NamesAndIds) {
    weft::run([]() -> weft::task<> {
        auto a = weft::create_task(value_after(1, 0s));
        auto b = weft::create_task(value_after(1, 0s), "named");
        EXPECT_EQ(a.name().rfind("Task-", 0), 0u) << a.name();
        EXPECT_EQ(b.name(), "named");
        b.set_name("renamed");
        EXPECT_EQ(b.name(), "renamed");
        EXPECT_EQ(&a.get_loop(), weft::event_loop::current());
        co_await a;
        co_await b;
    }());
}

TEST(TaskHandle, DoneCallbackGetsTheHandleAndRunsSoonEvenIfAlreadyDone) {
    weft::run(
        []() -> weft::task<> {
            std::vector<std::string> log;
            auto h = weft::create_task(value_after(3, 1ms));
            h.add_done_callback([&](weft::task_handle<int> t) { log.push_back("first:" + std::to_string(t.result())); });
            h.add_done_callback([&](weft::task_handle<int> t) {
                EXPECT_EQ(t, h);
                log.push_back("second");
            });
            co_await h;
            co_await weft::sleep(0s);
            EXPECT_EQ(log, (std::vector<std::string>{"first:3", "second"}));
            h.add_done_callback([&](weft::task_handle<int>) { log.push_back("late"); });
            EXPECT_EQ(log.size(), 2u);  // not called synchronously
            co_await weft::sleep(0s);
            EXPECT_EQ(log.size(), 3u);
            EXPECT_EQ(log.back(), "late");
        }(),
        virtual_time);
}

weft::task<> sets_flag_later(bool& flag) {
    co_await weft::sleep(10ms);
    flag = true;
}

TEST(TaskHandle, DroppingTheHandleDoesNotDestroyARunningTask) {
    weft::run(
        []() -> weft::task<> {
            bool flag = false;
            { (void)weft::create_task(sets_flag_later(flag)); }
            co_await weft::sleep(20ms);
            EXPECT_TRUE(flag);
        }(),
        virtual_time);
}

weft::task<> must_not_run(bool& ran) {
    ran = true;
    co_return;
}

TEST(TaskHandle, CancelBeforeFirstStepMeansTheBodyNeverRuns) {
    weft::run([]() -> weft::task<> {
        bool ran = false;
        auto h = weft::create_task(must_not_run(ran));
        EXPECT_TRUE(h.cancel());
        EXPECT_TRUE(h.cancel());  // a second request is accepted too
        EXPECT_FALSE(h.done());
        EXPECT_THROW(co_await h, weft::cancelled_error);
        EXPECT_FALSE(ran);
        EXPECT_TRUE(h.cancelled());
        EXPECT_THROW(h.result(), weft::cancelled_error);
        EXPECT_THROW((void)h.exception(), weft::cancelled_error);
    }());
}

TEST(TaskHandle, CancelDuringSleepWakesAtOnce) {
    weft::run(
        []() -> weft::task<> {
            bool cancelled = false, finished = false;
            auto start = weft::event_loop::current()->time();
            auto h = weft::create_task(sleeper(1h, cancelled, finished));
            co_await weft::sleep(1ms);
            h.cancel();
            EXPECT_THROW(co_await h, weft::cancelled_error);
            EXPECT_TRUE(cancelled);
            EXPECT_FALSE(finished);
            EXPECT_EQ(since(start), 1ms);  // the 1 h timer did not hold anything up
        }(),
        virtual_time);
}

weft::task<int> awaits_handle(weft::task_handle<int> inner) { co_return co_await inner; }

TEST(TaskHandle, CancelDuringAwaitOfAnotherTaskCancelsThatTaskToo) {
    weft::run(
        []() -> weft::task<> {
            auto inner = weft::create_task(value_after(1, 1h));
            auto outer = weft::create_task(awaits_handle(inner));
            co_await weft::sleep(1ms);
            outer.cancel();
            EXPECT_THROW(co_await outer, weft::cancelled_error);
            EXPECT_TRUE(inner.cancelled());
            EXPECT_TRUE(outer.cancelled());
        }(),
        virtual_time);
}

weft::task<int> swallows_cancel() {
    try {
        co_await weft::sleep(1h);
    } catch (const weft::cancelled_error&) {
        co_return -1;  // refuses to be cancelled
    }
    co_return 0;
}

TEST(TaskHandle, AwaiterGetsTheResultWhenTheAwaitedTaskSwallowsTheCancel) {
    // asyncio: cancel() forwards to the awaited task; if that task ignores it, the awaiter
    // simply gets its result.
    weft::run(
        []() -> weft::task<> {
            auto inner = weft::create_task(swallows_cancel());
            auto outer = weft::create_task(awaits_handle(inner));
            co_await weft::sleep(1ms);
            outer.cancel();
            EXPECT_EQ(co_await outer, -1);
            EXPECT_FALSE(inner.cancelled());
        }(),
        virtual_time);
}

weft::task<std::vector<int>> gathers_two(bool& c1, bool& f1, bool& c2, bool& f2) {
    auto [a, b] = co_await weft::gather(sleeper(1h, c1, f1), sleeper(2h, c2, f2));
    (void)a;
    (void)b;
    co_return std::vector<int>{};
}

TEST(TaskHandle, CancelDuringGatherCancelsTheChildren) {
    weft::run(
        []() -> weft::task<> {
            bool c1 = false, f1 = false, c2 = false, f2 = false;
            auto g = weft::create_task(gathers_two(c1, f1, c2, f2));
            co_await weft::sleep(1ms);
            g.cancel();
            EXPECT_THROW(co_await g, weft::cancelled_error);
            EXPECT_TRUE(c1);
            EXPECT_TRUE(c2);
            EXPECT_FALSE(f1 || f2);
        }(),
        virtual_time);
}

weft::task<> waits_on(std::vector<weft::task_handle<int>> hs) { (void)co_await weft::wait(std::move(hs)); }

TEST(TaskHandle, CancelDuringWaitLeavesTheChildrenRunning) {
    weft::run(
        []() -> weft::task<> {
            auto start = weft::event_loop::current()->time();
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 10ms)),
                                                   weft::create_task(value_after(2, 20ms))};
            auto w = weft::create_task(waits_on(hs));
            co_await weft::sleep(1ms);
            w.cancel();
            EXPECT_THROW(co_await w, weft::cancelled_error);
            EXPECT_EQ(since(start), 1ms);
            EXPECT_EQ(co_await hs[0], 1);
            EXPECT_EQ(co_await hs[1], 2);
        }(),
        virtual_time);
}

weft::task<> takes_next(std::vector<weft::task_handle<int>> hs) {
    auto order = weft::as_completed(std::move(hs));
    (void)co_await order.next();
}

TEST(TaskHandle, CancelDuringAsCompletedNextLeavesTheTasksRunning) {
    weft::run(
        []() -> weft::task<> {
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 10ms))};
            auto w = weft::create_task(takes_next(hs));
            co_await weft::sleep(1ms);
            w.cancel();
            EXPECT_THROW(co_await w, weft::cancelled_error);
            EXPECT_EQ(co_await hs[0], 1);
        }(),
        virtual_time);
}

weft::task<> joins_group(bool& c1, bool& f1) {
    weft::task_group group;
    group.create_task(sleeper(1h, c1, f1));
    co_await group.join();
}

TEST(TaskHandle, CancelDuringTaskGroupJoinCancelsTheChildren) {
    weft::run(
        []() -> weft::task<> {
            bool c = false, f = false;
            auto j = weft::create_task(joins_group(c, f));
            co_await weft::sleep(1ms);
            j.cancel();
            EXPECT_THROW(co_await j, weft::cancelled_error);
            EXPECT_TRUE(c);
            EXPECT_FALSE(f);
        }(),
        virtual_time);
}

weft::task<> awaits_inline_chain(bool& cancelled, bool& finished) {
    // A deep chain of plain task<> awaits: the cancel reaches the innermost suspension.
    co_await sleeper(1h, cancelled, finished);
}

TEST(TaskHandle, CancelReachesTheInnermostAwaitOfAnInlineChain) {
    weft::run(
        []() -> weft::task<> {
            bool c = false, f = false;
            auto h = weft::create_task(awaits_inline_chain(c, f));
            co_await weft::sleep(1ms);
            h.cancel();
            EXPECT_THROW(co_await h, weft::cancelled_error);
            EXPECT_TRUE(c);
        }(),
        virtual_time);
}

TEST(TaskHandle, CancellingAndUncancelCountRequests) {
    weft::run(
        []() -> weft::task<> {
            auto h = weft::create_task(swallows_cancel());
            EXPECT_EQ(h.cancelling(), 0);
            co_await weft::sleep(1ms);
            h.cancel();
            h.cancel();
            EXPECT_EQ(h.cancelling(), 2);
            EXPECT_EQ(h.uncancel(), 1);
            EXPECT_EQ(h.cancelling(), 1);
            EXPECT_EQ(co_await h, -1);
            EXPECT_FALSE(h.cancelled());
        }(),
        virtual_time);
}

weft::task<int> catches_cancel_and_continues() {
    int steps = 0;
    try {
        co_await weft::sleep(1h);
    } catch (const weft::cancelled_error&) {
        ++steps;
        weft::current_task().uncancel();
    }
    co_await weft::sleep(5ms);  // later suspensions are not cancelled again
    ++steps;
    co_return steps;
}

TEST(TaskHandle, ATaskThatCatchesTheCancelCarriesOn) {
    weft::run(
        []() -> weft::task<> {
            auto start = weft::event_loop::current()->time();
            auto h = weft::create_task(catches_cancel_and_continues());
            co_await weft::sleep(1ms);
            h.cancel();
            EXPECT_EQ(co_await h, 2);
            EXPECT_FALSE(h.cancelled());
            EXPECT_EQ(h.cancelling(), 0);
            EXPECT_EQ(since(start), 6ms);
        }(),
        virtual_time);
}

weft::task<int> busy_then_returns(bool& second_step) {
    co_await weft::sleep(0s);
    second_step = true;
    co_return 1;  // cancelled while runnable: the next suspension would throw, there is none
}

TEST(TaskHandle, CancelWhileRunnableEndsCancelled) {
    weft::run([]() -> weft::task<> {
        bool second = false;
        auto h = weft::create_task(busy_then_returns(second));
        co_await weft::sleep(0s);  // h ran its first step and is queued again
        h.cancel();
        EXPECT_THROW(co_await h, weft::cancelled_error);
        EXPECT_TRUE(h.cancelled());
    }());
}

weft::task<std::string> generic_catch() {
    try {
        co_await weft::sleep(1h);
    } catch (const std::exception&) {
        co_return "swallowed by catch(std::exception)";
    }
    co_return "finished";
}

TEST(TaskHandle, CancelledErrorPassesThroughCatchStdException) {
    weft::run(
        []() -> weft::task<> {
            auto h = weft::create_task(generic_catch());
            co_await weft::sleep(1ms);
            h.cancel();
            EXPECT_THROW(co_await h, weft::cancelled_error);
            EXPECT_TRUE(h.cancelled());
        }(),
        virtual_time);
}

weft::task<bool> is_current(weft::any_task* seen) {
    *seen = weft::current_task();
    co_return static_cast<bool>(*seen);
}

TEST(TaskHandle, CurrentTaskAndAllTasks) {
    EXPECT_FALSE(weft::current_task());
    EXPECT_TRUE(weft::all_tasks().empty());
    weft::run(
        []() -> weft::task<> {
            weft::any_task main = weft::current_task();
            EXPECT_EQ(main.name(), "main");
            weft::any_task seen;
            auto h = weft::create_task(is_current(&seen));
            auto s = weft::create_task(value_after(1, 1h));
            auto all = weft::all_tasks();
            EXPECT_EQ(all.size(), 3u);
            EXPECT_NE(std::find(all.begin(), all.end(), main), all.end());
            EXPECT_NE(std::find(all.begin(), all.end(), weft::any_task(h)), all.end());
            EXPECT_TRUE(co_await h);
            EXPECT_EQ(seen, weft::any_task(h));
            EXPECT_EQ(weft::current_task(), main);
            all = weft::all_tasks();  // finished tasks are gone
            EXPECT_EQ(all.size(), 2u);
            EXPECT_EQ(std::find(all.begin(), all.end(), weft::any_task(h)), all.end());
            s.cancel();
        }(),
        virtual_time);
}

weft::task<> fails_now(std::string what) {
    throw std::runtime_error(what);
    co_return;
}

TEST(TaskHandle, UnretrievedExceptionIsLoggedWhenTheTaskIsDestroyed) {
    weft_test::weft_log().clear();
    weft::run(
        []() -> weft::task<> {
            { (void)weft::create_task(fails_now("lost-error-1"), "loser"); }
            auto kept = weft::create_task(fails_now("lost-error-2"));
            co_await weft::sleep(1ms);
            EXPECT_EQ(weft_test::count_logged("never retrieved"), 1u);  // the dropped one, already
            EXPECT_EQ(weft_test::count_logged("lost-error-1"), 1u);
            EXPECT_EQ(weft_test::count_logged("loser"), 1u);
            EXPECT_EQ(weft_test::count_logged("lost-error-2"), 0u);  // still referenced
        }(),
        virtual_time);
    EXPECT_EQ(weft_test::count_logged("lost-error-2"), 1u);
    EXPECT_EQ(weft_test::count_logged("never retrieved"), 2u);
}

TEST(TaskHandle, RetrievedExceptionIsNotLogged) {
    weft_test::weft_log().clear();
    weft::run(
        []() -> weft::task<> {
            auto a = weft::create_task(fails_now("seen-by-await"));
            auto b = weft::create_task(fails_now("seen-by-exception"));
            auto c = weft::create_task(fails_now("seen-by-result"));
            EXPECT_THROW(co_await a, std::runtime_error);
            co_await weft::sleep(0s);
            EXPECT_NE(b.exception(), nullptr);
            EXPECT_THROW(c.result(), std::runtime_error);
        }(),
        virtual_time);
    EXPECT_EQ(weft_test::count_logged("never retrieved"), 0u);
}

TEST(TaskHandle, RunCancelsLeftoverTasksAtTheEnd) {
    bool c1 = false, f1 = false, c2 = false, f2 = false;
    weft::run(
        [](bool& c1, bool& f1, bool& c2, bool& f2) -> weft::task<> {
            (void)weft::create_task(sleeper(1h, c1, f1));
            (void)weft::create_task(sleeper(2h, c2, f2));
            co_await weft::sleep(1ms);
        }(c1, f1, c2, f2),
        virtual_time);
    EXPECT_TRUE(c1 && c2);
    EXPECT_FALSE(f1 || f2);
}

weft::task<> slow_cleanup_on_cancel(bool& cleaned) {
    try {
        co_await weft::sleep(1h);
    } catch (const weft::cancelled_error&) {
        cleaned = false;
    }
    co_await weft::sleep(10ms);  // cleanup that itself awaits
    cleaned = true;
}

TEST(TaskHandle, RunWaitsForLeftoverTasksToFinishTheirCleanup) {
    bool cleaned = false;
    weft::run(
        [](bool& cleaned) -> weft::task<> {
            (void)weft::create_task(slow_cleanup_on_cancel(cleaned));
            co_await weft::sleep(1ms);
        }(cleaned),
        virtual_time);
    EXPECT_TRUE(cleaned);
}

weft::task<int> shields(weft::task_handle<int> inner) { co_return co_await weft::shield(inner); }

TEST(TaskHandle, ShieldKeepsTheInnerTaskRunning) {
    weft::run(
        []() -> weft::task<> {
            auto inner = weft::create_task(value_after(9, 10ms));
            auto outer = weft::create_task(shields(inner));
            co_await weft::sleep(1ms);
            outer.cancel();
            EXPECT_THROW(co_await outer, weft::cancelled_error);
            EXPECT_FALSE(inner.done());
            EXPECT_EQ(co_await inner, 9);
        }(),
        virtual_time);
}

weft::task<int> shields_task(bool& c, bool& f) {
    co_await weft::shield(sleeper(10ms, c, f));
    co_return 0;
}

TEST(TaskHandle, ShieldOfATaskSpawnsItAndLetsItFinish) {
    weft::run(
        []() -> weft::task<> {
            bool c = false, f = false;
            auto outer = weft::create_task(shields_task(c, f));
            co_await weft::sleep(1ms);
            outer.cancel();
            EXPECT_THROW(co_await outer, weft::cancelled_error);
            EXPECT_FALSE(f);
            co_await weft::sleep(20ms);
            EXPECT_TRUE(f);
            EXPECT_FALSE(c);
        }(),
        virtual_time);
}

TEST(TaskHandle, ShieldPassesResultsAndErrorsThrough) {
    weft::run(
        []() -> weft::task<> {
            EXPECT_EQ(co_await weft::shield(value_after(4, 1ms)), 4);
            EXPECT_THROW(co_await weft::shield(fails_after("shielded", 1ms)), std::runtime_error);
        }(),
        virtual_time);
}

TEST(TaskHandle, CreateTaskWithoutARunningLoopThrows) {
    EXPECT_THROW((void)weft::create_task(value_after(1, 0s)), weft::invalid_state_error);
}

}  // namespace
