#pragma once
/// \file
/// `weft::wait` for tasks: wait until some or all of them are done (asyncio's `wait`).
///
/// Unlike gather, wait never raises the children's errors and never cancels them (not on
/// timeout, not when the waiting task is cancelled): it splits them into `done` and `pending`.
/// Tasks (`task<T>`) are spawned first, as the tutorial's `asyncio.wait(coroutines)` does.
///
/// Example:
/// \code
///   auto [done, pending] = co_await weft::wait(std::move(handles), 2s, weft::return_when::first_completed);
///   for (auto& t : done) use(t.result());
///   // the tutorial's old-style loop:
///   loop.run_until_complete(weft::wait(std::move(tasks)));
/// \endcode
///
/// *Cancellation:* cancelling the waiting task throws `cancelled_error` out of wait; the
/// children keep running.

#include <weft/detail/awaitables.hpp>
#include <weft/detail/children_waiter.hpp>
#include <weft/return_when.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include <chrono>
#include <optional>
#include <vector>

namespace weft {

/// What `weft::wait` yields: the handles that are done and those still pending, each in the
/// order they were given.
template <class T>
struct wait_result {
    std::vector<task_handle<T>> done;
    std::vector<task_handle<T>> pending;
};

namespace detail {
template <class X>
task<wait_result<spawned_result_t<X>>> wait_impl(std::vector<X> awaitables, return_when when,
                                                 std::optional<event_loop::duration> timeout) {
    using T = spawned_result_t<X>;
    auto handles = to_handles(std::move(awaitables));
    auto states = states_of(handles);
    using until = children_waiter::until;
    until condition = when == return_when::first_completed   ? until::first_done
                      : when == return_when::first_exception ? until::first_exception
                                                             : until::all_done;
    std::optional<event_loop::time_point> deadline;
    if (timeout) deadline = event_loop::current()->time() + *timeout;
    if (!states.empty()) co_await children_waiter(states, condition, children_waiter::on_interrupt::detach, deadline);
    wait_result<T> result;
    for (auto& h : handles) (h.done() ? result.done : result.pending).push_back(std::move(h));
    co_return result;
}
}  // namespace detail

/// Waits for the tasks or handles in `awaitables` until `when` holds (see the file comment).
template <detail::spawnable X>
task<wait_result<detail::spawned_result_t<X>>> wait(std::vector<X> awaitables,
                                                    return_when when = return_when::all_completed) {
    return detail::wait_impl(std::move(awaitables), when, std::nullopt);
}

/// Like `wait(awaitables, when)`, but returns when `timeout` passes even if `when` does not hold.
template <detail::spawnable X, class Rep, class Period>
task<wait_result<detail::spawned_result_t<X>>> wait(std::vector<X> awaitables, std::chrono::duration<Rep, Period> timeout,
                                                    return_when when = return_when::all_completed) {
    return detail::wait_impl(std::move(awaitables), when,
                             std::chrono::duration_cast<event_loop::duration>(timeout));
}

}  // namespace weft
