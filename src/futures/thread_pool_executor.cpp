// The scheduler behind weft::thread_pool_executor.
//
// Queues: every worker owns a fixed-size Chase-Lev deque (owner pushes/pops at the bottom,
// thieves take from the top; all index operations are seq_cst, which gives the StoreLoad
// ordering the algorithm needs without stand-alone fences). Calls submitted from outside the
// pool, and a worker's overflow, go to a global injection queue: a mutex-protected intrusive
// list that workers drain in batches, so its lock is taken about once per batch on the
// consumer side.
//
// Sleeping: a worker that finds nothing is "searching" for a bounded spin, then registers as
// a sleeper and waits on the `epoch_` futex. A producer publishes its job with a seq_cst
// store, then wakes one sleeper only if no worker is searching. The worker re-checks every
// queue after registering as a sleeper and before sleeping, and a wake bumps the epoch it
// sleeps on, so a job is never left behind with every worker asleep (Dekker-style argument:
// either the producer sees the sleeper, or the sleeper's re-check sees the job).

#include <weft/thread_pool_executor.hpp>

#include "common/log.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WEFT_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define WEFT_CPU_RELAX() asm volatile("yield")
#else
#define WEFT_CPU_RELAX() ((void)0)
#endif

namespace weft::detail {

namespace {

// Fixed-capacity work-stealing deque of one worker.
class work_deque {
public:
    static constexpr std::int64_t capacity = 1024;

    // Owner only. False if full (the caller overflows to the injection queue).
    bool push(pool_job* job) noexcept {
        std::int64_t b = bottom_.load(std::memory_order_relaxed);
        std::int64_t t = top_.load(std::memory_order_acquire);
        if (b - t >= capacity) return false;
        slots_[static_cast<std::size_t>(b & (capacity - 1))].store(job, std::memory_order_relaxed);
        bottom_.store(b + 1, std::memory_order_seq_cst);
        return true;
    }
    // Owner only.
    pool_job* pop() noexcept {
        std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
        bottom_.store(b, std::memory_order_seq_cst);
        std::int64_t t = top_.load(std::memory_order_seq_cst);
        if (t > b) {
            bottom_.store(b + 1, std::memory_order_relaxed);
            return nullptr;
        }
        pool_job* job = slots_[static_cast<std::size_t>(b & (capacity - 1))].load(std::memory_order_relaxed);
        if (t == b) {  // the last job: race the thieves for it
            if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
                job = nullptr;
            }
            bottom_.store(b + 1, std::memory_order_relaxed);
        }
        return job;
    }
    // Any thread. nullptr if empty or another thief won the race.
    pool_job* steal() noexcept {
        std::int64_t t = top_.load(std::memory_order_seq_cst);
        std::int64_t b = bottom_.load(std::memory_order_seq_cst);
        if (t >= b) return nullptr;
        pool_job* job = slots_[static_cast<std::size_t>(t & (capacity - 1))].load(std::memory_order_relaxed);
        if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) {
            return nullptr;
        }
        return job;
    }
    bool empty() const noexcept {
        return top_.load(std::memory_order_seq_cst) >= bottom_.load(std::memory_order_seq_cst);
    }

private:
    alignas(64) std::atomic<std::int64_t> top_{0};
    alignas(64) std::atomic<std::int64_t> bottom_{0};
    alignas(64) std::array<std::atomic<pool_job*>, capacity> slots_{};
};

// The global FIFO for calls submitted from outside the pool.
class injection_queue {
public:
    void push(pool_job* job) noexcept {
        job->next = nullptr;
        if (tail_) tail_->next = job;
        else head_ = job;
        tail_ = job;
        size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
    }
    pool_job* pop() noexcept {
        pool_job* job = head_;
        if (!job) return nullptr;
        head_ = job->next;
        if (!head_) tail_ = nullptr;
        size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
        return job;
    }
    std::size_t size_hint() const noexcept { return size_.load(std::memory_order_seq_cst); }

    std::mutex mutex;  // guards head_, tail_ and the writes of size_

private:
    pool_job* head_ = nullptr;
    pool_job* tail_ = nullptr;
    std::atomic<std::size_t> size_{0};
};

}  // namespace

class pool_core {
public:
    struct worker final : work_helper {
        pool_core* pool = nullptr;
        std::size_t index = 0;
        std::uint32_t rng = 0;
        work_deque deque;
        std::thread thread;

        bool help_one() override {
            pool_job* job = deque.pop();
            if (!job) job = pool->take_shared(*this);
            if (!job) return false;
            job->run();
            return true;
        }
    };

    explicit pool_core(std::size_t n) {
        if (n == 0) throw std::invalid_argument("thread_pool_executor: max_workers must be greater than 0");
        workers_.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            auto w = std::make_unique<worker>();
            w->pool = this;
            w->index = i;
            w->rng = static_cast<std::uint32_t>(i * 2654435761u + 1);
            workers_.push_back(std::move(w));
        }
        try {
            for (auto& w : workers_) w->thread = std::thread([this, p = w.get()] { worker_main(*p); });
        } catch (...) {
            begin_shutdown(false);
            join_all();
            throw;
        }
    }

    pool_core(const pool_core&) = delete;
    pool_core& operator=(const pool_core&) = delete;
    // Runs after join_all(): whatever is still queued (a submit that raced with shutdown) is
    // cancelled rather than leaked with its waiters hanging.
    ~pool_core() {
        {
            std::lock_guard lock(inject_.mutex);
            while (pool_job* job = inject_.pop()) job->cancel_and_drop();
        }
        for (auto& w : workers_) {
            while (pool_job* job = w->deque.steal()) job->cancel_and_drop();
        }
    }

    void schedule(pool_job* job) {
        worker* self = current_worker;
        if (self && self->pool == this) {
            if (state_.load(std::memory_order_acquire) != thread_pool_executor::state::running) throw_closed();
            if (!self->deque.push(job)) push_injected(job);
        } else {
            push_injected(job);
        }
        notify_after_push();
    }

    void begin_shutdown(bool cancel_futures) {
        {
            std::lock_guard lock(inject_.mutex);
            auto expected = thread_pool_executor::state::running;
            state_.compare_exchange_strong(expected, thread_pool_executor::state::shutting_down);
        }
        if (cancel_futures) {
            for (;;) {
                pool_job* job;
                {
                    std::lock_guard lock(inject_.mutex);
                    job = inject_.pop();
                }
                if (!job) break;
                job->cancel_and_drop();
            }
            for (auto& w : workers_) {
                while (!w->deque.empty()) {
                    if (pool_job* job = w->deque.steal()) job->cancel_and_drop();
                }
            }
        }
        wake_all();
    }

    void join_all() {
        std::lock_guard lock(join_mutex_);
        for (auto& w : workers_) {
            if (w->thread.joinable()) w->thread.join();
        }
        state_.store(thread_pool_executor::state::shut_down, std::memory_order_release);
    }

    bool is_own_worker() const noexcept { return current_worker && current_worker->pool == this; }
    thread_pool_executor::state current_state() const noexcept { return state_.load(std::memory_order_acquire); }
    std::size_t size() const noexcept { return workers_.size(); }

private:
    static constexpr int spin_rounds = 64;
    static constexpr int yield_rounds = 16;

    [[noreturn]] void throw_closed() const {
        auto s = state_.load(std::memory_order_acquire);
        throw invalid_state_error(std::string("cannot submit to a thread_pool_executor that is ") +
                                  (s == thread_pool_executor::state::shutting_down ? "shutting_down" : "shut_down"));
    }

    void push_injected(pool_job* job) {
        std::lock_guard lock(inject_.mutex);
        if (state_.load(std::memory_order_relaxed) != thread_pool_executor::state::running) throw_closed();
        inject_.push(job);
    }

    // The push ended with a seq_cst store (the deque's bottom, or the injection queue's size),
    // so these seq_cst loads cannot be ordered before it (no stand-alone fence: TSan lacks them).
    void notify_after_push() noexcept {
        if (searching_.load(std::memory_order_seq_cst) == 0 && sleepers_.load(std::memory_order_seq_cst) > 0) {
            wake_one();
        }
    }
    void wake_one() noexcept {
        epoch_.fetch_add(1, std::memory_order_seq_cst);
        futex_wake(epoch_, 1);
    }
    void wake_all() noexcept {
        epoch_.fetch_add(1, std::memory_order_seq_cst);
        futex_wake(epoch_, INT_MAX);
    }

    // A job from the injection queue (moving a batch into w's deque) or stolen from a peer.
    pool_job* take_shared(worker& w) noexcept {
        if (inject_.size_hint() > 0) {
            pool_job* first = nullptr;
            std::size_t moved = 0;
            {
                std::lock_guard lock(inject_.mutex);
                std::size_t n = inject_.size_hint();
                std::size_t batch = std::clamp<std::size_t>(n / workers_.size(), 1, work_deque::capacity / 2);
                first = inject_.pop();
                for (std::size_t i = 1; first && i < batch; ++i) {
                    pool_job* job = inject_.pop();
                    if (!job) break;
                    if (!w.deque.push(job)) {  // cannot happen: the batch fits; keep it anyway
                        inject_.push(job);
                        break;
                    }
                    ++moved;
                }
            }
            if (moved > 0) notify_after_push();
            if (first) return first;
        }
        std::size_t n = workers_.size();
        w.rng ^= w.rng << 13;
        w.rng ^= w.rng >> 17;
        w.rng ^= w.rng << 5;
        std::size_t start = w.rng % n;
        for (std::size_t i = 0; i < n; ++i) {
            worker& victim = *workers_[(start + i) % n];
            if (&victim == &w) continue;
            if (pool_job* job = victim.deque.steal()) return job;
        }
        return nullptr;
    }

    bool any_work_visible() const noexcept {
        if (inject_.size_hint() > 0) return true;
        for (auto& w : workers_) {
            if (!w->deque.empty()) return true;
        }
        return false;
    }

    // Searches, spins, parks. nullptr: the pool is shutting down and no work is left.
    pool_job* find_work(worker& w) noexcept {
        for (;;) {
            searching_.fetch_add(1, std::memory_order_seq_cst);
            for (int round = 0; round < spin_rounds + yield_rounds; ++round) {
                if (pool_job* job = take_shared(w)) {
                    if (searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
                        sleepers_.load(std::memory_order_seq_cst) > 0 && any_work_visible()) {
                        wake_one();  // the last searcher found work: there may be more
                    }
                    return job;
                }
                if (round < spin_rounds) {
                    for (int i = 0; i < 32; ++i) WEFT_CPU_RELAX();
                } else {
                    std::this_thread::yield();
                }
            }
            sleepers_.fetch_add(1, std::memory_order_seq_cst);
            std::uint32_t epoch = epoch_.load(std::memory_order_seq_cst);
            searching_.fetch_sub(1, std::memory_order_seq_cst);
            if (pool_job* job = take_shared(w)) {
                sleepers_.fetch_sub(1, std::memory_order_seq_cst);
                return job;
            }
            if (state_.load(std::memory_order_acquire) != thread_pool_executor::state::running &&
                !any_work_visible()) {
                sleepers_.fetch_sub(1, std::memory_order_seq_cst);
                return nullptr;
            }
            futex_wait(epoch_, epoch, nullptr);
            sleepers_.fetch_sub(1, std::memory_order_seq_cst);
        }
    }

    void worker_main(worker& w) {
        std::string name = "weft-pool-" + std::to_string(w.index);
        ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
        current_worker = &w;
        current_work_helper = &w;
        for (;;) {
            pool_job* job = w.deque.pop();
            if (!job) job = take_shared(w);  // without touching the shared searching_ counter
            if (!job) job = find_work(w);
            if (!job) break;
            job->run();
        }
        current_work_helper = nullptr;
        current_worker = nullptr;
    }

    static inline thread_local worker* current_worker = nullptr;

    std::vector<std::unique_ptr<worker>> workers_;
    injection_queue inject_;
    alignas(64) std::atomic<int> searching_{0};
    alignas(64) std::atomic<int> sleepers_{0};
    alignas(64) std::atomic<std::uint32_t> epoch_{0};
    std::atomic<thread_pool_executor::state> state_{thread_pool_executor::state::running};
    std::mutex join_mutex_;
};

}  // namespace weft::detail

namespace weft {

thread_pool_executor::thread_pool_executor(std::size_t max_workers)
    : core_(std::make_unique<detail::pool_core>(max_workers)) {}

thread_pool_executor::~thread_pool_executor() {
    if (core_->is_own_worker()) {
        detail::log().critical("thread_pool_executor destroyed by one of its own workers");
        std::terminate();
    }
    shutdown(true, false);
}

std::size_t thread_pool_executor::default_max_workers() noexcept {
    std::size_t cpus = std::max(1u, std::thread::hardware_concurrency());
    return std::min<std::size_t>(32, cpus + 4);
}

void thread_pool_executor::schedule(detail::pool_job* job) { core_->schedule(job); }

void thread_pool_executor::shutdown(bool wait, bool cancel_futures) {
    if (wait && core_->is_own_worker()) {
        throw invalid_state_error("shutdown(wait=true) called from a worker of the same thread_pool_executor");
    }
    core_->begin_shutdown(cancel_futures);
    if (wait) core_->join_all();
}

thread_pool_executor::state thread_pool_executor::current_state() const noexcept { return core_->current_state(); }

std::size_t thread_pool_executor::max_workers() const noexcept { return core_->size(); }

}  // namespace weft
