#include "mp_test_support.hpp"

#include <weft/errors.hpp>
#include <weft/mp/event.hpp>
#include <weft/mp/process.hpp>
#include <weft/mp/queue.hpp>
#include <weft/mp/value.hpp>

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace mp = weft::mp;

namespace {

void square_into(mp::queue<int> q, int x) { q.put(x * x); }

void sleep_forever(mp::event started) {
    started.set();
    for (;;) pause();
}

}  // namespace

TEST(MpProcess, RunsAFunctionPointerWithArgumentsThroughTheForkserver) {
    mp::queue<int> q{4};
    mp::process p(square_into, q, 7);
    EXPECT_EQ(p.current_state(), mp::process::state::initial);
    EXPECT_EQ(p.pid(), -1);
    p.start();
    EXPECT_GT(p.pid(), 0);
    EXPECT_EQ(q.get(10s), 49);
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(p.exitcode(), 0);
    EXPECT_FALSE(p.is_alive());
}

TEST(MpProcess, RunsACaptureLessLambdaWithAStringArgument) {
    mp::queue<std::string> q{4};
    mp::process p([](mp::queue<std::string> out, std::string s) { out.put(s + "!"); }, q, std::string("hello"));
    p.start();
    EXPECT_EQ(q.get(10s), "hello!");
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(p.exitcode(), 0);
}

TEST(MpProcess, NamesProcessesAndKeepsGivenNames) {
    mp::process a([] {});
    mp::process b({.name = "crawler"}, [] {});
    EXPECT_EQ(a.name().rfind("process-", 0), 0u);
    EXPECT_EQ(b.name(), "crawler");
}

TEST(MpProcess, AnEscapingExceptionExitsWithCode1AndIsPrinted) {
    testing::internal::CaptureStderr();  // the fork child shares our redirected stderr
    mp::process p({.name = "thrower", .method = mp::start_method::fork},
                  [] { throw std::out_of_range("index 12 is past the end"); });
    p.start();
    ASSERT_TRUE(p.join(10s));
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(p.exitcode(), 1);
    EXPECT_NE(err.find("Process thrower"), std::string::npos) << err;
    EXPECT_NE(err.find("std::out_of_range"), std::string::npos) << err;
    EXPECT_NE(err.find("index 12 is past the end"), std::string::npos) << err;
}

TEST(MpProcess, AnExceptionThroughTheForkserverAlsoExitsWithCode1) {
    mp::process p([] { throw std::runtime_error("boom (this message is expected in the test log)"); });
    p.start();
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(p.exitcode(), 1);
}

TEST(MpProcess, KilledProcessesReportMinusTheSignal) {
    for (int sig : {SIGKILL, SIGTERM}) {
        mp::event started;
        mp::process p(sleep_forever, started);
        p.start();
        ASSERT_TRUE(started.wait(10s));
        EXPECT_TRUE(p.is_alive());
        EXPECT_FALSE(p.join(20ms));
        EXPECT_EQ(p.exitcode(), std::nullopt);
        if (sig == SIGKILL) p.kill();
        else p.terminate();
        ASSERT_TRUE(p.join(10s));
        EXPECT_EQ(p.exitcode(), -sig);
        EXPECT_FALSE(p.is_alive());
        p.kill();  // harmless once ended
    }
}

TEST(MpProcess, ForkMethodRunsCapturingLambdas) {
    int local = 20;
    mp::value<int> out{0};
    mp::process p({.method = mp::start_method::fork}, [&local, out]() mutable { out.store(local + 1); });
    p.start();
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(p.exitcode(), 0);
    EXPECT_EQ(out.load(), 21);
}

TEST(MpProcess, ForkserverRefusesCapturingLambdasWithAClearError) {
    int local = 1;
    mp::process p({.method = mp::start_method::forkserver}, [&local] { ++local; });
    try {
        p.start();
        FAIL() << "expected invalid_state_error";
    } catch (const weft::invalid_state_error& e) {
        EXPECT_NE(std::string(e.what()).find("start_method::fork"), std::string::npos) << e.what();
    }
}

TEST(MpProcess, MisuseNamesTheState) {
    mp::process p([] {});
    EXPECT_THROW(p.join(), weft::invalid_state_error);
    EXPECT_THROW(p.kill(), weft::invalid_state_error);
    EXPECT_FALSE(p.is_alive());
    EXPECT_EQ(p.exitcode(), std::nullopt);
    p.start();
    try {
        p.start();
        FAIL() << "expected invalid_state_error";
    } catch (const weft::invalid_state_error& e) {
        EXPECT_NE(std::string(e.what()).find("state: started"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(p.join(10s));
}

TEST(MpProcess, ExitCodeOfAFunctionThatCallsExit) {
    mp::process p([] { std::_Exit(3); });
    p.start();
    ASSERT_TRUE(p.join(10s));
    EXPECT_EQ(p.exitcode(), 3);
}

TEST(MpProcess, MovedProcessKeepsTheChild) {
    std::vector<mp::process> ps;
    for (int i = 0; i < 3; ++i) ps.emplace_back([] {});
    for (auto& p : ps) p.start();
    for (auto& p : ps) {
        ASSERT_TRUE(p.join(10s));
        EXPECT_EQ(p.exitcode(), 0);
    }
}

// Threads keep a logger and a mutex busy (and the allocator) while processes start. With the
// fork start method a child can inherit one of those locks held and hang; the default start
// method (the forkserver, started before any thread) cannot.
namespace {
std::mutex busy_mutex;
void use_the_busy_locks(mp::value<int> done) {
    { std::lock_guard g(busy_mutex); }
    spdlog::debug("child {}", getpid());
    std::vector<std::string> v(100, std::string(64, 'x'));
    done.store(done.load() + static_cast<int>(v.size() / 100));
}
}  // namespace

TEST(MpProcess, ForkingWhileThreadsHoldLocksNeverHangsTheChild) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&] {
            while (!stop.load()) {
                std::lock_guard g(busy_mutex);
                spdlog::debug("busy");
                std::vector<std::string> v(10, std::string(128, 'y'));
            }
        });
    }
    mp::value<int> done{0};
    int hung = 0;
    for (int i = 0; i < 200; ++i) {
        mp::process p(use_the_busy_locks, done);
        p.start();
        if (!p.join(10s)) {
            ++hung;
            p.kill();
            p.join();
        }
        EXPECT_EQ(p.exitcode(), 0);
    }
    stop = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(hung, 0);
    EXPECT_EQ(done.load(), 200);
}

TEST(MpProcess, NoLeakedDescriptorsSharedMemoryOrZombies) {
    {  // warm up: the forkserver and the arena exist before the counts are taken
        mp::process p([] {});
        p.start();
        p.join();
    }
    auto fds = weft_test::fd_count();
    auto shm = weft_test::shm_entries();
    for (int i = 0; i < 20; ++i) {
        mp::queue<int> q{2};
        mp::process a([](mp::queue<int> q) { q.put(1); }, q);
        mp::process b({.method = mp::start_method::fork}, [q]() mutable { q.put(2); });
        mp::event started;
        mp::process c(sleep_forever, started);
        a.start();
        b.start();
        c.start();
        ASSERT_TRUE(started.wait(10s));
        c.kill();
        EXPECT_EQ(q.get(10s) + q.get(10s), 3);
        ASSERT_TRUE(a.join(10s));
        ASSERT_TRUE(b.join(10s));
        ASSERT_TRUE(c.join(10s));
    }
    EXPECT_EQ(weft_test::fd_count(), fds);
    EXPECT_EQ(weft_test::shm_entries(), shm);
    EXPECT_EQ(weft_test::zombie_count(), 0);
}
