// Many concurrent sleeping tasks: the memory one parked task costs and the loop's timer-heap
// throughput.
//
// Each iteration spawns `state.range(0)` tasks (100k) that each sleep a random 0–100 ms (fixed
// seed) and then count themselves done; the main task waits on an aio::event set by the last
// one. Handles are dropped at once (the loop owns spawned tasks), so what is measured is the
// task itself: its coroutine frame (with the armed sleep_awaiter in it), its task state, and
// its slot in the timer heap.
//
// Counters:
//   rss_per_task  : VmRSS while every task is asleep minus VmRSS just before spawning, / N
//                   (freed heap is given back with malloc_trim between iterations, so every
//                   iteration starts from the same baseline)
//   heap_per_task : the same delta of malloc's in-use bytes (mallinfo2), / N
//   overshoot_ms  : wall time beyond the longest sleep (100 ms): spawn + timer + wake-up cost
// Wall time is the benchmark's own time column (real time).
//
// Run: build/release/bench/bench_million_timers --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true

#include <weft/aio/event.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>

namespace {

constexpr std::int64_t task_count = 100'000;
constexpr auto longest_sleep = std::chrono::milliseconds(100);

// Resident set size of this process in bytes (VmRSS of /proc/self/status).
double resident_bytes() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            double kib = 0;
            status >> kib;
            return kib * 1024.0;
        }
        status.ignore(1 << 16, '\n');
    }
    return 0.0;
}

double heap_in_use_bytes() { return static_cast<double>(mallinfo2().uordblks); }

struct sample {
    double rss = 0;
    double heap = 0;
};

weft::task<> sleeper(std::chrono::microseconds delay, std::int64_t& remaining, weft::aio::event& all_done) {
    co_await weft::sleep(delay);
    if (--remaining == 0) all_done.set();
}

weft::task<> timers_main(std::int64_t n, sample& before, sample& asleep) {
    std::mt19937 random(12345);
    std::uniform_int_distribution<std::int64_t> micros(
        0, std::chrono::duration_cast<std::chrono::microseconds>(longest_sleep).count());
    std::int64_t remaining = n;
    weft::aio::event all_done;
    before = {resident_bytes(), heap_in_use_bytes()};
    for (std::int64_t i = 0; i < n; ++i) {
        weft::create_task(sleeper(std::chrono::microseconds(micros(random)), remaining, all_done));
    }
    // The spawned tasks run their first step (and park in their timer) before this yield ends.
    co_await weft::sleep(std::chrono::seconds(0));
    asleep = {resident_bytes(), heap_in_use_bytes()};
    co_await all_done.wait();
}

void sleeping_tasks(benchmark::State& state) {
    const std::int64_t n = state.range(0);
    double rss_total = 0, heap_total = 0, overshoot_total = 0;
    for (auto _ : state) {
        malloc_trim(0);
        sample before, asleep;
        auto start = std::chrono::steady_clock::now();
        weft::run(timers_main(n, before, asleep));
        auto took = std::chrono::steady_clock::now() - start;
        rss_total += asleep.rss - before.rss;
        heap_total += asleep.heap - before.heap;
        overshoot_total += std::chrono::duration<double, std::milli>(took - longest_sleep).count();
    }
    const double runs = static_cast<double>(state.iterations());
    state.counters["rss_per_task"] = rss_total / runs / static_cast<double>(n);
    state.counters["heap_per_task"] = heap_total / runs / static_cast<double>(n);
    state.counters["overshoot_ms"] = overshoot_total / runs;
}
BENCHMARK(sleeping_tasks)->Arg(task_count)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
