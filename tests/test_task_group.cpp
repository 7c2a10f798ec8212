// weft::task_group: success, failure cancelling siblings with every error reported, refusal of
// new children, cancellation of the joiner, late children, destruction without join.
#include "log_capture.hpp"
#include "runtime_test_support.hpp"

#include <weft/event_loop.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_group.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using namespace weft_test;

// Sleeps; when cancelled, records it and (optionally) fails with `on_cancel` instead.
weft::task<int> sleeper(weft::event_loop::duration d, bool& cancelled, std::string on_cancel = {}) {
    try {
        co_await weft::sleep(d);
    } catch (const weft::cancelled_error&) {
        cancelled = true;
        if (!on_cancel.empty()) throw std::logic_error(on_cancel);
        throw;
    }
    co_return 0;
}

std::vector<std::string> messages(const weft::exception_group& g) {
    std::vector<std::string> out;
    for (auto& e : g.exceptions()) out.push_back(weft::describe(e));
    return out;
}

TEST(TaskGroup, AllChildrenSucceed) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            weft::task_group group;
            EXPECT_EQ(group.current_state(), weft::task_group::state::open);
            auto a = group.create_task(value_after(1, 10ms));
            auto b = group.create_task(value_after(2, 20ms), "second");
            EXPECT_EQ(b.name(), "second");
            co_await group.join();
            EXPECT_EQ(group.current_state(), weft::task_group::state::joined);
            EXPECT_EQ(a.result() + b.result(), 3);
            EXPECT_EQ(since(start), 20ms);
        }(),
        virtual_time);
}

TEST(TaskGroup, EmptyGroupJoinsAtOnce) {
    weft::run(
        []() -> weft::task<> {
            weft::task_group group;
            co_await group.join();
            EXPECT_THROW(co_await group.join(), weft::invalid_state_error);  // joined already
        }(),
        virtual_time);
}

TEST(TaskGroup, AFailingChildCancelsItsSiblingsAndJoinReportsEveryError) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            bool quiet_cancelled = false, loud_cancelled = false;
            weft::task_group group;
            auto quiet = group.create_task(sleeper(1h, quiet_cancelled));
            group.create_task(fails_after("first failure", 10ms));
            group.create_task(sleeper(1h, loud_cancelled, "failed while cancelled"));
            try {
                co_await group.join();
                ADD_FAILURE() << "no exception";
            } catch (const weft::exception_group& g) {
                EXPECT_EQ(messages(g), (std::vector<std::string>{"first failure", "failed while cancelled"}));
                EXPECT_NE(std::string(g.what()).find("first failure"), std::string::npos) << g.what();
            }
            EXPECT_EQ(since(start), 10ms);
            EXPECT_TRUE(quiet_cancelled && loud_cancelled);
            EXPECT_TRUE(quiet.cancelled());
        }(),
        virtual_time);
}

TEST(TaskGroup, FailuresAreReportedInTheOrderTheyHappened) {
    weft::run(
        []() -> weft::task<> {
            weft::task_group group;
            group.create_task(fails_after("late", 10ms));
            group.create_task(fails_after("early", 5ms));
            group.create_task(fails_after("same time as early", 5ms));
            try {
                co_await group.join();
            } catch (const weft::exception_group& g) {
                // "late" is cancelled at 5 ms, before it could fail.
                EXPECT_EQ(messages(g), (std::vector<std::string>{"early", "same time as early"}));
            }
        }(),
        virtual_time);
}

TEST(TaskGroup, CreateTaskAfterAFailureIsRefused) {
    weft::run(
        []() -> weft::task<> {
            weft::task_group group;
            group.create_task(fails_after("x", 1ms));
            co_await weft::sleep(2ms);
            EXPECT_EQ(group.current_state(), weft::task_group::state::aborting);
            try {
                group.create_task(value_after(1, 0s));
                ADD_FAILURE() << "no exception";
            } catch (const weft::invalid_state_error& e) {
                EXPECT_NE(std::string(e.what()).find("aborting"), std::string::npos) << e.what();
            }
            EXPECT_THROW(co_await group.join(), weft::exception_group);
            EXPECT_THROW(group.create_task(value_after(1, 0s)), weft::invalid_state_error);
        }(),
        virtual_time);
}

weft::task<> joins(bool& c1, bool& c2) {
    weft::task_group group;
    group.create_task(sleeper(1h, c1));
    group.create_task(sleeper(2h, c2));
    co_await group.join();
}

TEST(TaskGroup, CancellingTheJoiningTaskCancelsTheChildren) {
    weft::run(
        []() -> weft::task<> {
            bool c1 = false, c2 = false;
            auto j = weft::create_task(joins(c1, c2));
            co_await weft::sleep(1ms);
            j.cancel();
            EXPECT_THROW(co_await j, weft::cancelled_error);
            EXPECT_TRUE(c1 && c2);
            EXPECT_EQ(weft::all_tasks().size(), 1u);
        }(),
        virtual_time);
}

weft::task<> joins_with_timeout(bool& c1) {
    auto scope = weft::timeout(5ms);
    weft::task_group group;
    group.create_task(sleeper(1h, c1));
    co_await group.join();
}

TEST(TaskGroup, TimeoutAroundJoinCancelsTheChildrenAndThrowsTimeout) {
    weft::run(
        []() -> weft::task<> {
            bool c1 = false;
            auto start = now();
            EXPECT_THROW(co_await joins_with_timeout(c1), weft::timeout_error);
            EXPECT_TRUE(c1);
            EXPECT_EQ(since(start), 5ms);
        }(),
        virtual_time);
}

weft::task<> join_in_expired_scope(bool& c1) {
    auto scope = weft::timeout(5ms);
    weft::task_group group;
    group.create_task(sleeper(1h, c1));
    EXPECT_THROW(co_await weft::sleep(1h), weft::timeout_error);
    co_await group.join();  // the scope is already expired: join must still cancel and wait
}

TEST(TaskGroup, JoinInsideAnAlreadyExpiredScopeCancelsAndWaits) {
    weft::run(
        []() -> weft::task<> {
            bool c1 = false;
            EXPECT_THROW(co_await join_in_expired_scope(c1), weft::timeout_error);
            EXPECT_TRUE(c1);
            EXPECT_EQ(weft::all_tasks().size(), 1u);
        }(),
        virtual_time);
}

weft::task<int> spawns_sibling(weft::task_group& group, int& late_result) {
    co_await weft::sleep(10ms);
    group.create_task([](int& out) -> weft::task<int> {
        co_await weft::sleep(20ms);
        out = 42;
        co_return 0;
    }(late_result));
    co_return 1;
}

TEST(TaskGroup, ChildrenSpawnedWhileJoiningAreAwaited) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            int late = 0;
            weft::task_group group;
            group.create_task(spawns_sibling(group, late));
            co_await group.join();
            EXPECT_EQ(late, 42);
            EXPECT_EQ(since(start), 30ms);
        }(),
        virtual_time);
}

weft::task<> leaves_group_by_exception(bool& c1) {
    weft::task_group group;
    group.create_task(fails_after("failed before the scope ended", 1ms));
    group.create_task(sleeper(1h, c1));
    co_await weft::sleep(5ms);
    throw std::runtime_error("scope left without join");
}

TEST(TaskGroup, DestroyedWithoutJoinCancelsChildrenAndLogsTheirErrors) {
    weft_test::weft_log().clear();
    weft::run(
        []() -> weft::task<> {
            bool c1 = false;
            EXPECT_THROW(co_await leaves_group_by_exception(c1), std::runtime_error);
            EXPECT_TRUE(c1);
            EXPECT_EQ(weft_test::count_logged("failed before the scope ended"), 1u);
        }(),
        virtual_time);
}

weft::task<> destroys_group_with_running_children(bool& c1) {
    weft::task_group group;
    group.create_task(sleeper(1h, c1, "failed after the group was gone"));
    co_await weft::sleep(1ms);
    throw std::runtime_error("scope left without join");
}

TEST(TaskGroup, ChildFailingAfterTheGroupIsGoneIsLoggedAsNeverRetrieved) {
    weft_test::weft_log().clear();
    weft::run(
        []() -> weft::task<> {
            bool c1 = false;
            EXPECT_THROW(co_await destroys_group_with_running_children(c1), std::runtime_error);
            co_await weft::sleep(1ms);
            EXPECT_TRUE(c1);
        }(),
        virtual_time);
    EXPECT_EQ(weft_test::count_logged("failed after the group was gone"), 1u);
}

TEST(TaskGroup, CancelCancelsChildrenButJoinStillSucceeds) {
    weft::run(
        []() -> weft::task<> {
            bool c = false;
            weft::task_group group;
            auto h = group.create_task(sleeper(1h, c));
            co_await weft::sleep(1ms);
            group.cancel();
            co_await group.join();  // cancelled children are not errors
            EXPECT_TRUE(c);
            EXPECT_TRUE(h.cancelled());
        }(),
        virtual_time);
}

TEST(TaskGroup, ChildErrorsAreNotLoggedAsNeverRetrieved) {
    weft_test::weft_log().clear();
    weft::run(
        []() -> weft::task<> {
            weft::task_group group;
            group.create_task(fails_after("a", 1ms));
            group.create_task(fails_after("b", 1ms));
            EXPECT_THROW(co_await group.join(), weft::exception_group);
        }(),
        virtual_time);
    EXPECT_EQ(weft_test::count_logged("never retrieved"), 0u);
}

}  // namespace

namespace {

// A value that counts how many of it exist (a finished task keeps its result while held).
struct counted {
    static inline int alive = 0;
    counted() { ++alive; }
    counted(const counted&) { ++alive; }
    counted(counted&&) noexcept { ++alive; }
    counted& operator=(const counted&) = default;
    counted& operator=(counted&&) noexcept = default;
    ~counted() { --alive; }
};

weft::task<counted> make_counted() { co_return counted{}; }

}  // namespace

TEST(TaskGroup, FinishedChildrenAreNotKeptByALongLivedGroup) {
    counted::alive = 0;
    weft::run(
        []() -> weft::task<> {
            weft::task_group group;
            for (int i = 0; i < 5000; ++i) {
                group.create_task(make_counted());
                if (i % 100 == 99) co_await weft::sleep(0ms);  // let the batch finish
            }
            // Without dropping finished children, all 5000 results would still be held here.
            EXPECT_LT(counted::alive, 300);
            co_await group.join();
        }(),
        virtual_time);
    EXPECT_EQ(counted::alive, 0);
}
