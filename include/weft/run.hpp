#pragma once
/// \file
/// `weft::run`: the entry point (asyncio's `run`). Makes a loop, runs `main` to completion,
/// cancels whatever tasks are left and waits for them, closes the loop, and returns main's
/// result or rethrows its exception.
///
/// On the main thread, SIGINT (Ctrl-C) and SIGTERM become loop events: the first cancels the
/// main task (which may catch `weft::cancelled_error` to clean up) and `run` then throws
/// `weft::keyboard_interrupt`; a second Ctrl-C exits the process at once with status 130.
///
/// Example:
/// \code
///   weft::task<int> main_task() { co_await weft::sleep(1s); co_return 0; }
///   int main() { return weft::run(main_task()); }
/// \endcode

#include <weft/event_loop.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include <type_traits>
#include <utility>

namespace weft {

namespace detail {
// Runs `main` on `loop` with the signal and shutdown handling described above.
void run_main(event_loop& loop, const any_task& main);
}  // namespace detail

/// Runs `main` on a new event loop until it completes (see the file comment).
template <class T>
T run(task<T> main, loop_options options = {}) {
    event_loop loop(options);
    auto handle = loop.create_task(std::move(main), "main");
    detail::run_main(loop, handle);
    if constexpr (std::is_void_v<T>) {
        handle.result();
    } else {
        handle.typed().rethrow_if_failed();
        return std::move(std::get<1>(handle.typed().promise().outcome));
    }
}

}  // namespace weft
