#pragma once
// Internal: starting, watching and reaping child processes for both start methods.

#include <weft/mp/detail/shared_memory.hpp>
#include <weft/mp/start_method.hpp>

#include <sys/types.h>

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace weft::mp::detail {

/// What a process started by the forkserver runs: gets the payload and the file descriptors
/// sent along, returns the exit code. Its address is valid in the forkserver because the
/// forkserver is a fork of this very program.
using entry_fn = int (*)(std::string_view payload, std::span<const int> fds);

/// A started child. Its "sentinel" file descriptor becomes readable once the child ended
/// (a pidfd for our own children, the forkserver's status pipe for the others).
/// Move-only; the destructor closes the sentinel (reap first, with wait_until or poll).
class child_process {
public:
    child_process() noexcept = default;
    child_process(pid_t pid, int sentinel, bool own_child) noexcept
        : pid_(pid), sentinel_(sentinel), own_child_(own_child) {}
    child_process(child_process&& other) noexcept;
    child_process& operator=(child_process&& other) noexcept;
    ~child_process();

    pid_t pid() const noexcept { return pid_; }
    int sentinel() const noexcept { return sentinel_; }
    /// True once the child ended and was reaped.
    bool ended() const noexcept { return wait_status_.has_value(); }
    /// Reaps the child if it ended (never blocks); true if it has ended.
    bool poll();
    /// Waits until the child ends or `deadline` passes (nullptr: forever); true if ended.
    bool wait_until(const clock::time_point* deadline);
    /// Sends `signal_number` unless the child was already reaped.
    void send_signal(int signal_number);
    /// Python's exitcode: the exit status, or minus the signal that killed it; empty if running.
    std::optional<int> exitcode() const noexcept;

private:
    void close_sentinel() noexcept;

    pid_t pid_ = -1;
    int sentinel_ = -1;
    bool own_child_ = false;
    std::optional<int> wait_status_;  // raw waitpid status once reaped
};

/// Starts a fork() of this process that runs `body` (see call_reporting) and exits with its code.
child_process spawn_fork(const std::function<int()>& body, std::string_view label);
/// Asks the forkserver (starting it if needed) to start a process running `entry(payload, fds)`.
child_process spawn_forkserver(entry_fn entry, std::string_view payload, std::span<const int> fds);

/// Runs a child's body: an exception escaping it is printed to stderr
/// ("Process <label>: <type>: <message>") and gives exit code 1.
int call_reporting(std::string_view label, const std::function<int()>& body) noexcept;
/// Flushes stdio and ends the child at once (no atexit handlers, no static destructors).
[[noreturn]] void child_exit(int code) noexcept;

/// The demangled type name of the exception being handled (call inside a catch block).
std::string current_exception_type_name();
/// The what() of the exception being handled, if it has one.
std::string current_exception_message();

/// How many threads this process has now (/proc/self/task).
std::size_t thread_count();

/// Returns `fd`; throws std::system_error (naming `what`) if it is negative.
int checked_fd(int fd, const char* what);

}  // namespace weft::mp::detail
