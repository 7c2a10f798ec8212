#pragma once
/// \file
/// How `weft::mp` starts a new process: `fork` or `forkserver` (Python's start methods).
///
/// - `fork`: the child is a `fork()` of the caller. Anything callable works (captures
///   included) and every object is inherited. But if the caller has other threads, the child
///   inherits only the calling thread: a lock another thread held at that instant (a logger's,
///   an allocator's, yours) stays locked forever in the child, which then deadlocks.
/// - `forkserver` (the default): a small helper process, forked while the program was still
///   single-threaded, forks every new process. Children never inherit a half-held lock, whatever
///   threads the program runs by then. The price: a child sees the program's memory as it was
///   when the helper started (not as it is now), so the function must be a function pointer or a
///   captureless lambda, and the arguments travel serialized with cereal. `weft::mp`'s shared
///   objects (`mp::lock`, `mp::queue`, ...) live in a shared arena created before the helper, so
///   they pass by reference.
///
/// The helper starts on the first use of `weft::mp` if the program is still single-threaded.
/// Otherwise starting a process with `forkserver` throws `invalid_state_error`: call
/// `weft::mp::set_start_method(weft::mp::start_method::forkserver)` at the top of `main`,
/// before any thread exists (the recommended form), or choose `fork` and accept its risk.
///
/// Example:
/// \code
///   int main() {
///       weft::mp::set_start_method(weft::mp::start_method::forkserver);  // before any thread
///       std::jthread logger_thread(...);
///       weft::process_pool_executor pool{4};   // safe: workers come from the helper
///   }
/// \endcode
///
/// *Thread-safety:* `set_start_method` and `get_start_method` may be called from any thread.

namespace weft::mp {

/// How new processes are started; see the file comment.
enum class start_method {
    fork,        ///< fork() the caller: fast, inherits everything, unsafe with running threads
    forkserver,  ///< fork() a helper started while single-threaded: safe with threads (default)
};

/// Sets the default start method. Choosing `forkserver` starts the helper now (if it is not
/// running yet).
///
/// *Throws:* `invalid_state_error` when the helper must start but other threads already run;
/// `std::system_error` if it cannot be started.
///
/// Example: `weft::mp::set_start_method(weft::mp::start_method::forkserver);`
void set_start_method(start_method method);

/// The default start method (`forkserver` unless `set_start_method` chose `fork`).
///
/// Example: `if (weft::mp::get_start_method() == weft::mp::start_method::fork) warn();`
start_method get_start_method() noexcept;

}  // namespace weft::mp
