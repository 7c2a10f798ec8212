#pragma once
/// \file
/// `weft::to_thread`: run a blocking call on a worker thread and `co_await` its result
/// without blocking the event loop (asyncio's `to_thread`).
///
/// The call goes to a process-wide default `thread_pool_executor` (created on first use with
/// `thread_pool_executor::default_max_workers()` threads, shut down with `wait = true` at exit).
/// Unlike Python's coroutine, the call is submitted at once; awaiting only collects the result.
/// To choose the pool, use `loop.run_in_executor(pool, fn, args...)` or `pool.submit(...)`.
///
/// Example:
/// \code
///   weft::task<std::string> load(std::string path) {
///       co_return co_await weft::to_thread(read_whole_file, path);   // the loop keeps serving
///   }
/// \endcode
///
/// *Throws:* the call's own exception, rethrown at the `co_await`.
/// *Cancellation:* cancelling the awaiting task cancels the call if it has not started yet;
/// a running call finishes on its thread and its result is dropped.
/// *Thread-safety:* callable from any thread.

#include <weft/future.hpp>
#include <weft/thread_pool_executor.hpp>

#include <utility>

namespace weft {

/// The process-wide pool behind `to_thread` (created on first use).
/// Example: `auto f = weft::default_executor().submit(compress, data);`
thread_pool_executor& default_executor();

/// Submits `fn(args...)` to the default executor; `co_await` the returned future.
/// Example: `auto n = co_await weft::to_thread([] { return count_lines("big.txt"); });`
template <class Fn, class... Args>
auto to_thread(Fn&& fn, Args&&... args) {
    return default_executor().submit(std::forward<Fn>(fn), std::forward<Args>(args)...);
}

}  // namespace weft
