#pragma once
/// \file
/// `weft::mp::semaphore`: a counting semaphore shared between processes (Python's
/// `multiprocessing.Semaphore`).
///
/// Not robust (no semaphore is): permits taken by a process that dies are gone.
///
/// Example:
/// \code
///   weft::mp::semaphore slots{2};            // at most two workers inside at once
///   auto work = [](weft::mp::semaphore s) { weft::mp::hold h(s); crunch(); };
/// \endcode
///
/// *Throws:* `std::system_error` on an OS failure (e.g. counter overflow on release).
/// *Cancellation:* `acquire(timeout)` returns false once the timeout passes.
/// *Thread-safety:* any thread of any process of the program's family.

#include <weft/mp/detail/shared_memory.hpp>

#include <semaphore.h>

#include <chrono>
#include <cstdint>

namespace weft::mp {

namespace detail {
struct semaphore_block {
    explicit semaphore_block(unsigned value);
    ~semaphore_block();
    semaphore_block(const semaphore_block&) = delete;
    semaphore_block& operator=(const semaphore_block&) = delete;
    bool wait_until(const clock::time_point* deadline);
    sem_t sem;
};
}  // namespace detail

/// A counting semaphore shared between processes. See the file comment.
///
/// Example: `weft::mp::semaphore s{0}; s.release(); s.acquire();`
class semaphore {
public:
    using duration = detail::clock::duration;

    /// A semaphore holding `value` permits.
    explicit semaphore(unsigned value = 1) : block_(detail::shared_object<detail::semaphore_block>::make(value)) {}

    /// Takes a permit, blocking while there is none.
    void acquire() { block_->wait_until(nullptr); }
    /// Waits at most `timeout` for a permit; true if taken.
    template <class Rep, class Period>
    bool acquire(std::chrono::duration<Rep, Period> timeout) {
        auto deadline = detail::deadline_after(std::chrono::ceil<duration>(timeout));
        return block_->wait_until(&deadline);
    }
    /// Takes a permit if one is available; true if taken.
    bool try_acquire();
    /// Returns `n` permits.
    void release(unsigned n = 1);
    /// The current number of permits.
    int get_value() const;

    /// An empty handle, for cereal to load into (internal).
    explicit semaphore(detail::unbound_t) noexcept {}

    template <class Archive>
    void serialize(Archive& ar) {
        ar(block_);
    }

private:
    detail::shared_object<detail::semaphore_block> block_;
};

}  // namespace weft::mp
