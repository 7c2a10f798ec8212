// Thread pools side by side, in the same run: weft's thread_pool_executor, oneTBB's
// task_group, Asio's thread_pool, and a plain mutex + condvar + deque pool.
//   submit_wait: 1M trivial tasks submitted from one outside thread, then wait for all.
//   tree:        a binary tree of 1M tasks, each task submitting its two children from inside
//                the pool (the path of per-worker queues and stealing).
//   cpu:         4096 tasks of ~50 µs of arithmetic each (speed-up with more threads).
// Plus the CPU an idle weft pool burns over 5 s.
//
// Each benchmark runs at every power of two from 2 up to hardware_concurrency() threads (and
// at hardware_concurrency() itself): weft, Asio and the mutex pool get that many workers while
// the submitting thread waits; TBB's default arena is limited to that many threads
// (global_control), one of them the submitting thread, which runs tasks while it waits. Every task ends by decrementing a shared
// counter; the submitting thread waits until it reaches zero (TBB: task_group::wait).
//
//   build/release/bench/bench_thread_pool --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <weft/thread_pool_executor.hpp>

#include <asio.hpp>
#include <benchmark/benchmark.h>
#include <tbb/task_group.h>

#include <sys/resource.h>

#include <tbb/global_control.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

namespace {

constexpr long tasks = 1'000'000;
constexpr int tree_depth = 19;  // 2^20 - 1 tasks
constexpr long tree_tasks = (2L << tree_depth) - 1;
constexpr long cpu_tasks = 4096;

unsigned hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

// About 50 µs of arithmetic the optimizer cannot drop.
void burn() {
    std::uint64_t s = 0;
    for (std::uint64_t i = 0; i < 60'000; ++i) s = s * 6364136223846793005ull + i;
    benchmark::DoNotOptimize(s);
}

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

void set_counters(benchmark::State& state, long count = tasks) {
    state.SetItemsProcessed(state.iterations() * count);
    // Invert(tasks per second) is seconds per task; scaled by 1e-9 it reads in nanoseconds.
    state.counters["ns_per_task"] = benchmark::Counter(
        double(count) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

unsigned threads_of(const benchmark::State& state) { return static_cast<unsigned>(state.range(0)); }

// Every benchmark below is one workload run on one pool: `submit(fn)` hands the pool a task,
// and `wait(cd)` returns once every task has counted itself done (TBB: task_group::wait).
const auto wait_countdown = [](countdown& cd) { cd.wait(); };

// ---- 1M trivial submits from one outside thread ----------------------------------------

struct outside_submits {
    void operator()(benchmark::State& state, const auto& submit, const auto& wait) const {
        countdown cd;
        for (auto _ : state) {
            cd.arm(tasks);
            for (long i = 0; i < tasks; ++i) submit([&cd] { cd.done(); });
            wait(cd);
        }
        set_counters(state);
    }
};

// ---- A tree of tasks submitting their children from inside the pool ----------------------

template <class Submit>
void tree_node(const Submit& submit, countdown& cd, int depth) {
    if (depth > 0) {
        submit([&submit, &cd, depth] { tree_node(submit, cd, depth - 1); });
        submit([&submit, &cd, depth] { tree_node(submit, cd, depth - 1); });
    }
    cd.done();
}

struct tree {
    void operator()(benchmark::State& state, const auto& submit, const auto& wait) const {
        countdown cd;
        for (auto _ : state) {
            cd.arm(tree_tasks);
            submit([&submit, &cd] { tree_node(submit, cd, tree_depth); });
            wait(cd);
        }
        set_counters(state, tree_tasks);
    }
};

// ---- CPU-bound tasks: speed-up with the number of threads --------------------------------

struct cpu_bound {
    void operator()(benchmark::State& state, const auto& submit, const auto& wait) const {
        countdown cd;
        for (auto _ : state) {
            cd.arm(cpu_tasks);
            for (long i = 0; i < cpu_tasks; ++i) submit([&cd] {
                burn();
                cd.done();
            });
            wait(cd);
        }
        set_counters(state, cpu_tasks);
    }
};

void BM_cpu_serial(benchmark::State& state) {
    for (auto _ : state) {
        for (long i = 0; i < cpu_tasks; ++i) burn();
    }
    set_counters(state, cpu_tasks);
}

// ---- The pools ---------------------------------------------------------------------------

template <class Workload>
void on_weft(benchmark::State& state) {
    weft::thread_pool_executor pool{threads_of(state)};
    Workload{}(state, [&pool](auto fn) { pool.submit(std::move(fn)); }, wait_countdown);
}

template <class Workload>
void on_tbb(benchmark::State& state) {
    tbb::global_control limit{tbb::global_control::max_allowed_parallelism, threads_of(state)};
    tbb::task_group group;
    Workload{}(state, [&group](auto fn) { group.run(std::move(fn)); }, [&group](countdown&) { group.wait(); });
}

template <class Workload>
void on_asio(benchmark::State& state) {
    asio::thread_pool pool{threads_of(state)};
    Workload{}(state, [&pool](auto fn) { asio::post(pool, std::move(fn)); }, wait_countdown);
    pool.join();
}

template <class Workload>
void on_mutex_pool(benchmark::State& state) {
    mutex_pool pool{threads_of(state)};
    Workload{}(state, [&pool](auto fn) { pool.submit(std::move(fn)); }, wait_countdown);
}

// The outside submits again, keeping every future and waiting on each (what
// concurrent.futures code does).
void BM_submit_wait_weft_futures(benchmark::State& state) {
    weft::thread_pool_executor pool{threads_of(state)};
    std::vector<weft::future<void>> futures;
    futures.reserve(tasks);
    for (auto _ : state) {
        for (long i = 0; i < tasks; ++i) futures.push_back(pool.submit([] {}));
        for (auto& f : futures) f.wait();
        futures.clear();
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
    weft::thread_pool_executor pool{hardware_threads()};
    double percent = 0;
    for (auto _ : state) {
        for (int i = 0; i < 1000; ++i) pool.submit([] {}).wait();
        double before = cpu_seconds();
        std::this_thread::sleep_for(std::chrono::seconds(5));
        percent = (cpu_seconds() - before) / 5.0 * 100.0;
    }
    state.counters["cpu_percent_of_core"] = percent;
}

// Thread counts: every power of two from 2 up to the machine's hardware threads, and that.
void thread_counts(benchmark::internal::Benchmark* b) {
    unsigned hw = hardware_threads();
    for (unsigned n = 2; n < hw; n *= 2) b->Arg(n);
    b->Arg(std::max(2u, hw));
    b->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();
}

template <class Workload>
void register_on_every_pool(const std::string& name) {
    benchmark::RegisterBenchmark(("BM_" + name + "_weft").c_str(), on_weft<Workload>)->Apply(thread_counts);
    benchmark::RegisterBenchmark(("BM_" + name + "_tbb_task_group").c_str(), on_tbb<Workload>)->Apply(thread_counts);
    benchmark::RegisterBenchmark(("BM_" + name + "_asio_thread_pool").c_str(), on_asio<Workload>)->Apply(thread_counts);
    benchmark::RegisterBenchmark(("BM_" + name + "_mutex_pool").c_str(), on_mutex_pool<Workload>)->Apply(thread_counts);
}

}  // namespace

int main(int argc, char** argv) {
    register_on_every_pool<outside_submits>("submit_wait");
    benchmark::RegisterBenchmark("BM_submit_wait_weft_futures", BM_submit_wait_weft_futures)->Apply(thread_counts);
    register_on_every_pool<tree>("tree");
    benchmark::RegisterBenchmark("BM_cpu_serial", BM_cpu_serial)->Unit(benchmark::kMillisecond)->UseRealTime();
    register_on_every_pool<cpu_bound>("cpu");
    benchmark::RegisterBenchmark("BM_idle_pool_cpu_5s", BM_idle_pool_cpu_5s)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(1)
        ->Repetitions(1);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
