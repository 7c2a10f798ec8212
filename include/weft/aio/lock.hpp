#pragma once
/// \file
/// `weft::aio::lock`: a mutual-exclusion lock for tasks of one event loop (asyncio's `Lock`).
///
/// Waiting for the lock suspends only the task, never the thread. The lock is fair: it is
/// handed directly to the task that has waited longest (FIFO), so a newcomer can never
/// overtake a waiter. Like asyncio's lock it has no owner: any task may release it.
///
/// Example:
/// \code
///   weft::aio::lock mutex;
///   weft::task<> append(std::vector<int>& shared, int x) {
///       auto guard = co_await mutex.scoped();   // released when `guard` goes out of scope
///       shared.push_back(x);
///       co_await weft::sleep(1ms);              // others wait meanwhile
///   }
/// \endcode

#include <weft/aio/detail/waiters.hpp>
#include <weft/errors.hpp>

namespace weft::aio {

class condition;
namespace detail {
class condition_waiter;
}

/// A fair, loop-local lock (asyncio's `Lock`). Neither copyable nor movable.
///
/// *Thread-safety:* use it from the tasks of one event loop only.
/// Example: `weft::aio::lock l; { auto g = co_await l.scoped(); /* critical section */ }`
class lock {
public:
    /// RAII ownership obtained from `co_await l.scoped()`: releases the lock when destroyed
    /// (or earlier, with `guard.release()`). Movable.
    ///
    /// Example: `auto g = co_await l.scoped(); g.release(); // let others in now`
    using guard = detail::release_guard<lock>;

    lock() noexcept = default;
    lock(const lock&) = delete;
    lock& operator=(const lock&) = delete;
    ~lock() = default;

    /// True while some task holds the lock (or it was just handed to a waiter that has not run).
    /// Example: `if (!l.locked()) co_await l.acquire();  // does not suspend`
    bool locked() const noexcept { return locked_; }

    /// Awaitable: suspends until the lock is this task's. Pair it with `release()`, or prefer
    /// `scoped()`. Waiters get the lock in the order they started waiting.
    ///
    /// *Throws:* `cancelled_error` / `timeout_error` when the task is cancelled or its deadline
    /// passes while waiting (it then does not hold the lock).
    /// *Cancellation:* the waiter leaves the queue at once. A waiter that was already handed the
    /// lock keeps it and sees the cancellation at its next suspension; if its frame is destroyed
    /// before it resumes, the lock passes to the next waiter.
    /// *Thread-safety:* loop-local.
    /// Example: `co_await l.acquire(); try { work(); } catch (...) { l.release(); throw; } l.release();`
    [[nodiscard]] detail::acquire_awaiter<lock, void> acquire() noexcept {
        return detail::acquire_awaiter<lock, void>(*this);
    }

    /// Awaitable: like `acquire()`, and yields a `lock::guard` that releases the lock
    /// (asyncio's `async with lock:`).
    ///
    /// *Throws / Cancellation:* as `acquire()`. *Thread-safety:* loop-local.
    /// Example: `auto g = co_await weft::wait_for(l.scoped(), 1s);`
    [[nodiscard]] detail::acquire_awaiter<lock, guard> scoped() noexcept {
        return detail::acquire_awaiter<lock, guard>(*this);
    }

    /// Releases the lock; the longest-waiting task (if any) gets it next.
    ///
    /// *Throws:* `release_error` if the lock is not locked (asyncio raises RuntimeError).
    /// *Cancellation:* never suspends. *Thread-safety:* loop-local.
    /// Example: `l.release();`
    void release() {
        if (!locked_) throw release_error("aio::lock::release(): the lock is not locked");
        give_back();
    }

private:
    template <class, class>
    friend class detail::acquire_awaiter;
    friend class detail::release_guard<lock>;
    friend class condition;
    friend class detail::condition_waiter;

    bool try_take() noexcept {
        if (locked_) return false;
        locked_ = true;
        return true;
    }
    detail::grant_waiter::list& waiters() noexcept { return waiters_; }
    void give_back() noexcept {
        if (auto* next = waiters_.pop_front()) next->grant();  // stays locked: handed over
        else locked_ = false;
    }

    detail::grant_waiter::list waiters_;
    bool locked_ = false;
};

}  // namespace weft::aio
