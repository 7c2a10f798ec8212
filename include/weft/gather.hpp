#pragma once
/// \file
/// `weft::gather`: run awaitables concurrently and collect their results (asyncio's `gather`).
///
/// Accepts tasks (spawned when the gather starts) and task handles, either as separate
/// arguments (→ a tuple) or as one vector (→ a vector), results in argument order; `void`
/// results become `std::monostate`.
///
/// Example:
/// \code
///   auto [x, y] = co_await weft::gather(work(1, 100ms), work(2, 200ms));   // 200 ms, not 300
///   std::vector<weft::task<int>> jobs; ...
///   std::vector<int> all = co_await weft::gather(std::move(jobs));
///   auto results = co_await weft::gather(std::move(jobs2), weft::return_exceptions);
/// \endcode
///
/// *Throws:* without `return_exceptions`, the first exception of any child, as soon as it
/// happens (the other children keep running, and their later errors count as retrieved).
/// With `return_exceptions`, each result is a `weft::outcome` and nothing is thrown.
/// *Cancellation:* cancelling the gathering task cancels every child still running, waits for
/// them, then throws `cancelled_error` (or `timeout_error` when a timeout scope expired).

#include <weft/detail/awaitables.hpp>
#include <weft/detail/children_waiter.hpp>
#include <weft/outcome.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include <array>
#include <tuple>
#include <vector>

namespace weft {

/// Tag: gather yields a `weft::outcome` per child instead of throwing the first error.
struct return_exceptions_t {
    explicit return_exceptions_t() = default;
};
/// Example: `co_await weft::gather(weft::return_exceptions, a(), b());`
inline constexpr return_exceptions_t return_exceptions{};

namespace detail {

// Marks errors of children that outlive a failed gather as retrieved (as asyncio does).
inline void retrieve_errors_later(std::span<task_state_base* const> states, std::size_t failed) {
    for (std::size_t i = 0; i < states.size(); ++i) {
        if (i == failed) continue;
        any_task child(states[i]);
        if (child.done()) states[i]->mark_retrieved();
        else child.add_done_callback([](any_task t) { t.state_ptr()->mark_retrieved(); });
    }
}

template <bool Owned, class T>
outcome<T> take_outcome(const task_handle<T>& h) {
    try {
        return outcome<T>(take_result<Owned>(h));
    } catch (...) {
        return outcome<T>(std::current_exception());
    }
}

template <class Handles>
void rethrow_first_failure(Handles& states, std::size_t failed) {
    retrieve_errors_later(states, failed);
    states[failed]->rethrow_if_failed();
}

}  // namespace detail

/// Runs every argument concurrently; yields a tuple of their results (see the file comment).
template <detail::spawnable... Xs>
task<std::tuple<detail::value_or_monostate<detail::spawned_result_t<Xs>>...>> gather(Xs... awaitables) {
    std::tuple handles{detail::to_handle(std::move(awaitables))...};
    auto states = std::apply([](auto&... h) { return std::array<detail::task_state_base*, sizeof...(Xs)>{h.state_ptr()...}; },
                             handles);
    using until = detail::children_waiter::until;
    using policy = detail::children_waiter::on_interrupt;
    std::size_t failed = co_await detail::children_waiter(states, until::first_failure, policy::cancel_and_wait);
    if (failed != detail::children_waiter::none) detail::rethrow_first_failure(states, failed);
    co_return std::apply([](auto&... h) { return std::tuple{detail::take_result<detail::owns_result_v<Xs>>(h)...}; },
                         handles);
}

/// Like `gather(xs...)`, but yields a `weft::outcome` per child and never throws their errors.
template <detail::spawnable... Xs>
task<std::tuple<outcome<detail::spawned_result_t<Xs>>...>> gather(return_exceptions_t, Xs... awaitables) {
    std::tuple handles{detail::to_handle(std::move(awaitables))...};
    auto states = std::apply([](auto&... h) { return std::array<detail::task_state_base*, sizeof...(Xs)>{h.state_ptr()...}; },
                             handles);
    using until = detail::children_waiter::until;
    using policy = detail::children_waiter::on_interrupt;
    co_await detail::children_waiter(states, until::all_done, policy::cancel_and_wait);
    co_return std::apply([](auto&... h) { return std::tuple{detail::take_outcome<detail::owns_result_v<Xs>>(h)...}; },
                         handles);
}

/// Runs every element of `awaitables` (tasks or handles) concurrently; results in order.
template <detail::spawnable X>
task<std::vector<detail::value_or_monostate<detail::spawned_result_t<X>>>> gather(std::vector<X> awaitables) {
    using T = detail::spawned_result_t<X>;
    auto handles = detail::to_handles(std::move(awaitables));
    auto states = detail::states_of(handles);
    using until = detail::children_waiter::until;
    using policy = detail::children_waiter::on_interrupt;
    std::size_t failed = co_await detail::children_waiter(states, until::first_failure, policy::cancel_and_wait);
    if (failed != detail::children_waiter::none) detail::rethrow_first_failure(states, failed);
    std::vector<detail::value_or_monostate<T>> results;
    results.reserve(handles.size());
    for (auto& h : handles) results.push_back(detail::take_result<detail::owns_result_v<X>>(h));
    co_return results;
}

/// Like `gather(vector)`, but yields a `weft::outcome` per element and never throws their errors.
template <detail::spawnable X>
task<std::vector<outcome<detail::spawned_result_t<X>>>> gather(std::vector<X> awaitables, return_exceptions_t) {
    using T = detail::spawned_result_t<X>;
    auto handles = detail::to_handles(std::move(awaitables));
    auto states = detail::states_of(handles);
    using until = detail::children_waiter::until;
    using policy = detail::children_waiter::on_interrupt;
    co_await detail::children_waiter(states, until::all_done, policy::cancel_and_wait);
    std::vector<outcome<T>> results;
    results.reserve(handles.size());
    for (auto& h : handles) results.push_back(detail::take_outcome<detail::owns_result_v<X>>(h));
    co_return results;
}

}  // namespace weft
