#include <weft/weft.hpp>
#include <gtest/gtest.h>
using namespace std::chrono_literals;

weft::task<int> answer() { co_return 42; }
weft::task<int> plus_one() { co_return 1 + co_await answer(); }

TEST(Task, RunReturnsValue) { EXPECT_EQ(weft::run(plus_one()), 43); }
