// weft::task<T>: laziness, results, exceptions, symmetric transfer on long chains.
#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

weft::task<int> answer() { co_return 42; }
weft::task<int> plus_one() { co_return 1 + co_await answer(); }
weft::task<void> throws_runtime() {
    throw std::runtime_error("boom");
    co_return;
}

TEST(Task, RunReturnsValue) { EXPECT_EQ(weft::run(plus_one()), 43); }

TEST(Task, IsLazyUntilAwaited) {
    bool started = false;
    auto body = [&]() -> weft::task<int> {
        started = true;
        co_return 1;
    };
    auto t = body();
    EXPECT_FALSE(started);
    EXPECT_TRUE(t.valid());
    EXPECT_FALSE(t.done());
    EXPECT_EQ(weft::run(std::move(t)), 1);
    EXPECT_TRUE(started);
}

TEST(Task, ExceptionPropagatesToAwaiter) {
    auto outer = []() -> weft::task<std::string> {
        try {
            co_await throws_runtime();
        } catch (const std::runtime_error& e) {
            co_return std::string("caught ") + e.what();
        }
        co_return "not caught";
    };
    EXPECT_EQ(weft::run(outer()), "caught boom");
}

TEST(Task, RunRethrowsMainException) { EXPECT_THROW(weft::run(throws_runtime()), std::runtime_error); }

TEST(Task, MoveOnlyResult) {
    auto make = []() -> weft::task<std::unique_ptr<int>> { co_return std::make_unique<int>(7); };
    auto outer = [&]() -> weft::task<int> {
        auto p = co_await make();
        co_return *p;
    };
    EXPECT_EQ(weft::run(outer()), 7);
}

weft::task<long> chain(long n) {
    if (n == 0) co_return 0;
    co_return 1 + co_await chain(n - 1);
}

TEST(Task, MillionDeepAwaitChainDoesNotOverflowTheStack) {
    // Each level is a live frame awaiting the next: only symmetric transfer keeps the stack flat.
    EXPECT_EQ(weft::run(chain(1'000'000)), 1'000'000);
}

weft::task<int> one() { co_return 1; }

TEST(Task, MillionSequentialAwaitsOfReadyTasks) {
    auto loop_body = []() -> weft::task<long> {
        long sum = 0;
        for (int i = 0; i < 1'000'000; ++i) sum += co_await one();
        co_return sum;
    };
    EXPECT_EQ(weft::run(loop_body()), 1'000'000);
}

TEST(Task, MovedFromTaskIsInvalid) {
    auto a = answer();
    auto b = std::move(a);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_TRUE(b.valid());
}

}  // namespace
