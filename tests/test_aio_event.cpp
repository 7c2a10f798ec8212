#include <weft/aio/event.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <vector>

using namespace std::chrono_literals;
using weft::aio::event;

namespace {

constexpr weft::loop_options virtual_time{.virtual_time = true};

weft::task<> waiter(event& e, std::vector<int>& woken, int id) {
    co_await e.wait();
    woken.push_back(id);
}

}  // namespace

TEST(AioEvent, SetClearIsSet) {
    event e;
    EXPECT_FALSE(e.is_set());
    e.set();
    EXPECT_TRUE(e.is_set());
    e.set();  // idempotent
    EXPECT_TRUE(e.is_set());
    e.clear();
    EXPECT_FALSE(e.is_set());
}

TEST(AioEvent, WaitOnASetEventReturnsAtOnce) {
    weft::run(
        []() -> weft::task<> {
            event e;
            e.set();
            auto start = weft::event_loop::current()->time();
            co_await e.wait();
            co_await e.wait();
            EXPECT_EQ(weft::event_loop::current()->time(), start);
        }(),
        virtual_time);
}

TEST(AioEvent, SetWakesEveryWaiterEvenIfClearedBeforeTheyRun) {
    weft::run(
        []() -> weft::task<> {
            event e;
            std::vector<int> woken;
            std::vector<weft::task_handle<void>> tasks;
            for (int i = 0; i < 4; ++i) tasks.push_back(weft::create_task(waiter(e, woken, i)));
            co_await weft::sleep(1ms);
            EXPECT_TRUE(woken.empty());
            e.set();
            e.clear();  // asyncio: the woken waiters still return
            for (auto& t : tasks) co_await t;
            EXPECT_EQ(woken, (std::vector<int>{0, 1, 2, 3}));
            EXPECT_FALSE(e.is_set());
            // A later wait blocks again until the next set().
            auto late = weft::create_task(waiter(e, woken, 9));
            co_await weft::sleep(1ms);
            EXPECT_FALSE(late.done());
            e.set();
            co_await late;
            EXPECT_EQ(woken.back(), 9);
        }(),
        virtual_time);
}

TEST(AioEvent, CancelledWaiterIsRemovedOthersStillWoken) {
    weft::run(
        []() -> weft::task<> {
            event e;
            std::vector<int> woken;
            auto a = weft::create_task(waiter(e, woken, 1));
            auto b = weft::create_task(waiter(e, woken, 2));
            co_await weft::sleep(0s);
            a.cancel();
            EXPECT_THROW(co_await a, weft::cancelled_error);
            EXPECT_FALSE(e.is_set());
            e.set();
            co_await b;
            EXPECT_EQ(woken, (std::vector<int>{2}));
        }(),
        virtual_time);
}

TEST(AioEvent, WaitTimesOut) {
    weft::run(
        []() -> weft::task<> {
            event e;
            auto start = weft::event_loop::current()->time();
            EXPECT_THROW(co_await weft::wait_for(e.wait(), 20ms), weft::timeout_error);
            EXPECT_EQ(weft::event_loop::current()->time() - start, 20ms);
            try {
                auto deadline = weft::timeout(5ms);
                co_await e.wait();
                ADD_FAILURE() << "wait returned on an unset event";
            } catch (const weft::timeout_error&) {
            }
            e.set();
            co_await weft::wait_for(e.wait(), 5ms);  // set: no timeout
        }(),
        virtual_time);
}

TEST(AioEvent, SetFromAnotherTaskAfterADelay) {
    weft::run(
        []() -> weft::task<> {
            event e;
            auto setter = weft::create_task([](event& e) -> weft::task<> {
                co_await weft::sleep(30ms);
                e.set();
            }(e));
            auto start = weft::event_loop::current()->time();
            co_await e.wait();
            EXPECT_EQ(weft::event_loop::current()->time() - start, 30ms);
            co_await setter;
        }(),
        virtual_time);
}
