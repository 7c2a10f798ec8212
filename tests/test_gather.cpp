// weft::gather: result shapes and order, first-error propagation, return_exceptions,
// cancellation, no spurious "never retrieved" logs.
#include "log_capture.hpp"
#include "runtime_test_support.hpp"

#include <weft/event_loop.hpp>
#include <weft/gather.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

using namespace std::chrono_literals;

namespace {

using namespace weft_test;

weft::task<std::string> text_after(std::string v, weft::event_loop::duration d) {
    co_await weft::sleep(d);
    co_return v;
}
weft::task<> nothing_after(weft::event_loop::duration d, bool& done) {
    co_await weft::sleep(d);
    done = true;
}
weft::task<int> cancellable(weft::event_loop::duration d, bool& cancelled, weft::event_loop::duration cleanup = 0s) {
    try {
        co_await weft::sleep(d);
    } catch (const weft::cancelled_error&) {
        cancelled = true;
    }
    if (cancelled) {
        co_await weft::sleep(cleanup);  // cleanup that takes a while
        throw weft::cancelled_error();
    }
    co_return 1;
}

TEST(Gather, VariadicGivesATupleInArgumentOrder) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            bool done = false;
            auto result = co_await weft::gather(value_after(1, 30ms), text_after("two", 10ms), nothing_after(20ms, done));
            static_assert(std::is_same_v<decltype(result), std::tuple<int, std::string, std::monostate>>);
            EXPECT_EQ(std::get<0>(result), 1);
            EXPECT_EQ(std::get<1>(result), "two");
            EXPECT_TRUE(done);
            EXPECT_EQ(since(start), 30ms);  // concurrent: the longest, not the sum
        }(),
        virtual_time);
}

TEST(Gather, VectorGivesAVectorInArgumentOrderNotCompletionOrder) {
    weft::run(
        []() -> weft::task<> {
            std::vector<weft::task<int>> jobs;
            for (int i = 0; i < 10; ++i) jobs.push_back(value_after(i, std::chrono::milliseconds(100 - 10 * i)));
            auto start = now();
            std::vector<int> results = co_await weft::gather(std::move(jobs));
            EXPECT_EQ(results, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
            EXPECT_EQ(since(start), 100ms);
        }(),
        virtual_time);
}

TEST(Gather, VoidVectorGivesMonostates) {
    weft::run(
        []() -> weft::task<> {
            bool a = false, b = false;
            std::vector<weft::task<>> jobs;
            jobs.push_back(nothing_after(1ms, a));
            jobs.push_back(nothing_after(2ms, b));
            auto results = co_await weft::gather(std::move(jobs));
            static_assert(std::is_same_v<decltype(results), std::vector<std::monostate>>);
            EXPECT_EQ(results.size(), 2u);
            EXPECT_TRUE(a && b);
        }(),
        virtual_time);
}

TEST(Gather, EmptyVectorGivesAnEmptyVectorAtOnce) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            auto results = co_await weft::gather(std::vector<weft::task<int>>{});
            EXPECT_TRUE(results.empty());
            auto outcomes = co_await weft::gather(std::vector<weft::task<int>>{}, weft::return_exceptions);
            EXPECT_TRUE(outcomes.empty());
            EXPECT_EQ(since(start), 0s);
        }(),
        virtual_time);
}

TEST(Gather, AcceptsHandlesAndTasksTogether) {
    weft::run(
        []() -> weft::task<> {
            auto h = weft::create_task(value_after(5, 5ms));
            auto [a, b] = co_await weft::gather(h, text_after("t", 1ms));
            EXPECT_EQ(a, 5);
            EXPECT_EQ(b, "t");
            EXPECT_EQ(h.result(), 5);  // the handle keeps its result
            std::vector<weft::task_handle<int>> hs{weft::create_task(value_after(1, 2ms)), h};
            auto v = co_await weft::gather(hs);
            EXPECT_EQ(v, (std::vector<int>{1, 5}));
        }(),
        virtual_time);
}

TEST(Gather, FirstExceptionPropagatesAtOnceWhileOthersKeepRunning) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            auto slow = weft::create_task(value_after(2, 50ms));
            try {
                co_await weft::gather(fails_after("first", 10ms), slow, fails_after("second", 20ms));
                ADD_FAILURE() << "no exception";
            } catch (const std::runtime_error& e) {
                EXPECT_EQ(std::string(e.what()), "first");
            }
            EXPECT_EQ(since(start), 10ms);
            EXPECT_FALSE(slow.done());
            EXPECT_EQ(co_await slow, 2);  // not cancelled
        }(),
        virtual_time);
}

TEST(Gather, ChildrenFailingAfterTheFirstFailureAreNotLoggedAsNeverRetrieved) {
    weft_test::weft_log().clear();
    weft::run(
        []() -> weft::task<> {
            std::vector<weft::task<int>> jobs;
            jobs.push_back(fails_after("one", 10ms));
            jobs.push_back(fails_after("two", 20ms));
            jobs.push_back(fails_after("three", 30ms));
            EXPECT_THROW(co_await weft::gather(std::move(jobs)), std::runtime_error);
            co_await weft::sleep(50ms);  // the other two fail now, with nobody awaiting them
        }(),
        virtual_time);
    EXPECT_EQ(weft_test::count_logged("never retrieved"), 0u);
}

TEST(Gather, ReturnExceptionsGivesOutcomesAndThrowsNothing) {
    weft::run(
        []() -> weft::task<> {
            auto [a, b, c] = co_await weft::gather(weft::return_exceptions, value_after(1, 3ms), fails_after("bad", 1ms),
                                                   text_after("ok", 2ms));
            EXPECT_TRUE(a);
            if (!(a)) co_return;
            EXPECT_EQ(a.value(), 1);
            EXPECT_FALSE(b);
            if (b) co_return;
            EXPECT_THROW(b.value(), std::runtime_error);
            EXPECT_NE(b.error(), nullptr);
            EXPECT_EQ(c.value(), "ok");

            std::vector<weft::task<int>> jobs;
            jobs.push_back(fails_after("x", 2ms));
            jobs.push_back(value_after(2, 1ms));
            auto v = co_await weft::gather(std::move(jobs), weft::return_exceptions);
            EXPECT_EQ(v.size(), 2u);
            if (v.size() != 2u) co_return;
            EXPECT_FALSE(v[0].has_value());
            EXPECT_EQ(v[1].value(), 2);
        }(),
        virtual_time);
}

TEST(Gather, ReturnExceptionsWaitsForAllAndReportsCancelledChildren) {
    weft::run(
        []() -> weft::task<> {
            auto start = now();
            auto victim = weft::create_task(value_after(1, 1h));
            auto killer = [](weft::task_handle<int> v) -> weft::task<int> {
                co_await weft::sleep(5ms);
                v.cancel();
                co_return 0;
            };
            auto [a, b] = co_await weft::gather(weft::return_exceptions, victim, killer(victim));
            EXPECT_FALSE(a);
            EXPECT_TRUE(weft::is_cancellation(a.error()));
            EXPECT_EQ(b.value(), 0);
            EXPECT_EQ(since(start), 5ms);
        }(),
        virtual_time);
}

TEST(Gather, ACancelledChildMakesGatherThrowCancelledError) {
    weft::run(
        []() -> weft::task<> {
            auto victim = weft::create_task(value_after(1, 1h));
            auto other = weft::create_task(value_after(2, 1h));
            auto killer = [](weft::task_handle<int> v) -> weft::task<int> {
                co_await weft::sleep(5ms);
                v.cancel();
                co_return 0;
            };
            EXPECT_THROW(co_await weft::gather(victim, killer(victim), other), weft::cancelled_error);
            EXPECT_FALSE(other.done());  // asyncio: the others are not cancelled
            other.cancel();
        }(),
        virtual_time);
}

weft::task<> gather_of(bool& c1, bool& c2, weft::event_loop::duration cleanup) {
    co_await weft::gather(cancellable(1h, c1, cleanup), cancellable(2h, c2, cleanup));
}

TEST(Gather, CancellingTheGathererCancelsTheChildrenAndWaitsForThem) {
    weft::run(
        []() -> weft::task<> {
            bool c1 = false, c2 = false;
            auto start = now();
            auto g = weft::create_task(gather_of(c1, c2, 10ms));
            co_await weft::sleep(1ms);
            g.cancel();
            EXPECT_THROW(co_await g, weft::cancelled_error);
            EXPECT_TRUE(c1 && c2);
            EXPECT_EQ(since(start), 11ms);  // it waited for the children's 10 ms cleanup
            EXPECT_EQ(weft::all_tasks().size(), 1u);  // only main is left
        }(),
        virtual_time);
}

weft::task<> gather_with_timeout(bool& c1, bool& c2) {
    auto scope = weft::timeout(5ms);
    co_await weft::gather(cancellable(1h, c1), cancellable(2h, c2));
}

TEST(Gather, TimeoutScopeAroundGatherCancelsTheChildrenAndThrowsTimeout) {
    weft::run(
        []() -> weft::task<> {
            bool c1 = false, c2 = false;
            auto start = now();
            EXPECT_THROW(co_await gather_with_timeout(c1, c2), weft::timeout_error);
            EXPECT_TRUE(c1 && c2);
            EXPECT_EQ(since(start), 5ms);
        }(),
        virtual_time);
}

}  // namespace

namespace {

weft::task<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }

TEST(Gather, MoveOnlyResultsOfTasksItSpawnsItself) {
    auto body = []() -> weft::task<int> {
        auto [a, b] = co_await weft::gather(boxed(1), boxed(2));
        std::vector<weft::task<std::unique_ptr<int>>> more;
        more.push_back(boxed(3));
        more.push_back(boxed(4));
        auto rest = co_await weft::gather(std::move(more));
        co_return *a + *b + *rest[0] + *rest[1];
    };
    EXPECT_EQ(weft::run(body()), 10);
}

}  // namespace
