// The tutorial's multiprocessing experiment, in C++: foo(x) is a CPU-bound summing loop,
// run three times serially, in three threads, and in three processes.
//
// In Python the GIL lets only one thread run Python code at a time, so the threaded run is no
// faster than the serial one and processes are the way to use several cores. C++ has no GIL:
// threads speed up CPU work just as processes do (and share memory for free). What processes
// add is isolation: a crash, a leak or a kill -9 in one of them does not take the others down,
// and weft::process_pool_executor turns such a death into an error instead of a hang.

#include <weft/mp/process.hpp>
#include <weft/mp/start_method.hpp>
#include <weft/mp/value.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

constexpr std::uint64_t iterations = 40'000'000;

// The tutorial's loop; the multiply keeps the compiler from summing it in closed form.
std::uint64_t foo(std::uint64_t x) {
    std::uint64_t s = 0;
    for (std::uint64_t i = 0; i < x; ++i) s = s * 31 + i;
    return s;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
    // Start the forkserver first, while this program has a single thread (see start_method.hpp).
    weft::mp::set_start_method(weft::mp::start_method::forkserver);
    const std::uint64_t expected = foo(iterations);

    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i)
        if (foo(iterations) != expected) return 1;
    double serial = seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    std::vector<std::uint64_t> thread_results(3);
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < 3; ++i) threads.emplace_back([&, i] { thread_results[static_cast<std::size_t>(i)] = foo(iterations); });
    }
    double threaded = seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    weft::mp::array<std::uint64_t> process_results(3);
    std::vector<weft::mp::process> processes;
    for (int i = 0; i < 3; ++i) {
        processes.emplace_back(
            [](weft::mp::array<std::uint64_t> out, int slot) { out.store(static_cast<std::size_t>(slot), foo(iterations)); },
            process_results, i);
    }
    for (auto& p : processes) p.start();
    for (auto& p : processes) {
        p.join();
        if (p.exitcode() != 0) return 1;
    }
    double multiprocess = seconds_since(t0);

    for (int i = 0; i < 3; ++i) {
        if (thread_results[static_cast<std::size_t>(i)] != expected || process_results.at(static_cast<std::size_t>(i)) != expected) {
            std::puts("mismatch");
            return 1;
        }
    }
    unsigned cores = std::thread::hardware_concurrency();
    std::printf("foo(%llu) three times, on %u cores:\n", static_cast<unsigned long long>(iterations), cores);
    std::printf("  serial      %.3f s\n", serial);
    std::printf("  3 threads   %.3f s  (%.2fx)\n", threaded, serial / threaded);
    std::printf("  3 processes %.3f s  (%.2fx)\n", multiprocess, serial / multiprocess);
    std::puts("C++ has no GIL: threads speed up CPU-bound work as much as processes do.\n"
              "Processes add isolation: a crash or kill -9 of one does not take down the others.");
    return 0;
}
