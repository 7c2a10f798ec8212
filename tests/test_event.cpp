#include <weft/event.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST(Event, SetClearIsSet) {
    weft::event e;
    EXPECT_FALSE(e.is_set());
    e.set();
    EXPECT_TRUE(e.is_set());
    EXPECT_TRUE(e.wait(0ms));
    e.wait();
    e.clear();
    EXPECT_FALSE(e.is_set());
}

TEST(Event, WaitTimesOutWithFalse) {
    weft::event e;
    EXPECT_FALSE(e.wait(5ms));
}

TEST(Event, SetWakesEveryWaiter) {
    weft::event e;
    std::atomic<int> woken{0};
    {
        std::vector<std::jthread> waiters;
        for (int i = 0; i < 6; ++i) {
            waiters.emplace_back([&] {
                if (e.wait(10s)) ++woken;
            });
        }
        std::this_thread::sleep_for(5ms);
        e.set();
    }
    EXPECT_EQ(woken.load(), 6);
}

TEST(Event, WaiterMayDestroyTheEventRightAfterWaking) {
    for (int i = 0; i < 200; ++i) {
        auto* e = new weft::event;
        std::jthread setter([e] { e->set(); });
        e->wait();
        setter.join();
        delete e;
    }
}
