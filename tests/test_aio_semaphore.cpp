#include <weft/aio/semaphore.hpp>
#include <weft/event_loop.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;
using weft::aio::bounded_semaphore;
using weft::aio::semaphore;

namespace {

constexpr weft::loop_options virtual_time{.virtual_time = true};

struct gauge {
    int inside = 0;
    int peak = 0;
    std::vector<int> order;
};

weft::task<> limited(semaphore& s, gauge& g, int id) {
    auto unit = co_await s.scoped();
    g.order.push_back(id);
    g.peak = std::max(g.peak, ++g.inside);
    co_await weft::sleep(10ms);
    --g.inside;
}

}  // namespace

TEST(AioSemaphore, ValueLockedAcquireRelease) {
    weft::run([]() -> weft::task<> {
        semaphore s{2};
        EXPECT_EQ(s.value(), 2);
        EXPECT_FALSE(s.locked());
        co_await s.acquire();
        co_await s.acquire();
        EXPECT_EQ(s.value(), 0);
        EXPECT_TRUE(s.locked());
        s.release();
        EXPECT_EQ(s.value(), 1);
        s.release();
        s.release();  // a plain semaphore may go above its initial value
        EXPECT_EQ(s.value(), 3);
        EXPECT_EQ(semaphore{}.value(), 1);
    }());
}

TEST(AioSemaphore, NegativeInitialValueIsRejected) {
    EXPECT_THROW(semaphore{-1}, std::invalid_argument);
    EXPECT_THROW(bounded_semaphore{-3}, std::invalid_argument);
    EXPECT_NO_THROW(semaphore{0});
}

TEST(AioSemaphore, LimitsConcurrencyAndServesWaitersInFifoOrder) {
    weft::run(
        []() -> weft::task<> {
            semaphore s{3};
            gauge g;
            std::vector<weft::task_handle<void>> tasks;
            for (int i = 0; i < 10; ++i) tasks.push_back(weft::create_task(limited(s, g, i)));
            auto start = weft::event_loop::current()->time();
            for (auto& t : tasks) co_await t;
            EXPECT_EQ(g.peak, 3);
            EXPECT_EQ(g.order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
            EXPECT_EQ(weft::event_loop::current()->time() - start, 40ms);  // ceil(10 / 3) rounds
            EXPECT_EQ(s.value(), 3);
        }(),
        virtual_time);
}

TEST(AioSemaphore, ReleaseHandsTheUnitToTheFirstWaiterNotToANewcomer) {
    weft::run(
        []() -> weft::task<> {
            semaphore s{0};
            gauge g;
            auto a = weft::create_task(limited(s, g, 1));
            co_await weft::sleep(0s);
            s.release();  // goes to a directly
            EXPECT_EQ(s.value(), 0);
            EXPECT_TRUE(s.locked());
            co_await s.acquire();  // the newcomer waits until a gives it back
            EXPECT_EQ(g.order, (std::vector<int>{1}));
            EXPECT_TRUE(a.done());
            s.release();
        }(),
        virtual_time);
}

TEST(AioSemaphore, CancelledWaiterTakesNoUnit) {
    weft::run(
        []() -> weft::task<> {
            semaphore s{1};
            gauge g;
            co_await s.acquire();
            auto a = weft::create_task(limited(s, g, 1));
            auto b = weft::create_task(limited(s, g, 2));
            co_await weft::sleep(0s);
            a.cancel();
            EXPECT_THROW(co_await a, weft::cancelled_error);
            s.release();
            co_await b;
            EXPECT_EQ(g.order, (std::vector<int>{2}));
            EXPECT_EQ(s.value(), 1);
        }(),
        virtual_time);
}

TEST(AioSemaphore, WaiterCancelledAfterBeingHandedAUnitKeepsItThenGivesItBack) {
    weft::run(
        []() -> weft::task<> {
            semaphore s{1};
            gauge g;
            co_await s.acquire();
            auto a = weft::create_task(limited(s, g, 1));
            auto b = weft::create_task(limited(s, g, 2));
            co_await weft::sleep(0s);
            s.release();  // handed to a
            a.cancel();
            EXPECT_THROW(co_await a, weft::cancelled_error);  // at its sleep, unit released by the guard
            co_await b;
            EXPECT_EQ(g.order, (std::vector<int>{1, 2}));
            EXPECT_EQ(s.value(), 1);
        }(),
        virtual_time);
}

TEST(AioSemaphore, AcquireTimesOut) {
    weft::run(
        []() -> weft::task<> {
            semaphore s{0};
            EXPECT_THROW(co_await weft::wait_for(s.acquire(), 10ms), weft::timeout_error);
            try {
                auto deadline = weft::timeout(10ms);
                auto unit = co_await s.scoped();
                ADD_FAILURE() << "got a unit from an empty semaphore";
            } catch (const weft::timeout_error&) {
            }
            EXPECT_EQ(s.value(), 0);
            s.release();
            auto unit = co_await weft::wait_for(s.scoped(), 10ms);
            EXPECT_TRUE(unit.owns());
            EXPECT_EQ(s.value(), 0);
            unit.release();
            EXPECT_EQ(s.value(), 1);
        }(),
        virtual_time);
}

TEST(AioBoundedSemaphore, OverReleaseThrowsReleaseError) {
    weft::run([]() -> weft::task<> {
        bounded_semaphore s{2};
        EXPECT_THROW(s.release(), weft::release_error);
        co_await s.acquire();
        s.release();
        EXPECT_THROW(s.release(), weft::release_error);
        EXPECT_EQ(s.value(), 2);
        {
            auto a = co_await s.scoped();
            auto b = co_await s.scoped();
            EXPECT_TRUE(s.locked());
        }
        EXPECT_EQ(s.value(), 2);
        EXPECT_THROW(s.release(), weft::release_error);
    }());
}

TEST(AioBoundedSemaphore, ReleaseToAWaiterIsNotAnOverRelease) {
    weft::run(
        []() -> weft::task<> {
            bounded_semaphore s{1};
            gauge g;
            co_await s.acquire();
            auto a = weft::create_task(limited(s, g, 1));
            co_await weft::sleep(0s);
            s.release();  // value stays 0: the unit goes to a
            co_await a;
            EXPECT_EQ(s.value(), 1);
            EXPECT_THROW(s.release(), weft::release_error);
        }(),
        virtual_time);
}
