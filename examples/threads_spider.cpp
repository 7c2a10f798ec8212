// The tutorial's spider01/spider02: two "download" threads, with and without join.
// The tutorial sleeps whole seconds; here every tutorial second is 100 ms so the example
// (which the test suite runs) stays quick: get_detail_html sleeps 200 ms, get_detail_url 400 ms.
//
// Threads are plain std::jthread: weft does not wrap what std already does well.

#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

static const auto program_start = clock_type::now();

static long elapsed_ms() {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - program_start).count());
}

static void get_detail_html(const char* label) {
    std::printf("[%5ld ms] %s: get detail html started\n", elapsed_ms(), label);
    std::this_thread::sleep_for(200ms);  // the tutorial's 2 s
    std::printf("[%5ld ms] %s: get detail html end\n", elapsed_ms(), label);
}

static void get_detail_url(const char* label) {
    std::printf("[%5ld ms] %s: get detail url started\n", elapsed_ms(), label);
    std::this_thread::sleep_for(400ms);  // the tutorial's 4 s
    std::printf("[%5ld ms] %s: get detail url end\n", elapsed_ms(), label);
}

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::puts("(tutorial seconds scaled to 100 ms each)");

    // spider02: start both, then join both -> the main thread ends after the longest one.
    auto start = clock_type::now();
    {
        std::jthread html(get_detail_html, "with join");
        std::jthread url(get_detail_url, "with join");
        html.join();
        url.join();
    }
    auto with_join = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count();
    std::printf("with join: main thread finished after %lld ms (~ the longest thread, 400 ms; not 600)\n\n",
                static_cast<long long>(with_join));

    // spider01: start both and do not wait -> the main thread's own work ends at once, while
    // the threads are still running. (Python then keeps the process alive for its non-daemon
    // threads; in C++ the jthreads are joined when they go out of scope, below.)
    start = clock_type::now();
    {
        std::jthread html(get_detail_html, "no join");
        std::jthread url(get_detail_url, "no join");
        auto without_join = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count();
        std::printf("[%5ld ms] without join: main thread finished its work after %lld ms; threads still running\n",
                    elapsed_ms(), static_cast<long long>(without_join));
    }
    std::printf("[%5ld ms] all threads done\n", elapsed_ms());
    return 0;
}
