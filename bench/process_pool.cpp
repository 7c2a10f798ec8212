// weft::process_pool_executor: small-task round trips, pool start, and CPU-bound speedup of
// two processes and two threads over serial work. Python's ProcessPoolExecutor peer:
// bench/peers/process_pool.py (run both in the same session; see bench/RESULTS.md).
//
//   build/release/bench/bench_process_pool --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <weft/mp/start_method.hpp>
#include <weft/process_pool_executor.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace {

int square(int x) { return x * x; }

// The CPU-bound unit of work (about 40 ms on the reference machine).
std::uint64_t spin(std::uint64_t n) {
    std::uint64_t s = 0;
    for (std::uint64_t i = 0; i < n; ++i) s = s * 31 + i;
    return s;
}
constexpr std::uint64_t unit = 40'000'000;

// 10k submit() calls, then wait for every future: the round trip Python's peer measures.
void small_tasks_10k(benchmark::State& state) {
    weft::process_pool_executor pool{2};
    std::vector<weft::future<int>> futures;
    futures.reserve(10000);
    for (auto _ : state) {
        futures.clear();
        for (int i = 0; i < 10000; ++i) futures.push_back(pool.submit(square, i));
        long total = 0;
        for (auto& f : futures) total += f.result();
        benchmark::DoNotOptimize(total);
    }
    state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(small_tasks_10k)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same through map() with chunks of 100 items.
void small_tasks_10k_map_chunked(benchmark::State& state) {
    weft::process_pool_executor pool{2};
    std::vector<int> items(10000);
    for (int i = 0; i < 10000; ++i) items[static_cast<std::size_t>(i)] = i;
    for (auto _ : state) benchmark::DoNotOptimize(pool.map(square, items, 100));
    state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(small_tasks_10k_map_chunked)->Unit(benchmark::kMillisecond)->UseRealTime();

// Pool start: construct 2 workers, one round trip, shut down (reap) again.
void pool_start_and_first_task(benchmark::State& state) {
    for (auto _ : state) {
        weft::process_pool_executor pool{2};
        benchmark::DoNotOptimize(pool.submit(square, 3).result());
    }
}
BENCHMARK(pool_start_and_first_task)->Unit(benchmark::kMillisecond)->UseRealTime();

// CPU-bound: two units of work serially, in two processes, in two threads.
void cpu_serial(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(spin(unit));
        benchmark::DoNotOptimize(spin(unit));
    }
}
BENCHMARK(cpu_serial)->Unit(benchmark::kMillisecond)->UseRealTime();

void cpu_2_processes(benchmark::State& state) {
    weft::process_pool_executor pool{2};
    pool.submit(square, 1).result();  // workers are up
    for (auto _ : state) {
        auto a = pool.submit(spin, unit);
        auto b = pool.submit(spin, unit);
        benchmark::DoNotOptimize(a.result() + b.result());
    }
}
BENCHMARK(cpu_2_processes)->Unit(benchmark::kMillisecond)->UseRealTime();

void cpu_2_threads(benchmark::State& state) {
    for (auto _ : state) {
        std::uint64_t a = 0, b = 0;
        {
            std::jthread t1([&] { a = spin(unit); });
            std::jthread t2([&] { b = spin(unit); });
        }
        benchmark::DoNotOptimize(a + b);
    }
}
BENCHMARK(cpu_2_threads)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
    weft::mp::set_start_method(weft::mp::start_method::forkserver);  // before any thread
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
