#pragma once
/// \file
/// `weft::mp::event`: a flag shared between processes that others can wait for (Python's
/// `multiprocessing.Event`).
///
/// Example:
/// \code
///   weft::mp::event ready;
///   weft::mp::process p([](weft::mp::event e) { load(); e.set(); }, ready);
///   p.start();
///   if (!ready.wait(std::chrono::seconds(5))) std::puts("child is slow");
///   p.join();
/// \endcode
///
/// *Throws:* `std::system_error` on an OS failure.
/// *Cancellation:* `wait(timeout)` returns false once the timeout passes.
/// *Thread-safety:* any thread of any process of the program's family.

#include <weft/mp/detail/shared_memory.hpp>

#include <chrono>
#include <cstdint>

namespace weft::mp {

namespace detail {
struct event_block {
    robust_mutex mutex;
    shared_cond cond;
    bool flag = false;
    bool wait_until(const clock::time_point* deadline);
};
}  // namespace detail

/// An event shared between processes. See the file comment.
///
/// Example: `weft::mp::event e; e.set(); assert(e.is_set() && e.wait());`
class event {
public:
    using duration = detail::clock::duration;

    /// A new event, not set.
    event() : block_(detail::shared_object<detail::event_block>::make()) {}

    /// True if set.
    bool is_set() const;
    /// Sets the flag and wakes every waiter.
    void set();
    /// Clears the flag.
    void clear();
    /// Blocks until the flag is set; returns true.
    bool wait() { return block_->wait_until(nullptr); }
    /// Waits at most `timeout`; true if the flag is set.
    template <class Rep, class Period>
    bool wait(std::chrono::duration<Rep, Period> timeout) {
        auto deadline = detail::deadline_after(std::chrono::ceil<duration>(timeout));
        return block_->wait_until(&deadline);
    }

    /// An empty handle, for cereal to load into (internal).
    explicit event(detail::unbound_t) noexcept {}

    template <class Archive>
    void serialize(Archive& ar) {
        ar(block_);
    }

private:
    detail::shared_object<detail::event_block> block_;
};

}  // namespace weft::mp
