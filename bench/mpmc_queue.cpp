// MPMC queue throughput, same run: weft::queue (unbounded, and bounded to 1024) against a
// plain mutex + condvar + std::deque queue (same two shapes) and moodycamel's
// BlockingConcurrentQueue (unbounded, lock-free). Shapes: 1 producer/1 consumer and 2/2.
// Every consumer blocks for its items (no busy polling in the benchmark itself).

#include <weft/queue.hpp>

#include <benchmark/benchmark.h>
#include <concurrentqueue/blockingconcurrentqueue.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr long items = 1'000'000;

// The textbook blocking queue: one mutex, one deque, two condvars (bounded if maxsize > 0).
class mutex_deque_queue {
public:
    explicit mutex_deque_queue(std::size_t maxsize = 0) : maxsize_(maxsize) {}
    void put(long v) {
        {
            std::unique_lock lock(mutex_);
            not_full_.wait(lock, [this] { return maxsize_ == 0 || items_.size() < maxsize_; });
            items_.push_back(v);
        }
        not_empty_.notify_one();
    }
    long get() {
        long v;
        {
            std::unique_lock lock(mutex_);
            not_empty_.wait(lock, [this] { return !items_.empty(); });
            v = items_.front();
            items_.pop_front();
        }
        if (maxsize_) not_full_.notify_one();
        return v;
    }

private:
    std::mutex mutex_;
    std::condition_variable not_empty_, not_full_;
    std::deque<long> items_;
    std::size_t maxsize_;
};

struct weft_unbounded {
    weft::queue<long> q;
    void put(long v) { q.put(v); }
    long get() { return q.get(); }
};
struct weft_bounded {
    weft::queue<long> q{1024};
    void put(long v) { q.put(v); }
    long get() { return q.get(); }
};
struct mutex_unbounded {
    mutex_deque_queue q;
    void put(long v) { q.put(v); }
    long get() { return q.get(); }
};
struct mutex_bounded {
    mutex_deque_queue q{1024};
    void put(long v) { q.put(v); }
    long get() { return q.get(); }
};
struct moodycamel_blocking {
    moodycamel::BlockingConcurrentQueue<long> q;
    void put(long v) { q.enqueue(v); }
    long get() {
        long v;
        q.wait_dequeue(v);
        return v;
    }
};

template <class Q>
void BM_mpmc(benchmark::State& state) {
    const long producers = state.range(0), consumers = state.range(1);
    for (auto _ : state) {
        Q queue;
        std::vector<std::thread> threads;
        long per_producer = items / producers, per_consumer = items / consumers;
        for (long c = 0; c < consumers; ++c) {
            threads.emplace_back([&] {
                long sum = 0;
                for (long i = 0; i < per_consumer; ++i) sum += queue.get();
                benchmark::DoNotOptimize(sum);
            });
        }
        for (long p = 0; p < producers; ++p) {
            threads.emplace_back([&] {
                for (long i = 0; i < per_producer; ++i) queue.put(i);
            });
        }
        for (auto& t : threads) t.join();
    }
    state.SetItemsProcessed(state.iterations() * items);
}

}  // namespace

#define WEFT_QUEUE_BENCH(Q) \
    BENCHMARK_TEMPLATE(BM_mpmc, Q)->Args({1, 1})->Args({2, 2})->Unit(benchmark::kMillisecond)->UseRealTime()

WEFT_QUEUE_BENCH(weft_unbounded);
WEFT_QUEUE_BENCH(mutex_unbounded);
WEFT_QUEUE_BENCH(moodycamel_blocking);
WEFT_QUEUE_BENCH(weft_bounded);
WEFT_QUEUE_BENCH(mutex_bounded);

BENCHMARK_MAIN();
