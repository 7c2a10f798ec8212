#include "mp_test_support.hpp"

#include <weft/errors.hpp>
#include <weft/mp/event.hpp>
#include <weft/mp/hold.hpp>
#include <weft/mp/value.hpp>
#include <weft/process_pool_executor.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace mp = weft::mp;

namespace {

// 0, 1, ..., end-1 as a vector. (Not std::views::iota: clang 14 cannot compile libstdc++ 12's
// iota_view in these calls, and the project builds with clang too.)
std::vector<int> numbers(int begin, int end) {
    std::vector<int> v(static_cast<std::size_t>(end - begin));
    std::iota(v.begin(), v.end(), begin);
    return v;
}


int square(int x) { return x * x; }

long sum_to(long n) {
    long s = 0;
    for (long i = 0; i < n; ++i) s += i;
    return s;
}

// Signals that it started, then blocks until killed or released.
int park(mp::event started, mp::event release) {
    started.set();
    release.wait(30s);
    return getpid();
}

void crash() { std::abort(); }

}  // namespace

TEST(ProcessPool, SubmitReturnsTheResultInAFuture) {
    weft::process_pool_executor pool{2};
    EXPECT_EQ(pool.max_workers(), 2u);
    auto f = pool.submit(square, 7);
    EXPECT_EQ(f.result(10s), 49);
    auto g = pool.submit([](std::string s, int n) { return s + std::to_string(n); }, std::string("n="), 5);
    EXPECT_EQ(g.result(10s), "n=5");
    auto h = pool.submit([] {});
    h.result(10s);
    EXPECT_EQ(pool.current_state(), weft::process_pool_executor::state::running);
}

TEST(ProcessPool, TenThousandTasksInOrderThroughMap) {
    weft::process_pool_executor pool{2};
    std::vector<int> items(10000);
    std::iota(items.begin(), items.end(), 0);
    auto one_by_one = pool.map([](int x) { return 2 * x + 1; }, items);
    ASSERT_EQ(one_by_one.size(), items.size());
    for (int i = 0; i < 10000; ++i) ASSERT_EQ(one_by_one[static_cast<std::size_t>(i)], 2 * i + 1);
    auto chunked = pool.map([](int x) { return x * 3; }, numbers(0, 10000), 250);
    ASSERT_EQ(chunked.size(), 10000u);
    for (int i = 0; i < 10000; ++i) ASSERT_EQ(chunked[static_cast<std::size_t>(i)], 3 * i);
}

TEST(ProcessPool, TenThousandSubmittedTasks) {
    weft::process_pool_executor pool{2};
    std::vector<weft::future<int>> futures;
    for (int i = 0; i < 10000; ++i) futures.push_back(pool.submit(square, i % 1000));
    long total = 0;
    for (auto& f : futures) total += f.result(30s);
    long expected = 0;
    for (int i = 0; i < 10000; ++i) expected += static_cast<long>(i % 1000) * (i % 1000);
    EXPECT_EQ(total, expected);
}

TEST(ProcessPool, AnExceptionArrivesWithItsTypeAndMessage) {
    weft::process_pool_executor pool{1};
    auto f = pool.submit([](int i) -> int { throw std::out_of_range("index " + std::to_string(i)); }, 12);
    try {
        f.result(10s);
        FAIL() << "expected remote_error";
    } catch (const weft::remote_error& e) {
        EXPECT_EQ(e.type_name(), "std::out_of_range");
        EXPECT_EQ(e.message(), "index 12");
        EXPECT_EQ(std::string(e.what()), "std::out_of_range: index 12");
    }
    EXPECT_EQ(pool.submit(square, 3).result(10s), 9);  // the worker survived
    // (Only the type is checked here: under TSan, reading the message of an exception whose
    // futures are gone races, for TSan, with its release in the pool's thread — libstdc++'s
    // exception reference count is not instrumented.)
    EXPECT_THROW(pool.map([](int x) { return x == 5 ? throw std::invalid_argument("five") : x; },
                          numbers(0, 10), 3),
                 weft::remote_error);
}

TEST(ProcessPool, AWorkerCrashBreaksThePoolQuickly) {
    weft::process_pool_executor pool{2};
    mp::event started, release;
    auto parked = pool.submit(park, started, release);
    ASSERT_TRUE(started.wait(10s));
    auto t0 = std::chrono::steady_clock::now();
    auto crashed = pool.submit(crash);
    EXPECT_THROW(crashed.result(5s), weft::broken_process_pool);
    EXPECT_THROW(parked.result(5s), weft::broken_process_pool);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    EXPECT_EQ(pool.current_state(), weft::process_pool_executor::state::broken);
    EXPECT_THROW(pool.submit(square, 1), weft::broken_process_pool);
}

TEST(ProcessPool, KillNineMidTaskBreaksThePoolWithinASecond) {
    weft::process_pool_executor pool{2};
    mp::event started, release;
    auto parked = pool.submit(park, started, release);
    ASSERT_TRUE(started.wait(10s));
    std::vector<weft::future<long>> queued;
    for (int i = 0; i < 20; ++i) queued.push_back(pool.submit(sum_to, 1000L));
    auto pids = pool.worker_pids();
    ASSERT_EQ(pids.size(), 2u);
    auto t0 = std::chrono::steady_clock::now();
    for (pid_t pid : pids) kill(pid, SIGKILL);
    try {
        parked.result(5s);
        FAIL() << "expected broken_process_pool";
    } catch (const weft::broken_process_pool& e) {
        EXPECT_NE(std::string(e.what()).find("signal 9"), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    for (auto& f : queued) {
        ASSERT_TRUE(f.wait_for(5s));  // done: either finished before the kill, or failed
    }
}

TEST(ProcessPool, ShutdownWhileBusyFinishesOrCancels) {
    weft::process_pool_executor pool{2};
    std::vector<weft::future<long>> futures;
    for (int i = 0; i < 200; ++i) futures.push_back(pool.submit(sum_to, 200000L));
    pool.shutdown(true, true);
    EXPECT_EQ(pool.current_state(), weft::process_pool_executor::state::shut_down);
    int finished = 0, cancelled = 0;
    for (auto& f : futures) {
        ASSERT_TRUE(f.done());
        if (f.cancelled()) ++cancelled;
        else {
            EXPECT_EQ(f.result(), sum_to(200000L));
            ++finished;
        }
    }
    EXPECT_EQ(finished + cancelled, 200);
    EXPECT_GT(finished, 0);
    EXPECT_THROW(pool.submit(square, 1), weft::invalid_state_error);
    EXPECT_TRUE(pool.worker_pids().empty());
}

TEST(ProcessPool, ShutdownWithoutWaitStillRunsEverything) {
    std::vector<weft::future<int>> futures;
    {
        weft::process_pool_executor pool{2};
        for (int i = 0; i < 100; ++i) futures.push_back(pool.submit(square, i));
        pool.shutdown(false);
        EXPECT_THROW(pool.submit(square, 1), weft::invalid_state_error);
    }  // the destructor waits
    for (int i = 0; i < 100; ++i) EXPECT_EQ(futures[static_cast<std::size_t>(i)].result(0s), i * i);
}

TEST(ProcessPool, MaxTasksPerChildReplacesWorkers) {
    weft::process_pool_executor pool{1, {.max_tasks_per_child = 3}};
    std::set<int> pids;
    for (int i = 0; i < 9; ++i) pids.insert(pool.submit([] { return static_cast<int>(getpid()); }).result(10s));
    EXPECT_EQ(pids.size(), 3u);
    auto many = pool.map(square, numbers(0, 100));
    EXPECT_EQ(many[99], 99 * 99);
}

TEST(ProcessPool, ForkStartMethodWorksToo) {
    weft::process_pool_executor pool{2, {.method = mp::start_method::fork}};
    EXPECT_EQ(pool.submit(square, 12).result(10s), 144);
    auto r = pool.map(square, std::vector<int>{1, 2, 3});
    EXPECT_EQ(r, (std::vector<int>{1, 4, 9}));
}

TEST(ProcessPool, FuturesCanBeAwaitedFromATask) {
    weft::process_pool_executor pool{2};
    int r = weft::run([&]() -> weft::task<int> {
        int a = co_await pool.submit(square, 5);
        int b = co_await pool.submit(square, 6);
        co_return a + b;
    }());
    EXPECT_EQ(r, 61);
}

TEST(ProcessPool, SharedObjectsPassToWorkers) {
    weft::process_pool_executor pool{2};
    mp::value<long> total{0};
    std::vector<weft::future<void>> fs;
    for (int i = 1; i <= 100; ++i) {
        fs.push_back(pool.submit(
            [](mp::value<long> t, long x) {
                mp::hold h(t.get_lock());
                t.store(t.load() + x);
            },
            total, static_cast<long>(i)));
    }
    for (auto& f : fs) f.result(10s);
    EXPECT_EQ(total.load(), 5050);
}

TEST(ProcessPool, NoLeakedDescriptorsSharedMemoryOrZombies) {
    { weft::process_pool_executor warm{1}; }
    auto fds = weft_test::fd_count();
    auto shm = weft_test::shm_entries();
    for (int round = 0; round < 3; ++round) {
        {
            weft::process_pool_executor pool{2};
            pool.map(square, numbers(0, 100));
        }
        {  // a crashed pool cleans up too
            weft::process_pool_executor pool{2};
            auto f = pool.submit(crash);
            EXPECT_THROW(f.result(5s), weft::broken_process_pool);
        }
        {
            weft::process_pool_executor pool{2, {.method = mp::start_method::fork}};
            pool.map(square, numbers(0, 100));
        }
    }
    EXPECT_EQ(weft_test::fd_count(), fds);
    EXPECT_EQ(weft_test::shm_entries(), shm);
    EXPECT_EQ(weft_test::zombie_count(), 0);
}

TEST(ProcessPool, RejectsZeroWorkers) {
    EXPECT_THROW(weft::process_pool_executor{0}, std::invalid_argument);
}
