// The scheduler behind weft::thread_pool_executor.
//
// Queues: every worker owns a fixed-size Chase-Lev deque (owner pushes/pops at the bottom,
// thieves take from the top; all index operations are seq_cst, which gives the StoreLoad
// ordering the algorithm needs without stand-alone fences). Calls submitted from outside the
// pool, and a worker's overflow, go to a global injection queue: an intrusive multi-producer
// list (Vyukov's), where a push is one exchange and one store and takes no lock; workers
// take turns as its consumer under a mutex they only try_lock on the hot path, and move a
// batch into their deque each time.
//
// Sleeping: a worker that finds nothing is "searching" for a bounded spin, then registers as
// a sleeper and waits on the `epoch_` futex. A producer publishes its job with a seq_cst
// operation, then wakes one sleeper only if no worker is searching. The worker re-checks every
// queue (taking the consumer mutex, not trying it) after registering as a sleeper and before
// sleeping, and a wake bumps the epoch it sleeps on, so a job is never left behind with every
// worker asleep (Dekker-style argument on the push's exchange: either the producer sees the
// sleeper, or the sleeper's re-check sees the tail moved, and then it takes the job or, if
// the link is not there yet, looks again rather than sleeps).
//
// Shutdown: a submit re-reads the state after its push; if the pool began shutting down
// meanwhile, it cancels its job (unless a worker already started it) and throws, so a job is
// either run or cancelled, never stranded with workers gone.
//
// Job memory: see allocate_job_block below.

#include <weft/detail/cpu_relax.hpp>
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

// The global FIFO for calls submitted from outside the pool: any thread pushes without a
// lock; one consumer at a time pops (holding `consumer_mutex`).
class injection_queue {
public:
    injection_queue() noexcept : head_(&sentinel_), tail_(&sentinel_) {}
    injection_queue(const injection_queue&) = delete;
    injection_queue& operator=(const injection_queue&) = delete;

    // Any thread. The exchange is the moment the job counts as queued: a consumer that sees
    // the tail moved but not yet the link knows a push is in progress (`empty()` is false) and
    // looks again instead of sleeping. So the link needs only a release store, and the caller's
    // later seq_cst loads (of the sleeper counts, of the pool state) still cannot move before
    // the exchange.
    void push(pool_job* job) noexcept {
        job->next.store(nullptr, std::memory_order_relaxed);
        pool_job* prev = tail_.exchange(job, std::memory_order_seq_cst);
        prev->next.store(job, std::memory_order_release);
    }
    // Consumer only. nullptr if empty, or if the next job's push is between its two steps
    // (`empty()` is then false, and the caller looks again).
    pool_job* pop() noexcept {
        pool_job* head = head_;
        pool_job* next = head->next.load(std::memory_order_seq_cst);
        if (head == &sentinel_) {
            if (!next) return nullptr;
            head_ = head = next;
            next = next->next.load(std::memory_order_seq_cst);
        }
        if (next) {
            head_ = next;
            return head;
        }
        if (head != tail_.load(std::memory_order_seq_cst)) return nullptr;
        push(&sentinel_);  // head is the last job: put the sentinel behind it to detach it
        next = head->next.load(std::memory_order_seq_cst);
        if (!next) return nullptr;
        head_ = next;
        return head;
    }
    // Consumer only: true if no job is queued and no push is in progress.
    bool empty() const noexcept {
        return head_ == &sentinel_ && tail_.load(std::memory_order_seq_cst) == &sentinel_;
    }
    // Any thread, a hint: false if a job may be queued.
    bool looks_empty() const noexcept { return tail_.load(std::memory_order_seq_cst) == &sentinel_; }

    std::mutex consumer_mutex;

private:
    // The node the list never runs out of (Vyukov's intrusive MPSC queue): while no job is
    // queued it is the only node, and it is never handed out, so its job methods do nothing.
    struct sentinel_job final : pool_job {
        void run() noexcept override {}
        void cancel_and_drop() noexcept override {}
        bool cancel_pending() noexcept override { return false; }
    };

    sentinel_job sentinel_;
    pool_job* head_;  // consumer's end
    alignas(64) std::atomic<pool_job*> tail_;  // producers' end
};

// ---- Job memory -------------------------------------------------------------------------
//
// Size classes of 16 bytes up to 512. Each thread keeps a free list per class; a thread that
// frees more than it allocates (a worker) publishes batches of 32 blocks to a process-wide
// stack per class, and a thread that runs dry (a submitter) adopts every published batch at
// once. The global stacks are only pushed to (CAS) and emptied whole (exchange), so they
// have no ABA problem. They hold at most global_limit blocks per class; beyond that, and
// after a thread's cache was destroyed at thread exit, blocks go back to the global allocator.

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_JOB_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_JOB_CACHE 0
#endif
#endif
#ifndef WEFT_JOB_CACHE
#define WEFT_JOB_CACHE 1  // ASan builds use malloc for every job, so it sees every use after free
#endif

constexpr std::size_t job_granule = 16;
constexpr std::size_t job_largest = 512;
constexpr std::size_t job_classes = job_largest / job_granule;
constexpr std::uint32_t job_batch = 32;
constexpr std::uint32_t job_local_limit = 2 * job_batch;
constexpr std::size_t job_global_limit = 1 << 18;

constexpr std::size_t job_class(std::size_t size) noexcept { return (size + job_granule - 1) / job_granule - 1; }
constexpr std::size_t job_class_bytes(std::size_t c) noexcept { return (c + 1) * job_granule; }

struct job_block {
    job_block* next;        // within a thread's list, or within a batch
    job_block* next_batch;  // on a global stack: the batch below (set on a batch's first block)
    std::uint32_t count;    // on a batch's first block: its number of blocks
};
static_assert(sizeof(job_block) <= job_granule * 2);

struct job_class_stack {
    alignas(64) std::atomic<job_block*> batches{nullptr};
    std::atomic<std::size_t> blocks{0};  // approximate, for the limit
};
job_class_stack job_stacks[job_classes];

void publish_batch(std::size_t c, job_block* batch, std::uint32_t count) noexcept {
    auto& stack = job_stacks[c];
    if (stack.blocks.load(std::memory_order_relaxed) >= job_global_limit) {
        while (batch) ::operator delete(std::exchange(batch, batch->next));
        return;
    }
    stack.blocks.fetch_add(count, std::memory_order_relaxed);
    batch->count = count;
    job_block* top = stack.batches.load(std::memory_order_relaxed);
    do {
        batch->next_batch = top;
    } while (!stack.batches.compare_exchange_weak(top, batch, std::memory_order_release, std::memory_order_relaxed));
}

struct job_cache {
    struct list {
        job_block* head;
        job_block* spare_batches;  // adopted from the global stack, not yet opened
        std::uint32_t count;       // blocks in head's list
    };
    list lists[job_classes];
    bool closed;
    bool drainer_armed;
};
constinit thread_local job_cache local_jobs{};

// Returns the thread's cached blocks when the thread exits (a trivially destructible
// job_cache stays usable for frees from later thread_local destructors: they bypass it).
struct job_cache_drainer {
    void arm() noexcept {}
    ~job_cache_drainer() {
        local_jobs.closed = true;
        for (std::size_t c = 0; c < job_classes; ++c) {
            auto& l = local_jobs.lists[c];
            if (l.head) publish_batch(c, std::exchange(l.head, nullptr), l.count);
            while (job_block* batch = l.spare_batches) {
                l.spare_batches = batch->next_batch;
                publish_batch(c, batch, batch->count);
            }
            l.count = 0;
        }
    }
};
thread_local job_cache_drainer job_drainer;

}  // namespace

void* allocate_job_block(std::size_t size) {
    if (!WEFT_JOB_CACHE || size > job_largest) return ::operator new(size);
    const std::size_t c = job_class(size);
    auto& l = local_jobs.lists[c];
    if (!l.head) {
        if (!l.spare_batches && !local_jobs.closed) {
            if (job_stacks[c].batches.load(std::memory_order_relaxed)) {
                l.spare_batches = job_stacks[c].batches.exchange(nullptr, std::memory_order_acquire);
                std::size_t adopted = 0;
                for (job_block* batch = l.spare_batches; batch; batch = batch->next_batch) adopted += batch->count;
                job_stacks[c].blocks.fetch_sub(adopted, std::memory_order_relaxed);
            }
            if (!local_jobs.drainer_armed && l.spare_batches) {
                local_jobs.drainer_armed = true;
                job_drainer.arm();  // constructs the thread_local: it empties this cache at thread exit
            }
        }
        job_block* batch = l.spare_batches;
        if (!batch) return ::operator new(job_class_bytes(c));
        l.spare_batches = batch->next_batch;
        l.head = batch;
        l.count = batch->count;
    }
    job_block* b = l.head;
    l.head = b->next;
    --l.count;
    // A block adopted from a worker is still in that worker's cache: start moving the next one
    // here while the caller fills this one.
    if (l.head) __builtin_prefetch(l.head, 1);
    return b;
}

void free_job_block(void* p, std::size_t size) noexcept {
    if (!WEFT_JOB_CACHE || size > job_largest || local_jobs.closed) return ::operator delete(p);
    const std::size_t c = job_class(size);
    auto& l = local_jobs.lists[c];
    if (!local_jobs.drainer_armed) {
        local_jobs.drainer_armed = true;
        job_drainer.arm();
    }
    auto* b = static_cast<job_block*>(p);
    b->next = l.head;
    l.head = b;
    if (++l.count < job_local_limit) return;
    // Publish the newest job_batch blocks; keep the rest.
    job_block* last = b;
    for (std::uint32_t i = 1; i < job_batch; ++i) last = last->next;
    l.head = last->next;
    last->next = nullptr;
    l.count -= job_batch;
    publish_batch(c, b, job_batch);
}

class pool_core {
public:
    // A searching worker spins up to `spin_rounds` rounds of pause loops, then yields, up to
    // `max_spin_rounds` rounds in all, before it parks.
    static constexpr int spin_rounds = 64;
    static constexpr int max_spin_rounds = spin_rounds + 16;
    static constexpr int min_spin_rounds = 2;

    struct worker final : work_helper {
        pool_core* pool = nullptr;
        std::size_t index = 0;
        std::uint32_t rng = 0;
        // Rounds this worker spins before parking: doubled when spinning found work, halved
        // when it did not, so a pool fed in bursts (file jobs between network waits) stops
        // burning a core on every idle moment while a busy pool keeps spinning.
        int spin_budget = max_spin_rounds;
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

    explicit pool_core(std::size_t n)
        : max_searchers_(static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(n, hardware_threads()) / 2))) {
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
            std::lock_guard lock(inject_.consumer_mutex);
            while (pool_job* job = inject_.pop()) job->cancel_and_drop();
        }
        for (auto& w : workers_) {
            while (pool_job* job = w->deque.steal()) job->cancel_and_drop();
        }
    }

    // Takes over the queue's reference to `job`: on failure it is cancelled and dropped.
    void schedule(pool_job* job) {
        if (state_.load(std::memory_order_acquire) != thread_pool_executor::state::running) {
            job->cancel_and_drop();
            throw_closed();
        }
        worker* self = current_worker;
        if (!self || self->pool != this || !self->deque.push(job)) inject_.push(job);
        // Both pushes make the job visible with a seq_cst operation (the deque's bottom store,
        // the injection queue's tail exchange), so this load sees a shutdown that began
        // before; the workers may then have missed it (see the file comment).
        if (state_.load(std::memory_order_seq_cst) != thread_pool_executor::state::running) {
            // A worker still running drops it, or ~pool_core does. If a worker started it
            // already, it runs to completion and the submit stands.
            if (job->cancel_pending()) throw_closed();
            return;
        }
        notify_after_push();
    }

    void begin_shutdown(bool cancel_futures) {
        auto expected = thread_pool_executor::state::running;
        state_.compare_exchange_strong(expected, thread_pool_executor::state::shutting_down,
                                       std::memory_order_seq_cst);
        if (cancel_futures) {
            for (;;) {
                pool_job* job;
                {
                    std::lock_guard lock(inject_.consumer_mutex);
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
    static constexpr std::size_t inject_batch = 32;
    static_assert(inject_batch <= work_deque::capacity);

    [[noreturn]] void throw_closed() const {
        auto s = state_.load(std::memory_order_acquire);
        throw invalid_state_error(std::string("cannot submit to a thread_pool_executor that is ") +
                                  (s == thread_pool_executor::state::shutting_down ? "shutting_down" : "shut_down"));
    }

    // The push made the job visible with a seq_cst operation (the deque's bottom store, or the
    // injection queue's tail exchange), so these seq_cst loads cannot be ordered before it
    // (no stand-alone fence: TSan lacks them).
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

    // A job from the injection queue (moving a batch of up to inject_batch jobs into w's
    // deque) or stolen from a peer. `blocking`: wait for the injection queue's consumer mutex
    // instead of trying it, and report in `drained` whether every queue was seen empty
    // (with no push in progress) — the check a worker makes before it sleeps or exits.
    pool_job* take_shared(worker& w, bool blocking = false, bool* drained = nullptr) noexcept {
        bool inject_empty = true;
        if (blocking || !inject_.looks_empty()) {
            std::unique_lock lock(inject_.consumer_mutex, std::defer_lock);
            if (blocking) lock.lock();
            else if (!lock.try_lock()) inject_empty = false;  // another worker is taking a batch
            if (lock.owns_lock()) {
                pool_job* first = inject_.pop();
                std::size_t moved = 0;
                for (pool_job* job; first && moved + 1 < inject_batch && (job = inject_.pop());) {
                    if (!w.deque.push(job)) {  // not expected: the owner looks here with an empty deque
                        inject_.push(job);
                        break;
                    }
                    ++moved;
                }
                if (!first) inject_empty = inject_.empty();
                lock.unlock();
                if (moved > 0) notify_after_push();
                if (first) return first;
            }
        }
        std::size_t n = workers_.size();
        w.rng ^= w.rng << 13;
        w.rng ^= w.rng >> 17;
        w.rng ^= w.rng << 5;
        std::size_t start = w.rng % n;
        bool deques_empty = true;
        for (std::size_t i = 0; i < n; ++i) {
            worker& victim = *workers_[(start + i) % n];
            if (&victim == &w) continue;
            if (pool_job* job = victim.deque.steal()) return job;
            if (!victim.deque.empty()) deques_empty = false;
        }
        if (drained) *drained = inject_empty && deques_empty;
        return nullptr;
    }

    // Searches, spins, parks. nullptr: the pool is shutting down and no work is left.
    pool_job* find_work(worker& w) noexcept {
        for (;;) {
            // At most half the CPUs spin looking for work (as Tokio bounds its searchers), so a
            // pool with more workers than cores (to_thread's default is cores + 4) does not
            // burn them spinning and yielding; and at most half of the workers that are awake
            // (as Go bounds its spinning threads), so a big pool fed by one outside thread
            // does not have most of its workers polling that thread's queue: measured on 16
            // cores, 1M trivial submits at 16 workers took ~330 ns each instead of ~550.
            int searchers = searching_.fetch_add(1, std::memory_order_seq_cst);
            int awake = static_cast<int>(workers_.size()) - sleepers_.load(std::memory_order_relaxed);
            int rounds = searchers < max_searchers_ && 2 * searchers < awake ? w.spin_budget : 0;
            for (int round = 0; round < rounds; ++round) {
                if (pool_job* job = take_shared(w)) {
                    w.spin_budget = std::min(max_spin_rounds, 2 * w.spin_budget);
                    // The last searcher found work: there may be more, in any queue (a
                    // producer skipped its wake because we were searching), so hand the
                    // search on to a sleeper, as Tokio does.
                    if (searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
                        sleepers_.load(std::memory_order_seq_cst) > 0) {
                        wake_one();
                    }
                    return job;
                }
                if (round < spin_rounds) {
                    for (int i = 0; i < 32; ++i) cpu_relax();
                } else {
                    std::this_thread::yield();
                }
            }
            if (rounds > 0) w.spin_budget = std::max(min_spin_rounds, w.spin_budget / 2);
            sleepers_.fetch_add(1, std::memory_order_seq_cst);
            std::uint32_t epoch = epoch_.load(std::memory_order_seq_cst);
            searching_.fetch_sub(1, std::memory_order_seq_cst);
            bool drained = false;
            pool_job* job = take_shared(w, true, &drained);
            if (!job) {
                if (!drained) {
                    // Work is in flight (a push between its exchange and its link, a contended
                    // steal): its producer may have looked at the sleeper count before we
                    // registered, so no wake may come. Look again instead of sleeping.
                    std::this_thread::yield();
                } else if (state_.load(std::memory_order_seq_cst) == thread_pool_executor::state::running) {
                    futex_wait(epoch_, epoch, nullptr);
                } else {
                    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
                    return nullptr;
                }
            }
            // Found on the way to sleep: a producer may have skipped its wake because we were
            // still counted as searching, so pass the search on (as above).
            if (sleepers_.fetch_sub(1, std::memory_order_seq_cst) > 1 && job &&
                searching_.load(std::memory_order_seq_cst) == 0) {
                wake_one();
            }
            if (job) return job;
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
    static std::size_t hardware_threads() noexcept { return std::max(1u, std::thread::hardware_concurrency()); }

    const int max_searchers_;
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
