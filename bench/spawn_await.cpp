// Spawn and await trivial tasks: the fixed cost of one spawned task (create, schedule, run,
// finish, wake the awaiter), weft against Asio's co_spawn in the same binary and run.
//
// Every benchmark runs `state.range(0)` trivial tasks per iteration on a fresh single-threaded
// loop; the counter `per_task` is the CPU time per task (seconds, shown with an SI suffix:
// "45n" reads 45 ns). CPU time rather than wall time because the benchmark host is shared.
// Python asyncio's number comes from bench/peers/asyncio_spawn.py.
//
//   weft_spawn_await     : for i < N: co_await weft::create_task(trivial(i))
//   weft_spawn_all_await : spawn N tasks into a vector, then co_await each handle
//   asio_co_spawn_await  : for i < N: co_await asio::co_spawn(ex, trivial(i), use_awaitable)
//   asio_co_spawn_all_await : spawn N with experimental::use_promise, then await each promise
//
// Run: build/release/bench/bench_spawn_await --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true

#include <weft/run.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include <asio.hpp>
#include <asio/experimental/promise.hpp>
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

namespace {

constexpr std::int64_t task_count = 1'000'000;

void report_per_task(benchmark::State& state) {
    state.counters["per_task"] = benchmark::Counter(static_cast<double>(state.range(0)),
                                                    benchmark::Counter::kIsIterationInvariantRate |
                                                        benchmark::Counter::kInvert);
}

// ---- weft ---------------------------------------------------------------------------------

weft::task<int> weft_trivial(int i) { co_return i; }

weft::task<std::int64_t> weft_spawn_await_main(std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await weft::create_task(weft_trivial(static_cast<int>(i)));
    }
    co_return sum;
}

weft::task<std::int64_t> weft_spawn_all_main(std::int64_t n) {
    std::vector<weft::task_handle<int>> handles;
    handles.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) handles.push_back(weft::create_task(weft_trivial(static_cast<int>(i))));
    std::int64_t sum = 0;
    for (auto& h : handles) sum += co_await h;
    co_return sum;
}

void weft_spawn_await(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(weft::run(weft_spawn_await_main(state.range(0))));
    report_per_task(state);
}
BENCHMARK(weft_spawn_await)->Arg(task_count)->Unit(benchmark::kMillisecond);

void weft_spawn_all_await(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(weft::run(weft_spawn_all_main(state.range(0))));
    report_per_task(state);
}
BENCHMARK(weft_spawn_all_await)->Arg(task_count)->Unit(benchmark::kMillisecond);

// ---- Asio ---------------------------------------------------------------------------------

asio::awaitable<int> asio_trivial(int i) { co_return i; }

asio::awaitable<void> asio_spawn_await_main(std::int64_t n, std::int64_t& sum) {
    auto ex = co_await asio::this_coro::executor;
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await asio::co_spawn(ex, asio_trivial(static_cast<int>(i)), asio::use_awaitable);
    }
}

asio::awaitable<void> asio_spawn_all_main(std::int64_t n, std::int64_t& sum) {
    auto ex = co_await asio::this_coro::executor;
    using promise = asio::experimental::promise<void(std::exception_ptr, int), asio::any_io_executor>;
    std::vector<promise> promises;
    promises.reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        promises.push_back(
            asio::co_spawn(ex, asio_trivial(static_cast<int>(i)), asio::experimental::use_promise));
    }
    for (auto& p : promises) sum += co_await p.async_wait(asio::use_awaitable);
}

template <class Main>
void run_asio(benchmark::State& state, Main main) {
    for (auto _ : state) {
        asio::io_context ctx{1};  // single-threaded hint
        std::int64_t sum = 0;
        asio::co_spawn(ctx, main(state.range(0), sum), asio::detached);
        ctx.run();
        benchmark::DoNotOptimize(sum);
    }
    report_per_task(state);
}

void asio_co_spawn_await(benchmark::State& state) { run_asio(state, asio_spawn_await_main); }
BENCHMARK(asio_co_spawn_await)->Arg(task_count)->Unit(benchmark::kMillisecond);

void asio_co_spawn_all_await(benchmark::State& state) { run_asio(state, asio_spawn_all_main); }
BENCHMARK(asio_co_spawn_all_await)->Arg(task_count)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
