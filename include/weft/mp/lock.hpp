#pragma once
/// \file
/// `weft::mp::lock` and `weft::mp::rlock`: mutexes shared between processes (Python's
/// `multiprocessing.Lock` / `RLock`).
///
/// Both are robust: if a process dies while holding one (a crash, `kill -9`), the next
/// `acquire` in any process gets the lock instead of hanging, a warning is logged, and
/// `owner_deaths()` counts the event — the data the lock protected may be half-updated.
/// Unlike Python's Lock, only the holder may release (the lock is a robust pthread mutex).
/// Handles are cheap to copy and all refer to the same lock; pass them to `mp::process` or
/// to process-pool tasks as arguments.
///
/// Example:
/// \code
///   weft::mp::lock l;
///   weft::mp::process p([](weft::mp::lock l) { weft::mp::hold h(l); write_log(); }, l);
///   p.start();
///   { weft::mp::hold h(l); write_log(); }
///   p.join();
/// \endcode
///
/// *Throws:* `acquire` throws `invalid_state_error` if the thread already holds a (non-r)lock,
/// `release` throws `release_error` if the caller does not hold it.
/// *Cancellation:* `acquire(timeout)` gives up after the timeout and returns false.
/// *Thread-safety:* any thread of any process of the program's family.

#include <weft/mp/detail/shared_memory.hpp>

#include <chrono>
#include <cstdint>

namespace weft::mp {

namespace detail {
struct lock_block {
    explicit lock_block(bool recursive) : mutex(recursive) {}
    robust_mutex mutex;
};

/// What mp::lock and mp::rlock share.
class lock_base {
public:
    using duration = clock::duration;

    /// Blocks until the lock is held.
    void acquire() { block_->mutex.lock_until(nullptr); }
    /// Waits at most `timeout`; true if the lock is now held.
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        auto deadline = deadline_after(std::chrono::ceil<duration>(timeout));
        return block_->mutex.lock_until(&deadline);
    }
    /// Takes the lock if it is free; true if taken.
    bool try_acquire() { return block_->mutex.try_lock(); }
    /// Releases the lock. Throws `release_error` if the caller does not hold it.
    void release() { block_->mutex.unlock(); }
    /// How many times a holder died and the lock was recovered.
    std::uint32_t owner_deaths() const noexcept { return block_->mutex.owner_deaths.load(); }

    /// The shared mutex (for mp::condition).
    robust_mutex& native() const noexcept { return block_->mutex; }

    // cereal: a lock crosses to another process as its place in the shared arena.
    template <class Archive>
    void serialize(Archive& ar) {
        ar(block_);
    }

protected:
    explicit lock_base(bool recursive) : block_(shared_object<lock_block>::make(recursive)) {}
    explicit lock_base(unbound_t) noexcept {}

private:
    shared_object<lock_block> block_;
};
}  // namespace detail

/// A non-recursive lock shared between processes. See the file comment.
///
/// Example: `weft::mp::lock l; if (l.acquire(std::chrono::seconds(1))) { work(); l.release(); }`
class lock : public detail::lock_base {
public:
    /// Creates a new, unlocked lock in the shared arena.
    lock() : lock_base(false) {}
    /// An empty handle, for cereal to load into (internal).
    explicit lock(detail::unbound_t) noexcept : lock_base(detail::unbound) {}
};

/// A recursive lock shared between processes: its holder may acquire it again (release as
/// often). See the file comment.
///
/// Example: `weft::mp::rlock r; r.acquire(); r.acquire(); r.release(); r.release();`
class rlock : public detail::lock_base {
public:
    /// Creates a new, unlocked recursive lock in the shared arena.
    rlock() : lock_base(true) {}
    /// An empty handle, for cereal to load into (internal).
    explicit rlock(detail::unbound_t) noexcept : lock_base(detail::unbound) {}
};

}  // namespace weft::mp
