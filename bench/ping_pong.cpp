// Ping-pong between two tasks through weft::aio::queue: the cost of handing one message to a
// waiting task and switching to it.
//
// `ping` puts a number into `to_pong` and waits for it back on `to_ping`; `pong` echoes.
// Both queues have maxsize 1, so every message wakes a suspended getter. `state.range(0)`
// round trips per iteration; the counter `per_message` is CPU time per one-way message
// (a round trip is two messages), in seconds with an SI suffix ("120n" = 120 ns).
//
// Run: build/release/bench/bench_ping_pong --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true

#include <weft/aio/queue.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>

namespace {

constexpr std::int64_t round_trips = 200'000;

weft::task<std::int64_t> pong(weft::aio::queue<std::int64_t>& in, weft::aio::queue<std::int64_t>& out,
                              std::int64_t n) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        std::int64_t x = co_await in.get();
        sum += x;
        co_await out.put(x);
    }
    co_return sum;
}

weft::task<std::int64_t> ping_main(std::int64_t n) {
    weft::aio::queue<std::int64_t> to_pong(1), to_ping(1);
    auto echo = weft::create_task(pong(to_pong, to_ping, n));
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        co_await to_pong.put(i);
        sum += co_await to_ping.get();
    }
    sum += co_await echo;
    co_return sum;
}

void queue_ping_pong(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(weft::run(ping_main(state.range(0))));
    state.counters["per_message"] = benchmark::Counter(static_cast<double>(2 * state.range(0)),
                                                       benchmark::Counter::kIsIterationInvariantRate |
                                                           benchmark::Counter::kInvert);
}
BENCHMARK(queue_ping_pong)->Arg(round_trips)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
