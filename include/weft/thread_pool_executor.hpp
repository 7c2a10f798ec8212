#pragma once
/// \file
/// `weft::thread_pool_executor`: a fixed set of worker threads running submitted calls
/// (Python's `concurrent.futures.ThreadPoolExecutor`).
///
/// Each worker has its own job deque (it pushes and pops at one end, idle workers steal
/// from the other); calls submitted from outside the pool go through a global injection queue
/// that workers drain in batches. A worker with nothing to do spins briefly, then sleeps on a
/// futex, so an idle pool uses no CPU. A job that blocks on the future of another job of the
/// same pool (`result()`) runs queued jobs meanwhile instead of deadlocking the pool.
///
/// Example:
/// \code
///   weft::thread_pool_executor pool{2};
///   auto f = pool.submit([](int x) { return x * x; }, 7);
///   std::vector<int> squares = pool.map([](int x) { return x * x; }, std::vector{1, 2, 3});
///   int y = f.result();          // 49; the destructor runs shutdown(wait = true)
/// \endcode
///
/// *Thread-safety:* every member may be called from any thread.

#include <weft/errors.hpp>
#include <weft/future.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft {

namespace detail {

class pool_core;

/// Memory for pool jobs. A job is usually allocated by the submitting thread and freed by the
/// worker that ran it; freed blocks are cached per thread and handed back to the allocating
/// side in batches, so the steady state calls neither malloc nor free (and never contends on
/// glibc's arena locks). Blocks above a size limit, and every block in ASan builds, go to
/// the global allocator.
void* allocate_job_block(std::size_t size);
void free_job_block(void* p, std::size_t size) noexcept;

/// A queued call, as the pool's queues see it.
class pool_job {
public:
    /// Runs the call unless its future was cancelled, completes the future, drops the job.
    virtual void run() noexcept = 0;
    /// Cancels the future (the call never runs) and drops the job.
    virtual void cancel_and_drop() noexcept = 0;
    /// Cancels the future if the call has not started, leaving the job queued (whoever pops
    /// it drops it); false if it started already.
    virtual bool cancel_pending() noexcept = 0;

    std::atomic<pool_job*> next{nullptr};  // link in the injection queue

protected:
    pool_job() = default;
    ~pool_job() = default;
};

/// A call and the shared state of its future, in one allocation.
template <class R, class Fn>
class pool_task final : public future_state<R>, public pool_job {
    static constexpr bool cached = alignof(Fn) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__;

public:
    /// Starts with two references: one for the queue (dropped by run/cancel_and_drop), one
    /// for the future that submit returns.
    explicit pool_task(Fn&& fn) : future_state<R>(2), fn_(std::move(fn)) {}

    static void* operator new(std::size_t size) {
        if constexpr (cached) return allocate_job_block(size);
        else return ::operator new(size, std::align_val_t(alignof(pool_task)));
    }
    static void operator delete(void* p, [[maybe_unused]] std::size_t size) noexcept {
        if constexpr (cached) free_job_block(p, size);
        else ::operator delete(p, std::align_val_t(alignof(pool_task)));
    }

    void run() noexcept override {
        bool started = false;
        try {
            started = this->set_running_or_notify_cancel();
        } catch (...) {  // cannot happen: only the pool starts its jobs
        }
        if (started) {
            try {
                if constexpr (std::is_void_v<R>) {
                    std::invoke(*fn_);
                    this->set_value();
                } else {
                    this->set_value(std::invoke(*fn_));
                }
            } catch (...) {
                try {
                    this->set_exception(std::current_exception());
                } catch (...) {  // cannot happen: a running future cannot be cancelled
                }
            }
        }
        fn_.reset();  // free what the call captured before the future is released
        this->release();
    }
    bool cancel_pending() noexcept override { return this->cancel(); }
    void cancel_and_drop() noexcept override {
        this->cancel();
        fn_.reset();
        this->release();
    }

private:
    std::optional<Fn> fn_;
};

}  // namespace detail

/// A pool of worker threads (see the file comment).
///
/// *Throws:* `submit` and `map` throw `invalid_state_error` after `shutdown()` (the message
/// names the state); an exception thrown by a submitted call is stored in its future.
/// *Cancellation:* `future::cancel()` and `shutdown(..., cancel_futures = true)` drop calls
/// that have not started; running calls always finish.
/// *Thread-safety:* all members, from any thread; `shutdown(wait = true)` not from a worker.
///
/// Example: `weft::thread_pool_executor pool{4}; auto f = pool.submit(sha256, data);`
class thread_pool_executor {
public:
    /// Life-cycle states; errors about misuse name the state.
    enum class state : std::uint8_t { running, shutting_down, shut_down };

    /// Starts `max_workers` threads named "weft-pool-N".
    /// Throws `std::invalid_argument` if `max_workers` is 0.
    /// Example: `weft::thread_pool_executor pool{weft::thread_pool_executor::default_max_workers()};`
    explicit thread_pool_executor(std::size_t max_workers = default_max_workers());
    thread_pool_executor(const thread_pool_executor&) = delete;
    thread_pool_executor& operator=(const thread_pool_executor&) = delete;
    /// `shutdown(wait = true)`: pending calls still run, then the workers are joined.
    ~thread_pool_executor();

    /// Python's default: min(32, number of CPUs + 4).
    static std::size_t default_max_workers() noexcept;

    /// Schedules `fn(args...)` (arguments are copied or moved into the job) and returns its
    /// future. Example: `auto f = pool.submit([](int a, int b) { return a + b; }, 1, 2);`
    template <class Fn, class... Args>
    auto submit(Fn&& fn, Args&&... args) {
        using R = std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>;
        // Runs once: the callable and the arguments are passed as rvalues, as std::thread does.
        auto call = [fn = std::forward<Fn>(fn), ... args = std::forward<Args>(args)]() mutable -> R {
            return std::invoke(std::move(fn), std::move(args)...);
        };
        auto* job = new detail::pool_task<R, decltype(call)>(std::move(call));
        future<R> result{detail::state_ref<detail::future_state<R>>(job)};
        schedule(job);  // on failure, the queue's reference is dropped already
        return result;
    }

    /// Runs `fn(item)` for every item of `items` concurrently; returns the results in input
    /// order (nothing for a `void` fn). If a call throws, the calls not yet started are
    /// cancelled and the first exception in input order is rethrown.
    /// Example: `auto lengths = pool.map([](const std::string& s) { return s.size(); }, words);`
    template <class Fn, std::ranges::input_range Range>
    auto map(Fn fn, Range&& items) {
        using Item = std::decay_t<std::ranges::range_reference_t<Range>>;
        using R = std::invoke_result_t<Fn, Item>;
        std::vector<future<R>> futures;
        if constexpr (std::ranges::sized_range<Range>) futures.reserve(std::ranges::size(items));
        try {
            for (auto&& item : items) futures.push_back(submit(fn, std::forward<decltype(item)>(item)));
            if constexpr (std::is_void_v<R>) {
                for (auto& f : futures) f.result();
            } else {
                std::vector<R> results;
                results.reserve(futures.size());
                for (auto& f : futures) results.push_back(f.take_result());
                return results;
            }
        } catch (...) {
            for (auto& f : futures) f.cancel();
            throw;
        }
    }

    /// Stops accepting calls. `cancel_futures`: calls that have not started are cancelled
    /// (else they still run). `wait`: returns once every call is done and the workers are
    /// joined (else at once; the destructor joins them). Idempotent.
    /// Throws `invalid_state_error` if `wait` is true and called from one of this pool's workers.
    /// Example: `pool.shutdown(/*wait=*/true, /*cancel_futures=*/true);`
    void shutdown(bool wait = true, bool cancel_futures = false);

    /// The current life-cycle state.
    state current_state() const noexcept;
    /// The number of worker threads.
    std::size_t max_workers() const noexcept;

private:
    /// Queues `job`, or drops it (cancelling its future) and throws if the pool is shut down.
    void schedule(detail::pool_job* job);

    std::unique_ptr<detail::pool_core> core_;
};

}  // namespace weft
