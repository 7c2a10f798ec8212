#pragma once
/// \file
/// `weft::aio::condition`: wait, under a lock, until another task announces a change
/// (asyncio's `Condition`).
///
/// Example:
/// \code
///   weft::aio::condition cv;
///   std::deque<int> jobs;
///   weft::task<> consumer() {
///       auto g = co_await cv.scoped();
///       co_await cv.wait_for([&] { return !jobs.empty(); });
///       jobs.pop_front();
///   }
///   weft::task<> producer() {
///       auto g = co_await cv.scoped();
///       jobs.push_back(1);
///       cv.notify();
///   }
/// \endcode

#include <weft/aio/detail/waiters.hpp>
#include <weft/aio/lock.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>

#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft::aio {

namespace detail {

/// `co_await cond.wait()`: releases the lock, waits for a notification, re-acquires the lock.
/// It is a condition waiter first, then (notified or interrupted) a lock waiter; the task is
/// resumed only once it holds the lock again, whatever happened.
class condition_waiter final : public grant_waiter {
public:
    using list = weft::detail::intrusive_list<condition_waiter>;

    condition_waiter(list& waiters, lock& l) noexcept : waiters_(&waiters), lock_(&l) {}
    condition_waiter(condition_waiter&& other) noexcept : waiters_(other.waiters_), lock_(other.lock_) {}
    condition_waiter& operator=(condition_waiter&&) = delete;
    ~condition_waiter() { list::unlink(this); }

    condition_waiter operator co_await() && noexcept { return std::move(*this); }

    bool await_ready() const {
        if (!lock_->locked()) throw invalid_state_error("aio::condition::wait(): the lock is not acquired");
        return false;
    }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;  // cancelled already: throw, still holding the lock
        phase_ = phase::notify;
        waiters_->push_back(this);
        lock_->give_back();
        return true;
    }
    void await_resume() const { throw_if_interrupted(); }

    /// Called by notify(): stop waiting for a notification, start waiting for the lock.
    void notified() noexcept { reacquire(); }

    void grant() noexcept override {
        phase_ = phase::owned;
        resume_owner();
    }
    void interrupt(weft::detail::interruption why) override {
        if (phase_ == phase::notify) {
            interrupted = why;
            list::unlink(this);
            reacquire();
        } else if (why == weft::detail::interruption::cancelled) {
            interrupted = why;  // a cancellation outranks a deadline; keep waiting for the lock
        }
    }

private:
    enum class phase : unsigned char { idle, notify, lock, owned };

    void reacquire() noexcept {
        phase_ = phase::lock;
        if (lock_->try_take()) grant();
        else lock_->waiters().push_back(this);
    }

    list* waiters_;
    lock* lock_;
    phase phase_ = phase::idle;
};

}  // namespace detail

/// A loop-local condition variable over an `aio::lock` (its own, or one it is given).
/// Neither copyable nor movable.
///
/// *Thread-safety:* use it from the tasks of one event loop only.
/// Example: `weft::aio::lock l; weft::aio::condition a{l}, b{l};  // two conditions, one lock`
class condition {
public:
    /// A condition with its own lock.
    /// Example: `weft::aio::condition cv;`
    condition() : own_(std::in_place), lock_(&*own_) {}
    /// A condition over `l`, which must outlive it.
    /// Example: `weft::aio::condition not_empty{mutex};`
    explicit condition(lock& l) noexcept : lock_(&l) {}
    condition(const condition&) = delete;
    condition& operator=(const condition&) = delete;
    ~condition() = default;

    /// The underlying lock.
    /// Example: `assert(&cv.underlying_lock() == &mutex);`
    lock& underlying_lock() noexcept { return *lock_; }
    /// True while the underlying lock is held.
    /// Example: `auto g = co_await cv.scoped(); assert(cv.locked());`
    bool locked() const noexcept { return lock_->locked(); }
    /// Awaitable acquiring the underlying lock (see `lock::acquire`).
    /// Example: `co_await cv.acquire();`
    [[nodiscard]] auto acquire() noexcept { return lock_->acquire(); }
    /// Awaitable acquiring the underlying lock and yielding a `lock::guard` (asyncio's `async with cond:`).
    /// Example: `auto g = co_await cv.scoped();`
    [[nodiscard]] auto scoped() noexcept { return lock_->scoped(); }
    /// Releases the underlying lock. *Throws:* `release_error` if it is not locked.
    /// Example: `cv.release();`
    void release() { lock_->release(); }

    /// Awaitable: releases the lock, suspends until notified, then re-acquires the lock
    /// before returning. Call it with the lock held.
    ///
    /// *Throws:* `invalid_state_error` if the lock is not held; `cancelled_error` /
    /// `timeout_error` when cancelled or timed out, and then too only once the lock is held
    /// again (as asyncio does), so a guard around the wait stays correct.
    /// *Cancellation:* interrupting the wait stops waiting for a notification but still waits
    /// for the lock; a notification already received is kept (the task returns normally and
    /// sees the cancellation at its next suspension).
    /// *Thread-safety:* loop-local.
    /// Example: `auto g = co_await cv.scoped(); while (jobs.empty()) co_await cv.wait();`
    [[nodiscard]] detail::condition_waiter wait() noexcept { return detail::condition_waiter(waiters_, *lock_); }

    /// Waits until `predicate()` is truthy, re-checking after each notification; returns its
    /// last value. Call it with the lock held. The predicate runs with the lock held.
    ///
    /// *Throws / Cancellation:* as `wait()`; the lock is held when it returns or throws.
    /// *Thread-safety:* loop-local.
    /// Example: `co_await cv.wait_for([&] { return !jobs.empty(); });`
    template <class Predicate>
    [[nodiscard]] task<std::decay_t<std::invoke_result_t<Predicate&>>> wait_for(Predicate predicate) {
        auto result = std::invoke(predicate);
        while (!result) {
            co_await wait();
            result = std::invoke(predicate);
        }
        co_return result;
    }

    /// Wakes up to `n` waiting tasks (longest-waiting first); each returns from `wait()` once it
    /// has re-acquired the lock, i.e. after the caller releases it. Call it with the lock held.
    ///
    /// *Throws:* `invalid_state_error` if the lock is not held. *Cancellation:* never suspends.
    /// *Thread-safety:* loop-local.
    /// Example: `{ auto g = co_await cv.scoped(); jobs.push_back(j); cv.notify(); }`
    void notify(std::size_t n = 1) {
        if (!lock_->locked()) throw invalid_state_error("aio::condition::notify(): the lock is not acquired");
        for (; n > 0; --n) {
            auto* w = waiters_.pop_front();
            if (!w) break;
            w->notified();
        }
    }

    /// Wakes every waiting task. *Throws:* `invalid_state_error` if the lock is not held.
    /// Example: `{ auto g = co_await cv.scoped(); done = true; cv.notify_all(); }`
    void notify_all() { notify(std::numeric_limits<std::size_t>::max()); }

private:
    std::optional<lock> own_;
    lock* lock_;
    detail::condition_waiter::list waiters_;
};

}  // namespace weft::aio
