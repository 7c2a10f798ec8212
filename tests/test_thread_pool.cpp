#include <weft/futures_wait.hpp>
#include <weft/thread_pool_executor.hpp>

#include <gtest/gtest.h>

#include <pthread.h>
#include <sys/resource.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <latch>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

TEST(ThreadPool, SubmitReturnsResultsAndForwardsArguments) {
    weft::thread_pool_executor pool{2};
    auto add = pool.submit([](int a, int b) { return a + b; }, 2, 3);
    std::string text = "abc";
    auto len = pool.submit([](const std::string& s) { return s.size(); }, text);
    auto moved = pool.submit([](std::unique_ptr<int> p) { return *p * 2; }, std::make_unique<int>(21));
    auto nothing = pool.submit([] {});
    EXPECT_EQ(add.result(), 5);
    EXPECT_EQ(len.result(), 3u);
    EXPECT_EQ(moved.result(), 42);
    nothing.result();
    EXPECT_EQ(pool.max_workers(), 2u);
}

TEST(ThreadPool, ExceptionsAreCapturedInTheFuture) {
    weft::thread_pool_executor pool{2};
    auto f = pool.submit([]() -> int { throw std::runtime_error("worker failed"); });
    EXPECT_THROW(f.result(), std::runtime_error);
    EXPECT_EQ(weft::describe(f.exception()), "worker failed");
    EXPECT_EQ(pool.submit([] { return 1; }).result(), 1);  // the pool survives
}

TEST(ThreadPool, ZeroWorkersIsRejected) {
    EXPECT_THROW(weft::thread_pool_executor{0}, std::invalid_argument);
}

TEST(ThreadPool, MapKeepsInputOrder) {
    weft::thread_pool_executor pool{4};
    std::vector<int> input;
    for (int i = 0; i < 1000; ++i) input.push_back(i);
    auto out = pool.map(
        [](int x) {
            if (x % 7 == 0) std::this_thread::sleep_for(10us);  // finish out of order
            return x * 3;
        },
        input);
    ASSERT_EQ(out.size(), input.size());
    for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], int(i) * 3);
}

TEST(ThreadPool, MapRethrowsTheFirstFailureInInputOrder) {
    weft::thread_pool_executor pool{2};
    std::vector<int> input{1, 2, 3, 4};
    try {
        pool.map(
            [](int x) {
                if (x >= 3) throw std::runtime_error("bad " + std::to_string(x));
                return x;
            },
            input);
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "bad 3");
    }
}

TEST(ThreadPool, SubmitAfterShutdownNamesTheState) {
    weft::thread_pool_executor pool{1};
    pool.shutdown();
    EXPECT_EQ(pool.current_state(), weft::thread_pool_executor::state::shut_down);
    try {
        pool.submit([] {});
        FAIL() << "expected invalid_state_error";
    } catch (const weft::invalid_state_error& e) {
        EXPECT_NE(std::string(e.what()).find("shut_down"), std::string::npos) << e.what();
    }
    pool.shutdown();  // idempotent
}

TEST(ThreadPool, ShutdownWithPendingWorkRunsItAll) {
    std::vector<weft::future<int>> fs;
    {
        weft::thread_pool_executor pool{1};
        for (int i = 0; i < 200; ++i) fs.push_back(pool.submit([i] {
            std::this_thread::sleep_for(10us);
            return i;
        }));
        pool.shutdown(/*wait=*/true, /*cancel_futures=*/false);
        EXPECT_THROW(pool.submit([] { return 0; }), weft::invalid_state_error);
    }
    for (int i = 0; i < 200; ++i) EXPECT_EQ(fs[static_cast<std::size_t>(i)].result(), i);
}

TEST(ThreadPool, ShutdownWithCancelFuturesCancelsWhatHasNotStarted) {
    std::vector<weft::future<int>> fs;
    std::latch started{1};
    std::latch release{1};
    weft::thread_pool_executor pool{1};
    fs.push_back(pool.submit([&] {
        started.count_down();
        release.wait();
        return -1;
    }));
    started.wait();
    for (int i = 0; i < 100; ++i) fs.push_back(pool.submit([i] { return i; }));
    std::jthread releaser([&] {
        std::this_thread::sleep_for(5ms);
        release.count_down();
    });
    pool.shutdown(/*wait=*/true, /*cancel_futures=*/true);
    EXPECT_EQ(fs[0].result(), -1);  // it was running: it finished
    for (std::size_t i = 1; i < fs.size(); ++i) EXPECT_TRUE(fs[i].cancelled()) << i;
}

TEST(ThreadPool, ShutdownWithoutWaitReturnsAtOnceAndTheDestructorJoins) {
    std::atomic<int> done{0};
    {
        weft::thread_pool_executor pool{2};
        for (int i = 0; i < 10; ++i) pool.submit([&] {
            std::this_thread::sleep_for(1ms);
            ++done;
        });
        pool.shutdown(/*wait=*/false);
        EXPECT_EQ(pool.current_state(), weft::thread_pool_executor::state::shutting_down);
    }
    EXPECT_EQ(done.load(), 10);
}

TEST(ThreadPool, ShutdownWaitFromOwnWorkerIsRefused) {
    weft::thread_pool_executor pool{1};
    auto f = pool.submit([&] { pool.shutdown(true); });
    EXPECT_THROW(f.result(), weft::invalid_state_error);
}

TEST(ThreadPool, CancelledFutureNeverRuns) {
    weft::thread_pool_executor pool{1};
    std::latch release{1};
    auto blocker = pool.submit([&] { release.wait(); });
    std::atomic<bool> ran{false};
    auto victim = pool.submit([&] { ran = true; });
    EXPECT_TRUE(victim.cancel());
    release.count_down();
    blocker.result();
    pool.shutdown();
    EXPECT_FALSE(ran.load());
    EXPECT_THROW(victim.result(), weft::cancelled_error);
}

TEST(ThreadPool, NestedSubmitAndWaitCompletes) {
    // Every worker blocks on a child job of the same pool: helping keeps the pool going.
    weft::thread_pool_executor pool{2};
    std::vector<weft::future<int>> parents;
    for (int i = 0; i < 64; ++i) {
        parents.push_back(pool.submit([&pool, i] {
            auto child = pool.submit([i] { return i + 1; });
            return child.result() * 2;
        }));
    }
    for (int i = 0; i < 64; ++i) EXPECT_EQ(parents[static_cast<std::size_t>(i)].result(), (i + 1) * 2);
}

TEST(ThreadPool, RecursiveForkJoin) {
    weft::thread_pool_executor pool{2};
    std::function<long(int)> fib = [&](int n) -> long {
        if (n < 2) return n;
        auto a = pool.submit(fib, n - 1);
        long b = fib(n - 2);
        return a.result() + b;
    };
    EXPECT_EQ(pool.submit(fib, 18).result(), 2584);
}

TEST(ThreadPool, WorkersAreNamed) {
    weft::thread_pool_executor pool{3};
    std::set<std::string> names;
    std::mutex m;
    std::latch all{3};
    std::vector<weft::future<void>> fs;
    for (int i = 0; i < 3; ++i) {
        fs.push_back(pool.submit([&] {
            char buf[16] = {};
            pthread_getname_np(pthread_self(), buf, sizeof buf);
            {
                std::lock_guard lock(m);
                names.insert(buf);
            }
            all.arrive_and_wait();  // three jobs on three distinct workers
        }));
    }
    for (auto& f : fs) f.result();
    EXPECT_EQ(names, (std::set<std::string>{"weft-pool-0", "weft-pool-1", "weft-pool-2"}));
}

TEST(ThreadPool, ManySubmittersFromManyThreads) {
    weft::thread_pool_executor pool{3};
    std::atomic<long> sum{0};
    {
        std::vector<std::jthread> submitters;
        for (int t = 0; t < 4; ++t) {
            submitters.emplace_back([&] {
                std::vector<weft::future<void>> fs;
                for (int i = 1; i <= 2000; ++i) fs.push_back(pool.submit([&sum, i] { sum += i; }));
                for (auto& f : fs) f.result();
            });
        }
    }
    EXPECT_EQ(sum.load(), 4L * 2000 * 2001 / 2);
}

// A submit racing with shutdown either throws (and its call never runs) or returns a future
// that shutdown(wait = true) completes: no job is stranded in a queue nobody drains.
TEST(ThreadPool, SubmitRacingWithShutdownEitherThrowsOrRuns) {
    for (int round = 0; round < 20; ++round) {
        weft::thread_pool_executor pool{2};
        std::atomic<long> ran{0};
        std::vector<std::vector<weft::future<void>>> accepted(3);
        std::latch started{3};
        {
            std::vector<std::jthread> submitters;
            for (std::size_t t = 0; t < accepted.size(); ++t) {
                submitters.emplace_back([&, t] {
                    started.count_down();
                    try {
                        for (;;) accepted[t].push_back(pool.submit([&ran] { ran.fetch_add(1); }));
                    } catch (const weft::invalid_state_error&) {  // shut down: stop submitting
                    }
                });
            }
            started.wait();
            std::this_thread::sleep_for(1ms);
            pool.shutdown(/*wait=*/true);
        }
        long total = 0;
        for (auto& fs : accepted) {
            for (auto& f : fs) {
                ASSERT_TRUE(f.done());
                EXPECT_FALSE(f.cancelled());
                ++total;
            }
        }
        EXPECT_EQ(ran.load(), total);
    }
}

// Jobs come in every size: small ones from the per-thread block cache, large and over-aligned
// ones from the global allocator; futures dropped early or late, on any thread.
TEST(ThreadPool, CallablesOfEverySizeAndAlignment) {
    weft::thread_pool_executor pool{2};
    struct alignas(64) aligned {
        int v;
    };
    std::array<char, 2000> big{};
    big[1999] = 7;
    std::vector<weft::future<int>> fs;
    for (int i = 0; i < 3000; ++i) {
        switch (i % 4) {
            case 0: fs.push_back(pool.submit([i] { return i; })); break;
            case 1: fs.push_back(pool.submit([big, i] { return big[1999] + i - 7; })); break;
            case 2: fs.push_back(pool.submit([a = aligned{i}] {
                        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&a) % 64, 0u);
                        return a.v;
                    }));
                    break;
            default: pool.submit([] { return 0; }); fs.push_back(pool.submit([i] { return i; })); break;
        }
    }
    for (int i = 0; i < 3000; ++i) EXPECT_EQ(fs[std::size_t(i)].result(), i);
}

static double process_cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

TEST(ThreadPool, IdlePoolParks) {
    weft::thread_pool_executor pool{4};
    for (int i = 0; i < 100; ++i) pool.submit([] {}).result();
    std::this_thread::sleep_for(50ms);  // past the spin phase
    double before = process_cpu_seconds();
    std::this_thread::sleep_for(300ms);
    double used = process_cpu_seconds() - before;
    // Four spinning workers would burn ~1.2 s of CPU here; parked ones burn next to nothing.
    EXPECT_LT(used, 0.1) << "an idle pool used " << used << " s of CPU in 0.3 s";
}
