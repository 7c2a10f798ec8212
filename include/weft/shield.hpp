#pragma once
/// \file
/// `weft::shield`: await a task without passing cancellation on to it (asyncio's `shield`).
///
/// If the awaiting task is cancelled (or its timeout scope expires), it stops waiting and
/// gets `cancelled_error` (or `timeout_error`), while the shielded task runs on.
///
/// Example:
/// \code
///   auto save = weft::create_task(save_state());
///   co_await weft::shield(save);   // a Ctrl-C will not interrupt the save itself
/// \endcode

#include <weft/task.hpp>
#include <weft/task_handle.hpp>

namespace weft {

/// Awaitable: waits for `handle` and yields its result; cancellation stops only the wait.
template <class T>
auto shield(const task_handle<T>& handle) {
    return detail::handle_awaiter<T, false, true>(&handle.typed());
}

/// Spawns `t` and shields it; the task keeps running if the awaiting task is cancelled.
/// Example: `co_await weft::shield(flush_to_disk());`
template <class T>
task<T> shield(task<T> t) {
    auto handle = create_task(std::move(t));
    co_return co_await detail::handle_awaiter<T, true, true>(&handle.typed());
}

}  // namespace weft
