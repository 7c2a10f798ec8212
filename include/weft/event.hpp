#pragma once
/// \file
/// `weft::event`: a flag threads can wait for (Python's `threading.Event`; std has none).
/// For threads, locks, conditions, semaphores and barriers use std (`std::jthread`,
/// `std::mutex`, `std::condition_variable`, `std::counting_semaphore`, `std::barrier`).
///
/// Example:
/// \code
///   weft::event ready;
///   std::jthread worker([&] { load(); ready.set(); });
///   if (!ready.wait(1s)) std::puts("still loading");
/// \endcode
///
/// *Throws:* nothing but `std::system_error` from the underlying mutex.
/// *Cancellation:* `wait` is a blocking thread-level call; from a coroutine use `weft::aio::event`.
/// *Thread-safety:* every member may be called from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace weft {

/// A thread-safe flag with waiting (see the file comment).
/// Example: `weft::event stop; while (!stop.is_set()) step(); // another thread: stop.set();`
class event {
public:
    event() = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    /// True if the flag is set.
    bool is_set() const noexcept { return flag_.load(std::memory_order_acquire); }
    /// Sets the flag and wakes every waiter.
    void set() {
        std::lock_guard lock(mutex_);  // notify under the lock: a woken waiter may destroy *this
        flag_.store(true, std::memory_order_release);
        cv_.notify_all();
    }
    /// Clears the flag; later waits block until the next set().
    void clear() {
        std::lock_guard lock(mutex_);
        flag_.store(false, std::memory_order_release);
    }
    /// Blocks until the flag is set.
    void wait() {
        if (is_set()) return;
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return is_set(); });
    }
    /// Blocks until the flag is set or `timeout` passes; returns the flag (Python's semantics).
    /// Example: `if (!done.wait(100ms)) std::puts("timed out");`
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        if (is_set()) return true;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::ceil<std::chrono::steady_clock::duration>(timeout);
        std::unique_lock lock(mutex_);
        return cv_.wait_until(lock, deadline, [this] { return is_set(); });
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::atomic<bool> flag_{false};
};

}  // namespace weft
