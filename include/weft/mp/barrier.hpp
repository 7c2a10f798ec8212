#pragma once
/// \file
/// `weft::mp::barrier`: `parties` processes (or threads) wait until all have arrived
/// (Python's `multiprocessing.Barrier`).
///
/// Example:
/// \code
///   weft::mp::barrier b{3};
///   auto worker = [](weft::mp::barrier b) { load(); b.wait(std::chrono::seconds(10)); run(); };
///   // start two processes with `worker`, then: b.wait(std::chrono::seconds(10));
/// \endcode
///
/// *Throws:* `wait` throws `weft::broken_barrier_error` if the barrier is or becomes broken
/// while waiting: a waiter timed out (that waiter breaks it), or `abort()`/`reset()` was called.
/// *Cancellation:* a timed-out `wait` breaks the barrier for everyone, as in Python.
/// *Thread-safety:* any thread of any process of the program's family.

#include <weft/mp/detail/shared_memory.hpp>

#include <chrono>
#include <cstdint>

namespace weft::mp {

namespace detail {
struct barrier_block {
    explicit barrier_block(unsigned parties) : parties(parties) {}
    unsigned wait_until(const clock::time_point* deadline);
    robust_mutex mutex;
    shared_cond cond;
    unsigned parties;
    unsigned count = 0;           // arrived in the current round
    std::uint64_t generation = 0;  // rounds completed or broken
    bool broken = false;
};
}  // namespace detail

/// A barrier shared between processes. See the file comment.
///
/// Example: `weft::mp::barrier b{2}; unsigned index = b.wait();`
class barrier {
public:
    using duration = detail::clock::duration;

    /// A barrier for `parties` participants. Throws `std::invalid_argument` if 0.
    explicit barrier(unsigned parties);

    /// Waits until all parties arrived; returns this party's arrival index (0 .. parties-1).
    unsigned wait() { return block_->wait_until(nullptr); }
    /// Same, at most `timeout` (then the barrier breaks and this throws).
    template <class Rep, class Period>
    unsigned wait(std::chrono::duration<Rep, Period> timeout) {
        auto deadline = detail::deadline_after(std::chrono::ceil<duration>(timeout));
        return block_->wait_until(&deadline);
    }
    /// Breaks the barrier: current and future waiters throw until `reset()`.
    void abort();
    /// Returns the barrier to its initial state; current waiters throw `broken_barrier_error`.
    void reset();
    /// The number of parties.
    unsigned parties() const noexcept { return block_->parties; }
    /// How many wait now.
    unsigned n_waiting() const;
    /// True if broken.
    bool broken() const;

    /// An empty handle, for cereal to load into (internal).
    explicit barrier(detail::unbound_t) noexcept {}

    template <class Archive>
    void serialize(Archive& ar) {
        ar(block_);
    }

private:
    detail::shared_object<detail::barrier_block> block_;
};

}  // namespace weft::mp
