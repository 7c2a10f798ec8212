#include <weft/aio/queue.hpp>
#include <weft/event_loop.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using weft::aio::lifo_queue;
using weft::aio::priority_queue;
using weft::aio::queue;

namespace {

constexpr weft::loop_options virtual_time{.virtual_time = true};

struct by_pointee {
    bool operator()(const std::unique_ptr<int>& a, const std::unique_ptr<int>& b) const { return *a < *b; }
};

weft::task<> getter(queue<int>& q, std::vector<int>& got) { got.push_back(co_await q.get()); }

weft::task<> putter(queue<int>& q, int value, std::vector<int>& done) {
    co_await q.put(value);
    done.push_back(value);
}

// Gets one item, records it, then does more work (a later suspension).
weft::task<> get_then_work(queue<std::string>& q, std::vector<std::string>& got) {
    got.push_back(co_await q.get());
    co_await weft::sleep(1ms);
}

}  // namespace

TEST(AioQueue, NowaitOperationsAndSizes) {
    queue<int> q{2};
    EXPECT_EQ(q.maxsize(), 2u);
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.full());
    EXPECT_THROW(q.get_nowait(), weft::queue_empty);
    q.put_nowait(1);
    int two = 2;
    q.put_nowait(two);
    EXPECT_EQ(q.qsize(), 2u);
    EXPECT_TRUE(q.full());
    EXPECT_THROW(q.put_nowait(3), weft::queue_full);
    EXPECT_EQ(q.get_nowait(), 1);
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_TRUE(q.empty());
    EXPECT_THROW(q.get_nowait(), weft::queue_empty);

    queue<int> unbounded;
    for (int i = 0; i < 1000; ++i) unbounded.put_nowait(i);
    EXPECT_FALSE(unbounded.full());
    EXPECT_EQ(unbounded.qsize(), 1000u);
}

TEST(AioQueue, LifoAndPriorityOrders) {
    lifo_queue<int> stack;
    for (int i : {1, 2, 3}) stack.put_nowait(i);
    EXPECT_EQ(stack.get_nowait(), 3);
    EXPECT_EQ(stack.get_nowait(), 2);
    EXPECT_EQ(stack.get_nowait(), 1);

    priority_queue<std::pair<int, std::string>> jobs;
    jobs.put_nowait({3, "low"});
    jobs.put_nowait({1, "urgent"});
    jobs.put_nowait({2, "normal"});
    EXPECT_EQ(jobs.get_nowait().second, "urgent");  // smallest first, like heapq
    EXPECT_EQ(jobs.get_nowait().second, "normal");
    EXPECT_EQ(jobs.get_nowait().second, "low");

    priority_queue<int, std::greater<int>> largest_first;
    for (int i : {5, 9, 1}) largest_first.put_nowait(i);
    EXPECT_EQ(largest_first.get_nowait(), 9);
    EXPECT_EQ(largest_first.get_nowait(), 5);
}

TEST(AioQueue, MoveOnlyItems) {
    weft::run([]() -> weft::task<> {
        queue<std::unique_ptr<int>> q{1};
        co_await q.put(std::make_unique<int>(7));
        auto extra = std::make_unique<int>(8);
        EXPECT_THROW(q.put_nowait(std::move(extra)), weft::queue_full);
        EXPECT_NE(extra, nullptr);  // refused: left with the caller
        auto p = co_await q.get();
        EXPECT_EQ(*p, 7);
        q.put_nowait(std::move(extra));
        EXPECT_EQ(*q.get_nowait(), 8);
        priority_queue<std::unique_ptr<int>, by_pointee> pq;
        for (int v : {4, 2, 6}) pq.put_nowait(std::make_unique<int>(v));
        EXPECT_EQ(*(co_await pq.get()), 2);
        EXPECT_EQ(*pq.get_nowait(), 4);
        lifo_queue<std::unique_ptr<int>> lq;
        lq.put_nowait(std::make_unique<int>(1));
        EXPECT_EQ(*(co_await lq.get()), 1);
    }());
}

TEST(AioQueue, GettersWaitAndAreServedInFifoOrder) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q;
            std::vector<int> got;
            auto a = weft::create_task(getter(q, got));
            auto b = weft::create_task(getter(q, got));
            co_await weft::sleep(1ms);
            EXPECT_TRUE(got.empty());
            q.put_nowait(1);
            q.put_nowait(2);
            EXPECT_EQ(q.qsize(), 0u);  // both handed straight to the waiting getters
            co_await a;
            co_await b;
            EXPECT_EQ(got, (std::vector<int>{1, 2}));
        }(),
        virtual_time);
}

TEST(AioQueue, PuttersWaitWhileFullAndAreServedInFifoOrder) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q{1};
            std::vector<int> done;
            q.put_nowait(0);
            auto a = weft::create_task(putter(q, 1, done));
            auto b = weft::create_task(putter(q, 2, done));
            co_await weft::sleep(1ms);
            EXPECT_TRUE(done.empty());
            EXPECT_EQ(q.get_nowait(), 0);
            EXPECT_TRUE(q.full());  // the freed slot went to putter a at once
            EXPECT_THROW(q.put_nowait(99), weft::queue_full);
            EXPECT_EQ(co_await q.get(), 1);
            EXPECT_EQ(co_await q.get(), 2);
            co_await a;
            co_await b;
            EXPECT_EQ(done, (std::vector<int>{1, 2}));
            EXPECT_TRUE(q.empty());
        }(),
        virtual_time);
}

TEST(AioQueue, CancelledWaitingGetterDoesNotTakeTheNextItem) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q;
            std::vector<int> got;
            auto t1 = weft::create_task(getter(q, got));
            auto t2 = weft::create_task(getter(q, got));
            co_await weft::sleep(0s);
            t1.cancel();
            EXPECT_THROW(co_await t1, weft::cancelled_error);
            co_await q.put(5);
            co_await t2;
            EXPECT_EQ(got, (std::vector<int>{5}));
            EXPECT_TRUE(q.empty());
        }(),
        virtual_time);
}

TEST(AioQueue, GetterCancelledAfterBeingHandedAnItemKeepsIt) {
    weft::run(
        []() -> weft::task<> {
            queue<std::string> q;
            std::vector<std::string> got;
            auto c = weft::create_task(get_then_work(q, got));
            co_await weft::sleep(0s);
            q.put_nowait("precious");
            c.cancel();  // the item is already c's: it must not vanish
            EXPECT_THROW(co_await c, weft::cancelled_error);
            EXPECT_EQ(got, (std::vector<std::string>{"precious"}));
            EXPECT_TRUE(q.empty());
        }(),
        virtual_time);
}

namespace {
weft::task<> put_then_stop(queue<std::string>& q, weft::event_loop& loop) {
    co_await weft::sleep(0s);
    q.put_nowait("first");
    q.put_nowait("second");
    loop.stop();  // the getters are handed the items but never run
    co_await weft::sleep(1h);
}
}  // namespace

TEST(AioQueue, FrameDestroyedAfterBeingHandedAnItemGivesItBack) {
    queue<std::string> q;
    std::vector<std::string> got;
    weft::event_loop loop(virtual_time);
    auto a = loop.create_task(get_then_work(q, got));
    auto b = loop.create_task(get_then_work(q, got));
    auto main = loop.create_task(put_then_stop(q, loop));
    loop.run_forever();
    EXPECT_TRUE(q.empty());
    loop.close();
    EXPECT_TRUE(got.empty());
    ASSERT_EQ(q.qsize(), 2u);  // nothing lost (back at the head, in the order the frames died)
    std::vector<std::string> left{q.get_nowait(), q.get_nowait()};
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left, (std::vector<std::string>{"first", "second"}));
}

TEST(AioQueue, CancelledPutterDoesNotPut) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q{1};
            std::vector<int> done;
            q.put_nowait(0);
            auto a = weft::create_task(putter(q, 1, done));
            auto b = weft::create_task(putter(q, 2, done));
            co_await weft::sleep(0s);
            a.cancel();
            EXPECT_THROW(co_await a, weft::cancelled_error);
            EXPECT_EQ(q.get_nowait(), 0);
            co_await b;
            EXPECT_EQ(q.get_nowait(), 2);
            EXPECT_EQ(done, (std::vector<int>{2}));
            EXPECT_TRUE(q.empty());
        }(),
        virtual_time);
}

TEST(AioQueue, GetAndPutTimeOut) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q{1};
            auto start = weft::event_loop::current()->time();
            EXPECT_THROW(co_await weft::wait_for(q.get(), 10ms), weft::timeout_error);
            EXPECT_EQ(weft::event_loop::current()->time() - start, 10ms);
            q.put_nowait(1);
            try {
                auto deadline = weft::timeout(10ms);
                co_await q.put(2);
                ADD_FAILURE() << "put into a full queue";
            } catch (const weft::timeout_error&) {
            }
            EXPECT_THROW(co_await weft::wait_for(q.put(3), 10ms), weft::timeout_error);
            EXPECT_EQ(q.qsize(), 1u);
            EXPECT_EQ(co_await weft::wait_for(q.get(), 10ms), 1);
            co_await weft::wait_for(q.put(4), 10ms);
            EXPECT_EQ(q.get_nowait(), 4);
        }(),
        virtual_time);
}

TEST(AioQueue, TaskDoneAndJoin) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q;
            co_await q.join();  // nothing unfinished: returns at once
            EXPECT_THROW(q.task_done(), weft::invalid_state_error);
            q.put_nowait(1);
            q.put_nowait(2);
            auto worker = weft::create_task([](queue<int>& q) -> weft::task<> {
                for (int i = 0; i < 2; ++i) {
                    (void)co_await q.get();
                    co_await weft::sleep(10ms);
                    q.task_done();
                }
            }(q));
            auto start = weft::event_loop::current()->time();
            co_await q.join();
            EXPECT_EQ(weft::event_loop::current()->time() - start, 20ms);
            EXPECT_THROW(q.task_done(), weft::invalid_state_error);
            co_await worker;
            q.put_nowait(3);
            EXPECT_THROW(co_await weft::wait_for(q.join(), 5ms), weft::timeout_error);
            (void)q.get_nowait();
            q.task_done();
            co_await q.join();
        }(),
        virtual_time);
}

TEST(AioQueue, ShutdownFailsPutsAndDrainsGets) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q{2};
            q.put_nowait(1);
            q.put_nowait(2);
            std::vector<int> done;
            auto blocked = weft::create_task(putter(q, 3, done));
            co_await weft::sleep(0s);
            EXPECT_FALSE(q.is_shut_down());
            q.shutdown();
            EXPECT_TRUE(q.is_shut_down());
            EXPECT_THROW(co_await blocked, weft::queue_shut_down);
            EXPECT_THROW(q.put_nowait(4), weft::queue_shut_down);
            EXPECT_THROW(co_await q.put(4), weft::queue_shut_down);
            EXPECT_EQ(co_await q.get(), 1);  // what is queued can still be taken
            EXPECT_EQ(q.get_nowait(), 2);
            EXPECT_THROW(q.get_nowait(), weft::queue_shut_down);
            EXPECT_THROW(co_await q.get(), weft::queue_shut_down);
            q.task_done();
            q.task_done();
            co_await q.join();
            EXPECT_TRUE(done.empty());
        }(),
        virtual_time);
}

TEST(AioQueue, ShutdownWakesWaitingGetters) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q;
            std::vector<int> got;
            auto a = weft::create_task(getter(q, got));
            auto b = weft::create_task(getter(q, got));
            co_await weft::sleep(1ms);
            q.shutdown();
            EXPECT_THROW(co_await a, weft::queue_shut_down);
            EXPECT_THROW(co_await b, weft::queue_shut_down);
            EXPECT_TRUE(got.empty());
        }(),
        virtual_time);
}

TEST(AioQueue, ImmediateShutdownDropsItemsAndReleasesJoin) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q;
            for (int i = 0; i < 3; ++i) q.put_nowait(i);
            EXPECT_EQ(q.get_nowait(), 0);  // taken, not yet task_done
            auto joiner = weft::create_task([](queue<int>& q) -> weft::task<> { co_await q.join(); }(q));
            co_await weft::sleep(1ms);
            EXPECT_FALSE(joiner.done());
            q.shutdown(true);
            EXPECT_TRUE(q.empty());
            EXPECT_THROW(q.get_nowait(), weft::queue_shut_down);
            co_await weft::sleep(1ms);
            EXPECT_FALSE(joiner.done());  // the item taken before still counts
            q.task_done();
            co_await joiner;
            EXPECT_THROW(q.task_done(), weft::invalid_state_error);
        }(),
        virtual_time);
}

namespace {
weft::task<> produce(queue<int>& q, int base, int count) {
    for (int i = 0; i < count; ++i) {
        co_await q.put(base + i);
        co_await weft::sleep(1ms);
    }
}

weft::task<> consume(queue<int>& q, std::vector<int>& seen) {
    for (;;) {
        int item;
        try {
            item = co_await q.get();
        } catch (const weft::queue_shut_down&) {
            co_return;
        }
        co_await weft::sleep(3ms);
        seen.push_back(item);
        q.task_done();
    }
}
}  // namespace

TEST(AioQueue, SeveralProducersAndConsumersThenShutdown) {
    weft::run(
        []() -> weft::task<> {
            queue<int> q{4};
            std::vector<int> seen;
            std::vector<weft::task_handle<void>> producers, consumers;
            for (int p = 0; p < 3; ++p) producers.push_back(weft::create_task(produce(q, p * 100, 20)));
            for (int c = 0; c < 4; ++c) consumers.push_back(weft::create_task(consume(q, seen)));
            for (auto& p : producers) co_await p;
            co_await q.join();
            EXPECT_EQ(seen.size(), 60u);
            q.shutdown();
            for (auto& c : consumers) co_await c;  // each ends on queue_shut_down
            std::sort(seen.begin(), seen.end());
            std::vector<int> expected;
            for (int p = 0; p < 3; ++p)
                for (int i = 0; i < 20; ++i) expected.push_back(p * 100 + i);
            EXPECT_EQ(seen, expected);
        }(),
        virtual_time);
}
