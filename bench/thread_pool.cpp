// 1M trivial submits + wait for all, on weft's thread pool and its peers in the same run:
// oneTBB's task_group, Asio's thread_pool, and a plain mutex + condvar + deque pool.
// Plus the CPU an idle weft pool burns over 5 s.
//
// Every pool gets hardware_concurrency() workers (TBB: its default arena, where the waiting
// thread joins in). Every task does the same thing: decrement a shared counter; the submitting
// thread then waits until it reaches zero (TBB: task_group::wait, which also counts).

#include <weft/thread_pool_executor.hpp>

#include <asio.hpp>
#include <benchmark/benchmark.h>
#include <tbb/task_group.h>

#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr long tasks = 1'000'000;

unsigned workers() { return std::max(1u, std::thread::hardware_concurrency()); }

// What every task does: count itself done; the last one wakes the submitter.
struct countdown {
    std::atomic<long> remaining{0};
    void arm(long n) { remaining.store(n, std::memory_order_relaxed); }
    void done() {
        if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining.notify_one();
    }
    void wait() {
        for (long left = remaining.load(std::memory_order_acquire); left != 0;
             left = remaining.load(std::memory_order_acquire)) {
            remaining.wait(left, std::memory_order_acquire);
        }
    }
};

// The baseline everyone writes first: one mutex around one deque, a condvar to sleep on.
class mutex_pool {
public:
    explicit mutex_pool(unsigned n) {
        for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
    }
    ~mutex_pool() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }
    void submit(std::function<void()> fn) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(fn));
        }
        cv_.notify_one();
    }

private:
    void run() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
                if (jobs_.empty()) return;
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();
        }
    }
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    bool stop_ = false;
};

void set_counters(benchmark::State& state) {
    state.SetItemsProcessed(state.iterations() * tasks);
    // Invert(tasks per second) is seconds per task; scaled by 1e-9 it reads in nanoseconds.
    state.counters["ns_per_task"] = benchmark::Counter(
        double(tasks) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_submit_wait_weft(benchmark::State& state) {
    weft::thread_pool_executor pool{workers()};
    countdown cd;
    for (auto _ : state) {
        cd.arm(tasks);
        for (long i = 0; i < tasks; ++i) pool.submit([&cd] { cd.done(); });
        cd.wait();
    }
    set_counters(state);
}

// The same, keeping every future and waiting on each (what concurrent.futures code does).
void BM_submit_wait_weft_futures(benchmark::State& state) {
    weft::thread_pool_executor pool{workers()};
    std::vector<weft::future<void>> futures;
    futures.reserve(tasks);
    for (auto _ : state) {
        for (long i = 0; i < tasks; ++i) futures.push_back(pool.submit([] {}));
        for (auto& f : futures) f.wait();
        futures.clear();
    }
    set_counters(state);
}

void BM_submit_wait_tbb_task_group(benchmark::State& state) {
    countdown cd;
    tbb::task_group group;
    for (auto _ : state) {
        cd.arm(tasks);
        for (long i = 0; i < tasks; ++i) group.run([&cd] { cd.done(); });
        group.wait();
    }
    set_counters(state);
}

void BM_submit_wait_asio_thread_pool(benchmark::State& state) {
    asio::thread_pool pool{workers()};
    countdown cd;
    for (auto _ : state) {
        cd.arm(tasks);
        for (long i = 0; i < tasks; ++i) asio::post(pool, [&cd] { cd.done(); });
        cd.wait();
    }
    pool.join();
    set_counters(state);
}

void BM_submit_wait_mutex_pool(benchmark::State& state) {
    mutex_pool pool{workers()};
    countdown cd;
    for (auto _ : state) {
        cd.arm(tasks);
        for (long i = 0; i < tasks; ++i) pool.submit([&cd] { cd.done(); });
        cd.wait();
    }
    set_counters(state);
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A pool that just did some work, then sits idle for 5 s: CPU used, in % of one core.
void BM_idle_pool_cpu_5s(benchmark::State& state) {
    weft::thread_pool_executor pool{workers()};
    double percent = 0;
    for (auto _ : state) {
        for (int i = 0; i < 1000; ++i) pool.submit([] {}).wait();
        double before = cpu_seconds();
        std::this_thread::sleep_for(std::chrono::seconds(5));
        percent = (cpu_seconds() - before) / 5.0 * 100.0;
    }
    state.counters["cpu_percent_of_core"] = percent;
}

}  // namespace

BENCHMARK(BM_submit_wait_weft)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_submit_wait_weft_futures)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_submit_wait_tbb_task_group)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_submit_wait_asio_thread_pool)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_submit_wait_mutex_pool)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_idle_pool_cpu_5s)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1)->Repetitions(1);

BENCHMARK_MAIN();
