#pragma once
/// \file
/// `weft::mp::condition`: a condition variable shared between processes, with its lock
/// (Python's `multiprocessing.Condition`).
///
/// Hold the condition (`acquire`/`release`, or `mp::hold`) around `wait` and `notify`.
/// Waits can wake spuriously: use the predicate form.
///
/// Example:
/// \code
///   weft::mp::condition cv;
///   weft::mp::value<int> stage{0};
///   // consumer process:
///   { weft::mp::hold h(cv); cv.wait_for(std::chrono::seconds(5), [&] { return stage.load() == 1; }); }
///   // producer process:
///   { weft::mp::hold h(cv); stage.store(1); cv.notify_all(); }
/// \endcode
///
/// *Throws:* `release_error` from `wait`/`release` when the caller does not hold the lock.
/// *Cancellation:* the timed forms return false when the timeout passes.
/// *Thread-safety:* any thread of any process of the program's family.

#include <weft/mp/detail/shared_memory.hpp>
#include <weft/mp/lock.hpp>

#include <chrono>
#include <cstdint>

namespace weft::mp {

namespace detail {
struct condition_block {
    shared_cond cond;
};
}  // namespace detail

/// A condition variable shared between processes. See the file comment.
///
/// Example: `weft::mp::condition cv; weft::mp::hold h(cv); cv.notify_all();`
class condition {
public:
    using duration = detail::clock::duration;

    /// A condition with its own new lock.
    condition() : condition(mp::lock{}) {}
    /// A condition using `l` as its lock.
    explicit condition(mp::lock l)
        : lock_(std::move(l)), block_(detail::shared_object<detail::condition_block>::make()) {}

    /// Acquires the underlying lock.
    void acquire() { lock_.acquire(); }
    /// Releases the underlying lock.
    void release() { lock_.release(); }
    /// The underlying lock.
    mp::lock& get_lock() noexcept { return lock_; }

    /// Releases the lock, waits for a notification, re-acquires the lock.
    void wait() { block_->cond.wait_until(lock_.native(), nullptr); }
    /// Same, at most `timeout`; false if it timed out.
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        auto deadline = detail::deadline_after(std::chrono::ceil<duration>(timeout));
        return block_->cond.wait_until(lock_.native(), &deadline);
    }
    /// Waits until `pred()` is true or `timeout` passes; returns the last value of `pred()`.
    template <class Rep, class Period, class Pred>
    bool wait_for(std::chrono::duration<Rep, Period> timeout, Pred pred) {
        auto deadline = detail::deadline_after(std::chrono::ceil<duration>(timeout));
        while (!pred()) {
            if (!block_->cond.wait_until(lock_.native(), &deadline)) return pred();
        }
        return true;
    }
    /// Wakes up to `n` waiters.
    void notify(unsigned n = 1) {
        for (unsigned i = 0; i < n; ++i) block_->cond.notify_one();
    }
    /// Wakes every waiter.
    void notify_all() { block_->cond.notify_all(); }

    /// An empty handle, for cereal to load into (internal).
    explicit condition(detail::unbound_t) noexcept : lock_(detail::unbound) {}

    template <class Archive>
    void serialize(Archive& ar) {
        ar(lock_, block_);
    }

private:
    mp::lock lock_;
    detail::shared_object<detail::condition_block> block_;
};

}  // namespace weft::mp
