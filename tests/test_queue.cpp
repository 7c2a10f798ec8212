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

// Puts item p * per_producer + i from each of `producers` threads (`put(q, p, item)`) while
// `consumers` threads take items (`get(q, c)`) until the queue is shut down after the last
// put: how many items arrived, and how many of them arrived other than exactly once.
struct delivery {
    int received = 0;
    int wrong = 0;
};
template <class Put, class Get>
delivery deliver(weft::queue<int>& q, int producers, int consumers, int per_producer, Put put, Get get) {
    std::vector<std::atomic<unsigned char>> seen(static_cast<std::size_t>(producers * per_producer));
    std::atomic<int> received{0};
    {
        std::vector<std::jthread> threads;
        for (int c = 0; c < consumers; ++c) {
            threads.emplace_back([&, c] {
                try {
                    for (;;) {
                        int item = get(q, c);
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
                    for (int i = 0; i < per_producer; ++i) put(q, p, p * per_producer + i);
                });
            }
        }
        q.shutdown();  // consumers drain what is left, then stop
    }
    delivery d{.received = received.load()};
    for (auto& s : seen) d.wrong += s.load() != 1;
    return d;
}

TEST(Queue, StressManyProducersManyConsumersEveryItemOnce) {
    constexpr int producers = 4, consumers = 4;
    weft::queue<int> q{1024};
    auto d = deliver(
        q, producers, consumers, stress_items / producers, [](weft::queue<int>& q, int, int item) { q.put(item); },
        [](weft::queue<int>& q, int) { return q.get(); });
    EXPECT_EQ(d.received, stress_items);
    EXPECT_EQ(d.wrong, 0);
}

// Unbounded: the first ring (256 slots) fills and the queue grows ring by ring while 3
// producers and 3 consumers run. Every item arrives exactly once, and each producer's items
// arrive in the order it put them (FIFO per producer).
TEST(Queue, UnboundedGrowsWhileManyThreadsPutAndGetInOrder) {
    constexpr int producers = 3, consumers = 3, per_producer = 100'000;
    weft::queue<std::pair<int, int>> q;
    std::atomic<int> received{0}, out_of_order{0};
    std::vector<std::atomic<unsigned char>> seen(static_cast<std::size_t>(producers * per_producer));
    {
        std::vector<std::jthread> threads;
        for (int c = 0; c < consumers; ++c) {
            threads.emplace_back([&] {
                std::vector<int> last(producers, -1);
                try {
                    for (;;) {
                        auto [p, i] = q.get();
                        if (i <= last[static_cast<std::size_t>(p)]) out_of_order.fetch_add(1);
                        last[static_cast<std::size_t>(p)] = i;
                        seen[static_cast<std::size_t>(p * per_producer + i)].fetch_add(1, std::memory_order_relaxed);
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
                    for (int i = 0; i < per_producer; ++i) q.put({p, i});
                });
            }
        }
        q.shutdown();
    }
    EXPECT_EQ(received.load(), producers * per_producer);
    EXPECT_EQ(out_of_order.load(), 0);
    int wrong = 0;
    for (auto& s : seen) wrong += s.load() != 1;
    EXPECT_EQ(wrong, 0);
}

TEST(Queue, UnboundedKeepsOrderAndSizeAcrossRings) {
    weft::queue<std::string> q;
    for (int i = 0; i < 5000; ++i) q.put(std::to_string(i));
    EXPECT_EQ(q.qsize(), 5000u);
    EXPECT_FALSE(q.full());
    for (int i = 0; i < 3000; ++i) ASSERT_EQ(q.get(), std::to_string(i));
    for (int i = 5000; i < 6000; ++i) q.put(std::to_string(i));
    EXPECT_EQ(q.qsize(), 3000u);
    for (int i = 3000; i < 6000; ++i) ASSERT_EQ(q.get(), std::to_string(i));
    EXPECT_TRUE(q.empty());
    EXPECT_THROW(q.get_nowait(), weft::queue_empty);
}

// Items left in the queue (in several rings, some already consumed) are destroyed with it.
TEST(Queue, DestroysItemsLeftInIt) {
    auto token = std::make_shared<int>(0);
    {
        weft::queue<std::shared_ptr<int>> q;
        for (int i = 0; i < 1000; ++i) q.put(token);
        for (int i = 0; i < 300; ++i) q.get();
        EXPECT_EQ(token.use_count(), 701);
    }
    EXPECT_EQ(token.use_count(), 1);
    {
        weft::queue<std::shared_ptr<int>> q{3};
        q.put(token);
        q.put(token);
        q.get();
        q.put(token);
        q.put(token);
        EXPECT_EQ(token.use_count(), 4);
    }
    EXPECT_EQ(token.use_count(), 1);
}

// Sizes that are not a power of two, the smallest (1: the ring has 2 slots and counts) and one
// above the exact-ring limit (grown rings, counted): exactly maxsize items fit.
TEST(Queue, BoundedHoldsExactlyMaxsize) {
    for (std::size_t maxsize : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{1000},
                                std::size_t{70'000}}) {
        weft::queue<std::size_t> q{maxsize};
        for (std::size_t round = 0; round < 3; ++round) {
            for (std::size_t i = 0; i < maxsize; ++i) q.put_nowait(i);
            EXPECT_TRUE(q.full()) << maxsize;
            EXPECT_EQ(q.qsize(), maxsize);
            EXPECT_THROW(q.put_nowait(maxsize), weft::queue_full) << maxsize;
            EXPECT_THROW(q.put(maxsize, 1ms), weft::queue_full) << maxsize;
            EXPECT_EQ(q.get(), 0u);
            q.put_nowait(maxsize);
            for (std::size_t i = 1; i < maxsize; ++i) ASSERT_EQ(q.get_nowait(), i) << maxsize;
            EXPECT_EQ(q.get_nowait(), maxsize);
            EXPECT_TRUE(q.empty());
        }
    }
}

// The parking path: tiny capacities, more threads than cores, so getters and putters sleep and
// wake all the time. Every item arrives exactly once, and the run ends (no lost wake-up).
TEST(Queue, WakeUpStressTinyCapacities) {
    for (std::size_t maxsize : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
        constexpr int producers = 4, consumers = 4, per_producer = 20'000;
        weft::queue<int> q{maxsize};
        // Half the producers and consumers use timed puts and gets, which time out and retry.
        auto put = [](weft::queue<int>& q, int p, int item) {
            if (p % 2) {
                q.put(item);
                return;
            }
            for (;;) {
                try {
                    q.put(item, 50us);
                    return;
                } catch (const weft::queue_full&) {
                }
            }
        };
        auto get = [](weft::queue<int>& q, int c) {
            if (c % 2) return q.get();
            for (;;) {
                try {
                    return q.get(50us);
                } catch (const weft::queue_empty&) {
                }
            }
        };
        auto d = deliver(q, producers, consumers, per_producer, put, get);
        EXPECT_EQ(d.received, producers * per_producer) << maxsize;
        EXPECT_EQ(d.wrong, 0) << maxsize;
    }
}

// A shutdown while producers run: every put that returned is got, every later put throws.
TEST(Queue, ShutdownDuringPutsLosesNoAcceptedItem) {
    weft::queue<int> q;
    std::atomic<int> accepted{0}, rejected{0};
    {
        std::vector<std::jthread> producers;
        for (int p = 0; p < 3; ++p) {
            producers.emplace_back([&] {
                for (int i = 0; i < 50'000; ++i) {
                    try {
                        q.put(i);
                        accepted.fetch_add(1);
                    } catch (const weft::queue_shut_down&) {
                        rejected.fetch_add(1);
                    }
                }
            });
        }
        std::this_thread::sleep_for(2ms);
        q.shutdown();
    }
    int got = 0;
    try {
        for (;;) {
            q.get();
            ++got;
        }
    } catch (const weft::queue_shut_down&) {
    }
    EXPECT_EQ(got, accepted.load());
    EXPECT_EQ(accepted.load() + rejected.load(), 150'000);
}

// An item whose copy throws: the put throws before anything is reserved, so it takes no room
// and join() does not wait for it.
namespace {
struct fragile {
    int value = 0;
    bool explode_on_copy = false;
    fragile(int v, bool explode) : value(v), explode_on_copy(explode) {}
    fragile(const fragile& other) : value(other.value) {
        if (other.explode_on_copy) throw std::runtime_error("copy failed");
    }
    fragile(fragile&&) noexcept = default;
    fragile& operator=(const fragile&) = default;
    fragile& operator=(fragile&&) noexcept = default;
};
}  // namespace

TEST(Queue, PutWhoseCopyThrowsLeavesNoItem) {
    weft::queue<fragile> q{2};
    fragile good1{1, false}, bad{2, true}, good2{3, false};
    EXPECT_THROW(q.put(bad), std::runtime_error);
    q.put(good1);
    EXPECT_THROW(q.put_nowait(bad), std::runtime_error);
    q.put(good2);  // both slots are still there for real items
    EXPECT_EQ(q.qsize(), 2u);
    EXPECT_THROW(q.put_nowait(good1), weft::queue_full);
    EXPECT_EQ(q.get().value, 1);
    EXPECT_EQ(q.get().value, 3);
    EXPECT_THROW(q.get_nowait(), weft::queue_empty);
    q.task_done();
    q.task_done();
    q.join();  // returns: the failed puts are not unfinished work
    EXPECT_THROW(q.task_done(), weft::invalid_state_error);
}

// A type that may throw when moved still works (a locked deque underneath).
namespace {
struct throwing_move {
    std::string text;
    explicit throwing_move(std::string t) : text(std::move(t)) {}
    throwing_move(const throwing_move&) = default;
    throwing_move(throwing_move&& other) noexcept(false) : text(std::move(other.text)) {}
    throwing_move& operator=(const throwing_move&) = default;
};
}  // namespace

TEST(Queue, ItemsThatMayThrowWhenMovedStillQueue) {
    weft::queue<throwing_move> q{2};
    q.put(throwing_move{"a"});
    q.put(throwing_move{"b"});
    EXPECT_THROW(q.put_nowait(throwing_move{"c"}), weft::queue_full);
    EXPECT_EQ(q.get().text, "a");
    EXPECT_EQ(q.get().text, "b");
}

// join() waits for task_done from several worker threads over many items.
TEST(Queue, JoinWaitsForEveryTaskDone) {
    weft::queue<int> q{64};
    std::atomic<int> processed{0};
    std::vector<std::jthread> workers;
    for (int w = 0; w < 3; ++w) {
        workers.emplace_back([&] {
            try {
                for (;;) {
                    q.get();
                    processed.fetch_add(1);
                    q.task_done();
                }
            } catch (const weft::queue_shut_down&) {
            }
        });
    }
    for (int i = 0; i < 20'000; ++i) q.put(i);
    q.join();
    EXPECT_EQ(processed.load(), 20'000);
    q.shutdown();
}
