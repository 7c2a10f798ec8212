#pragma once
/// \file
/// Deadlines: the `weft::timeout` scope and `weft::wait_for` (asyncio's `timeout` / `wait_for`).
///
/// A timeout scope arms a deadline for the task that creates it. When the deadline passes,
/// the operation the task is suspended in (sleep, lock, queue, I/O, an awaited task) throws
/// `weft::timeout_error`; so does every later suspension inside the still-open scope. Leaving
/// the scope disarms it. Scopes nest; the earliest deadline wins.
///
/// Example:
/// \code
///   {
///       auto deadline = weft::timeout(2s);
///       co_await download_all();        // throws weft::timeout_error after 2 s
///   }
///   int v = co_await weft::wait_for(compute(), 500ms);
/// \endcode
///
/// *Cancellation:* an awaited spawned task is cancelled when the deadline passes (as asyncio's
/// wait_for does); `weft::shield` it to let it run on.

#include <weft/detail/task_state.hpp>
#include <weft/detail/timer_heap.hpp>
#include <weft/event_loop.hpp>
#include <weft/task.hpp>

#include <chrono>
#include <type_traits>
#include <utility>

namespace weft {

/// A deadline for the running task, active until the object is destroyed.
/// Create it inside a task (`auto t = weft::timeout(1s);`); it can be neither copied nor moved.
class timeout_scope final : private detail::deadline_link, private detail::timer_node {
public:
    /// Arms a deadline `delay` from now. Throws `invalid_state_error` outside a running task.
    explicit timeout_scope(event_loop::duration delay);
    timeout_scope(const timeout_scope&) = delete;
    timeout_scope& operator=(const timeout_scope&) = delete;
    ~timeout_scope();

    /// True once the deadline has passed.
    bool expired() const noexcept { return deadline_link::expired; }
    /// The deadline on the loop's clock.
    event_loop::time_point when() const noexcept { return deadline; }
    /// Moves the deadline to `delay` from now (also re-arms an expired scope).
    void reschedule(event_loop::duration delay);

private:
    void fire() override;
    detail::task_state_base* owner_;
};

/// Opens a timeout scope: `auto t = weft::timeout(100ms);` (see the file comment).
template <class Rep, class Period>
[[nodiscard]] timeout_scope timeout(std::chrono::duration<Rep, Period> delay) {
    return timeout_scope(std::chrono::duration_cast<event_loop::duration>(delay));
}

namespace detail {
template <class X>
inline constexpr bool is_task_handle_v = false;
template <class T>
inline constexpr bool is_task_handle_v<task_handle<T>> = true;

template <class Awaitable>
using await_result_t = decltype(std::declval<Awaitable&&>().operator co_await().await_resume());
}

/// Awaits `awaitable` (a task or task handle) for at most `delay`; throws `timeout_error`
/// when it takes longer (an awaited spawned task is cancelled, as in asyncio).
/// Example: `auto page = co_await weft::wait_for(fetch(url), 5s);`
template <class Awaitable, class Rep, class Period>
auto wait_for(Awaitable awaitable, std::chrono::duration<Rep, Period> delay)
    -> task<detail::await_result_t<Awaitable>> {
    timeout_scope scope(std::chrono::duration_cast<event_loop::duration>(delay));
    // A task_handle<T> is awaited as an lvalue, so it copies the result and the task keeps it
    // for every other handle; everything else (a task<T>, an aio wait) is consumed.
    if constexpr (detail::is_task_handle_v<Awaitable>) co_return co_await awaitable;
    else co_return co_await std::move(awaitable);
}

}  // namespace weft
