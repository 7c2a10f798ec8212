// The tutorial's lock race: 100 threads each do `t = num - 1; sleep(100 us); num = t`.
// Without a lock, threads read the same old value and overwrite each other's updates, so the
// result is far from 0. With a std::mutex around the read-modify-write, it is exactly 0.
//
// About the unprotected version: with a plain `int` it would be a data race, which is
// undefined behaviour in C++ (and ThreadSanitizer rightly reports it). To show the *logical*
// race — lost updates — without the undefined behaviour, `num` is a std::atomic<int> read and
// written with separate relaxed load and store: each access is atomic, but the
// read-sleep-write sequence is not, exactly as in the Python version.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

int main() {
    constexpr int threads = 100;

    std::atomic<int> racy_num{threads};
    {
        std::vector<std::jthread> pool;
        for (int i = 0; i < threads; ++i) {
            pool.emplace_back([&] {
                int t = racy_num.load(std::memory_order_relaxed) - 1;  // read
                std::this_thread::sleep_for(100us);                    // others read the same value
                racy_num.store(t, std::memory_order_relaxed);          // write: overwrites their updates
            });
        }
    }
    int racy = racy_num.load();
    std::printf("without a lock: num = %d (expected 0; %d decrements were lost)\n", racy, racy);

    int num = threads;
    std::mutex lock;
    {
        std::vector<std::jthread> pool;
        for (int i = 0; i < threads; ++i) {
            pool.emplace_back([&] {
                std::lock_guard guard(lock);
                int t = num - 1;
                std::this_thread::sleep_for(100us);
                num = t;
            });
        }
    }
    std::printf("with std::mutex: num = %d\n", num);
    return num == 0 ? 0 : 1;
}
