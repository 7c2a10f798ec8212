#include <weft/queue.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

TEST(Queue, FifoLifoPriorityOrder) {
    weft::queue<int> fifo;
    weft::lifo_queue<int> lifo;
    weft::priority_queue<std::pair<int, std::string>> prio;
    for (int i : {3, 1, 2}) {
        fifo.put(i);
        lifo.put(i);
    }
    prio.put({3, "low"});
    prio.put({1, "high"});
    prio.put({2, "mid"});
    EXPECT_EQ(fifo.get(), 3);
    EXPECT_EQ(fifo.get(), 1);
    EXPECT_EQ(lifo.get(), 2);
    EXPECT_EQ(lifo.get(), 1);
    EXPECT_EQ(prio.get().second, "high");
    EXPECT_EQ(prio.get().second, "mid");
    EXPECT_EQ(prio.get().second, "low");
}

TEST(Queue, NonblockingFullAndEmpty) {
    weft::queue<int> q{2};
    EXPECT_TRUE(q.empty());
    EXPECT_THROW(q.get_nowait(), weft::queue_empty);
    q.put_nowait(1);
    q.put(2, false);
    EXPECT_TRUE(q.full());
    EXPECT_EQ(q.qsize(), 2u);
    EXPECT_THROW(q.put_nowait(3), weft::queue_full);
    EXPECT_EQ(q.get_nowait(), 1);
    EXPECT_FALSE(q.full());
    EXPECT_EQ(q.maxsize(), 2u);
}

TEST(Queue, FailedPutLosesNothing) {
    weft::queue<std::unique_ptr<int>> q{1};
    q.put(std::make_unique<int>(1));
    auto item = std::make_unique<int>(2);
    EXPECT_THROW(q.put_nowait(std::move(item)), weft::queue_full);
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(*item, 2);
}

TEST(Queue, TimeoutsThrowFullAndEmpty) {
    weft::queue<int> q{1};
    EXPECT_THROW(q.get(5ms), weft::queue_empty);
    EXPECT_THROW(q.get(true, 1ms), weft::queue_empty);
    q.put(1);
    EXPECT_THROW(q.put(2, 5ms), weft::queue_full);
    EXPECT_THROW(q.put(2, true, -1ms), std::invalid_argument);
}

TEST(Queue, BlockedGetIsWokenByPut) {
    weft::queue<int> q;
    std::jthread producer([&] {
        std::this_thread::sleep_for(10ms);
        q.put(7);
    });
    EXPECT_EQ(q.get(), 7);
}

TEST(Queue, BlockedPutIsWokenByGet) {
    weft::queue<int> q{1};
    q.put(1);
    std::jthread consumer([&] {
        std::this_thread::sleep_for(10ms);
        EXPECT_EQ(q.get(), 1);
    });
    q.put(2);
    consumer.join();
    EXPECT_EQ(q.get(), 2);
}

TEST(Queue, TaskDoneAndJoin) {
    weft::queue<int> q;
    for (int i = 0; i < 10; ++i) q.put(i);
    std::atomic<int> processed{0};
    std::jthread worker([&] {
        for (int i = 0; i < 10; ++i) {
            q.get();
            ++processed;
            q.task_done();
        }
    });
    q.join();
    EXPECT_EQ(processed.load(), 10);
    EXPECT_THROW(q.task_done(), weft::invalid_state_error);
}

TEST(Queue, ShutdownRejectsPutsAndDrainsGets) {
    weft::queue<int> q;
    q.put(1);
    q.put(2);
    q.shutdown();
    EXPECT_TRUE(q.is_shut_down());
    EXPECT_THROW(q.put(3), weft::queue_shut_down);
    EXPECT_EQ(q.get(), 1);
    EXPECT_EQ(q.get_nowait(), 2);
    EXPECT_THROW(q.get(), weft::queue_shut_down);
    EXPECT_THROW(q.get_nowait(), weft::queue_shut_down);
}

TEST(Queue, ShutdownWakesBlockedGettersAndPutters) {
    weft::queue<int> empty;
    weft::queue<int> full{1};
    full.put(0);
    std::atomic<int> woken{0};
    {
        std::jthread getter([&] {
            EXPECT_THROW(empty.get(), weft::queue_shut_down);
            ++woken;
        });
        std::jthread putter([&] {
            EXPECT_THROW(full.put(1), weft::queue_shut_down);
            ++woken;
        });
        std::this_thread::sleep_for(10ms);
        empty.shutdown();
        full.shutdown();
    }
    EXPECT_EQ(woken.load(), 2);
}

TEST(Queue, ImmediateShutdownDropsItemsAndReleasesJoin) {
    weft::queue<int> q;
    for (int i = 0; i < 5; ++i) q.put(i);
    std::jthread joiner([&] { q.join(); });
    std::this_thread::sleep_for(5ms);
    q.shutdown(/*immediate=*/true);
    joiner.join();
    EXPECT_EQ(q.qsize(), 0u);
    EXPECT_THROW(q.get(), weft::queue_shut_down);
}

// 4 producers x 4 consumers x 1M items through a bounded queue(1024): every item arrives
// exactly once. (Measured at ~2 s under TSan on 2 cores, so no scaling down is needed.)
constexpr int stress_items = 1'000'000;

TEST(Queue, StressManyProducersManyConsumersEveryItemOnce) {
    constexpr int producers = 4, consumers = 4;
    constexpr int per_producer = stress_items / producers;
    weft::queue<int> q{1024};
    std::vector<std::atomic<unsigned char>> seen(static_cast<std::size_t>(stress_items));
    std::atomic<int> received{0};
    {
        std::vector<std::jthread> threads;
        for (int c = 0; c < consumers; ++c) {
            threads.emplace_back([&] {
                try {
                    for (;;) {
                        int item = q.get();
                        seen[static_cast<std::size_t>(item)].fetch_add(1, std::memory_order_relaxed);
                        received.fetch_add(1, std::memory_order_relaxed);
                    }
                } catch (const weft::queue_shut_down&) {
                }
            });
        }
        {
            std::vector<std::jthread> producer_threads;
            for (int p = 0; p < producers; ++p) {
                producer_threads.emplace_back([&, p] {
                    for (int i = 0; i < per_producer; ++i) q.put(p * per_producer + i);
                });
            }
        }
        q.shutdown();  // consumers drain what is left, then stop
    }
    EXPECT_EQ(received.load(), stress_items);
    int wrong = 0;
    for (auto& s : seen) wrong += s.load() != 1;
    EXPECT_EQ(wrong, 0);
}
