#pragma once
/// \file
/// `weft::aio::semaphore` and `weft::aio::bounded_semaphore`: counters that limit how many tasks
/// may be inside a section at once (asyncio's `Semaphore` / `BoundedSemaphore`).
///
/// Units go to waiting tasks in FIFO order: a released unit is handed directly to the task that
/// has waited longest, so newcomers never overtake waiters.
///
/// Example:
/// \code
///   weft::aio::semaphore slots{3};            // at most 3 downloads at a time
///   weft::task<> download(std::string url) {
///       auto unit = co_await slots.scoped();
///       co_await fetch(url);
///   }
/// \endcode

#include <weft/aio/detail/waiters.hpp>
#include <weft/errors.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace weft::aio {

/// A loop-local counting semaphore (asyncio's `Semaphore`). Neither copyable nor movable.
///
/// *Thread-safety:* use it from the tasks of one event loop only.
/// Example: `weft::aio::semaphore s{2}; co_await s.acquire(); s.release();`
class semaphore {
public:
    /// RAII unit obtained from `co_await s.scoped()`: released when destroyed (or with
    /// `guard.release()`). Movable.
    ///
    /// Example: `{ auto unit = co_await s.scoped(); co_await work(); }`
    using guard = detail::release_guard<semaphore>;

    /// A semaphore holding `value` units (asyncio's default is 1).
    /// *Throws:* `std::invalid_argument` if `value` is negative (asyncio's ValueError).
    /// Example: `weft::aio::semaphore connections{10};`
    explicit semaphore(std::ptrdiff_t value = 1) : value_(checked(value)) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;
    ~semaphore() = default;

    /// True if `acquire()` would suspend now (no unit is free).
    /// Example: `if (s.locked()) std::puts("all slots busy");`
    bool locked() const noexcept { return value_ == 0; }

    /// The number of free units.
    /// Example: `assert(weft::aio::semaphore{4}.value() == 4);`
    std::ptrdiff_t value() const noexcept { return value_; }

    /// Awaitable: takes a unit, suspending while none is free.
    ///
    /// *Throws:* `cancelled_error` / `timeout_error` when cancelled or timed out while waiting
    /// (no unit is then held).
    /// *Cancellation:* the waiter leaves the queue at once. A waiter that was already handed a
    /// unit keeps it and sees the cancellation at its next suspension; if its frame is destroyed
    /// before it resumes, the unit goes to the next waiter.
    /// *Thread-safety:* loop-local.
    /// Example: `co_await s.acquire(); /* ... */ s.release();`
    [[nodiscard]] detail::acquire_awaiter<semaphore, void> acquire() noexcept {
        return detail::acquire_awaiter<semaphore, void>(*this);
    }

    /// Awaitable: like `acquire()`, and yields a `semaphore::guard` that gives the unit back
    /// (asyncio's `async with sem:`).
    ///
    /// *Throws / Cancellation:* as `acquire()`. *Thread-safety:* loop-local.
    /// Example: `auto unit = co_await weft::wait_for(s.scoped(), 500ms);`
    [[nodiscard]] detail::acquire_awaiter<semaphore, guard> scoped() noexcept {
        return detail::acquire_awaiter<semaphore, guard>(*this);
    }

    /// Gives a unit back: to the longest-waiting task if any, else to the counter.
    /// A plain semaphore may be released more often than it was acquired (its value grows).
    ///
    /// *Throws:* `release_error` for a `bounded_semaphore` already at its initial value.
    /// *Cancellation:* never suspends. *Thread-safety:* loop-local.
    /// Example: `s.release();`
    void release() {
        if (bound_ >= 0 && value_ >= bound_) {
            throw release_error("aio::bounded_semaphore released too many times (value " +
                                std::to_string(value_) + " is already its bound)");
        }
        give_back();
    }

protected:
    semaphore(std::ptrdiff_t value, bool bounded) : value_(checked(value)), bound_(bounded ? value : -1) {}

private:
    template <class, class>
    friend class detail::acquire_awaiter;
    friend class detail::release_guard<semaphore>;

    static std::ptrdiff_t checked(std::ptrdiff_t value) {
        if (value < 0) {
            throw std::invalid_argument("aio::semaphore initial value must be >= 0, got " +
                                        std::to_string(value));
        }
        return value;
    }
    bool try_take() noexcept {
        if (value_ == 0) return false;
        --value_;
        return true;
    }
    detail::grant_waiter::list& waiters() noexcept { return waiters_; }
    void give_back() noexcept {
        if (auto* next = waiters_.pop_front()) next->grant();  // the unit goes straight to it
        else ++value_;
    }

    detail::grant_waiter::list waiters_;
    std::ptrdiff_t value_;
    std::ptrdiff_t bound_ = -1;  // -1: unbounded
};

/// A semaphore that refuses to be released above its initial value (asyncio's
/// `BoundedSemaphore`): catches a release without a matching acquire.
///
/// *Throws:* `release()` throws `release_error` when it would exceed the initial value.
/// *Thread-safety:* loop-local.
/// Example:
/// \code
///   weft::aio::bounded_semaphore s{1};
///   s.release();   // throws weft::release_error
/// \endcode
class bounded_semaphore : public semaphore {
public:
    /// A bounded semaphore holding (and capped at) `value` units.
    /// *Throws:* `std::invalid_argument` if `value` is negative.
    /// Example: `weft::aio::bounded_semaphore pool_slots{8};`
    explicit bounded_semaphore(std::ptrdiff_t value = 1) : semaphore(value, true) {}
};

}  // namespace weft::aio
