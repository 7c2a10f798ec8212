// The tutorial's thread pool: a pool of 2 workers running task(1), task(2), task(3), where
// task(n) sleeps n "seconds" and returns n. Here a tutorial second is 100 ms, so the whole run
// takes ~400 ms: task(1) and task(2) start at once, task(3) starts when task(1) frees a
// worker at 100 ms and ends at 400 ms (the tutorial's ~4 s).

#include <weft/futures_wait.hpp>
#include <weft/thread_pool_executor.hpp>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

static const auto program_start = clock_type::now();

static long elapsed_ms() {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - program_start).count());
}

static int task(int n) {
    std::printf("[%4ld ms] task(%d) started\n", elapsed_ms(), n);
    std::this_thread::sleep_for(n * 100ms);
    std::printf("[%4ld ms] task(%d) done\n", elapsed_ms(), n);
    return n;
}

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::puts("(tutorial seconds scaled to 100 ms each)");
    weft::thread_pool_executor pool{2};
    std::vector<weft::future<int>> futures;
    for (int n : {1, 2, 3}) futures.push_back(pool.submit(task, n));
    std::printf("task(3) done right after submit? %s (it waits for a free worker)\n",
                futures[2].done() ? "yes" : "no");

    std::puts("results as they complete (weft::as_completed):");
    for (const auto& f : weft::as_completed(futures)) std::printf("  get %d page success\n", f.result());

    std::printf("results in submission order: %d, %d, %d\n", futures[0].result(), futures[1].result(),
                futures[2].result());
    long total = elapsed_ms();
    std::printf("total: %ld ms (~400 ms: two workers for 1 + 2 + 3 = 6 tutorial seconds of work)\n", total);

    auto doubled = pool.map([](int x) { return 2 * x; }, std::vector{1, 2, 3});
    std::printf("pool.map(double, {1, 2, 3}) = {%d, %d, %d}\n", doubled[0], doubled[1], doubled[2]);
    return futures[0].result() == 1 && futures[1].result() == 2 && futures[2].result() == 3 ? 0 : 1;
}
