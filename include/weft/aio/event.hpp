#pragma once
/// \file
/// `weft::aio::event`: a flag that tasks can wait for (asyncio's `Event`).
///
/// Example:
/// \code
///   weft::aio::event ready;
///   weft::task<> waiter() { co_await ready.wait(); std::puts("go"); }
///   weft::task<> starter() { co_await weft::sleep(10ms); ready.set(); }
/// \endcode

#include <weft/aio/detail/waiters.hpp>

namespace weft::aio {

/// A loop-local event: `set()` wakes every waiting task; `wait()` returns at once while set.
/// Neither copyable nor movable.
///
/// *Thread-safety:* use it from the tasks of one event loop only (for other threads, go through
/// `loop.call_soon_threadsafe([&] { ev.set(); })`).
/// Example: `weft::aio::event done; done.set(); co_await done.wait(); // no suspension`
class event {
public:
    event() noexcept = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;
    ~event() = default;

    /// True once `set()` was called (and `clear()` was not called since).
    /// Example: `if (!e.is_set()) e.set();`
    bool is_set() const noexcept { return set_; }

    /// Sets the flag and wakes every task waiting in `wait()`; they return even if the flag is
    /// cleared again before they run (as in asyncio).
    ///
    /// *Throws:* nothing. *Cancellation:* never suspends. *Thread-safety:* loop-local.
    /// Example: `shutdown_requested.set();`
    void set() noexcept {
        if (set_) return;
        set_ = true;
        detail::wake_waiter::wake_all(waiters_);
    }

    /// Resets the flag: later `wait()` calls suspend until the next `set()`.
    /// Example: `e.clear(); assert(!e.is_set());`
    void clear() noexcept { set_ = false; }

    /// Awaitable: returns at once if the flag is set, else suspends until `set()`.
    ///
    /// *Throws:* `cancelled_error` / `timeout_error` when cancelled or timed out while waiting.
    /// *Cancellation:* the waiter is removed at once; the event is unchanged.
    /// *Thread-safety:* loop-local.
    /// Example: `co_await weft::wait_for(e.wait(), 2s);`
    [[nodiscard]] detail::wake_waiter wait() noexcept { return detail::wake_waiter(waiters_, set_); }

private:
    detail::wake_waiter::list waiters_;
    bool set_ = false;
};

}  // namespace weft::aio
