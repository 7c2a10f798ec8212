#pragma once
/// \file
/// Every error weft throws, in one place (asyncio keeps them in `exceptions.py`).
///
/// Two of them are deliberately *not* derived from `std::exception`:
/// `weft::cancelled_error` and `weft::keyboard_interrupt`. Like Python's `CancelledError`
/// and `KeyboardInterrupt` (which derive from `BaseException`), they must travel through a
/// generic `catch (const std::exception&)` so that a task that is being cancelled stops.
/// Catch them by name (or with `catch (...)` and rethrow) when you need cleanup.
///
/// Example:
/// \code
///   try { co_await weft::sleep(1s); }
///   catch (const std::exception& e) { /* never sees a cancellation */ }
/// \endcode

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace weft {

/// The root of weft's control-flow exceptions (cancellation, interruption).
/// Not a `std::exception`: a `catch (const std::exception&)` lets it pass.
class base_exception {
public:
    explicit base_exception(std::string message) : message_(std::move(message)) {}
    virtual ~base_exception() = default;
    /// Human-readable description.
    const char* what() const noexcept { return message_.c_str(); }

private:
    std::string message_;
};

/// Thrown at the suspension point of a task that was cancelled.
///
/// Example: `handle.cancel(); co_await handle; // throws weft::cancelled_error`
class cancelled_error : public base_exception {
public:
    explicit cancelled_error(std::string message = "task was cancelled")
        : base_exception(std::move(message)) {}
};

/// Thrown out of `weft::run` when SIGINT or SIGTERM cancelled the main task.
///
/// Example: `try { weft::run(main_task()); } catch (const weft::keyboard_interrupt&) { return 130; }`
class keyboard_interrupt : public base_exception {
public:
    explicit keyboard_interrupt(int signal_number)
        : base_exception("interrupted by signal " + std::to_string(signal_number)),
          signal_number_(signal_number) {}
    /// The signal that interrupted the run (SIGINT or SIGTERM).
    int signal_number() const noexcept { return signal_number_; }

private:
    int signal_number_;
};

/// A deadline passed: `weft::timeout`, `weft::wait_for`, `future::result(timeout)`, ...
///
/// Example: `try { co_await weft::wait_for(slow(), 1s); } catch (const weft::timeout_error&) {}`
class timeout_error : public std::runtime_error {
public:
    explicit timeout_error(const std::string& what = "operation timed out")
        : std::runtime_error(what) {}
};

/// An operation is not allowed in the object's current state; the message names the state.
///
/// Example: `pending_handle.result(); // invalid_state_error: result of task 'Task-1' is not ready (state: pending)`
class invalid_state_error : public std::logic_error {
public:
    explicit invalid_state_error(const std::string& what) : std::logic_error(what) {}
};

/// `put_nowait` on a full queue (Python's `queue.Full` / `asyncio.QueueFull`).
class queue_full : public std::runtime_error {
public:
    queue_full() : std::runtime_error("queue is full") {}
};

/// `get_nowait` on an empty queue (Python's `queue.Empty` / `asyncio.QueueEmpty`).
class queue_empty : public std::runtime_error {
public:
    queue_empty() : std::runtime_error("queue is empty") {}
};

/// `put` on a queue that was shut down, or `get` on one that is shut down and drained
/// (Python 3.13's `ShutDown`).
class queue_shut_down : public std::runtime_error {
public:
    queue_shut_down() : std::runtime_error("queue was shut down") {}
};

/// Releasing a bounded semaphore more often than it was acquired, or an unlocked lock.
class release_error : public std::logic_error {
public:
    explicit release_error(const std::string& what) : std::logic_error(what) {}
};

/// A stream ended before the expected number of bytes arrived; `partial()` holds what did.
class incomplete_read_error : public std::runtime_error {
public:
    incomplete_read_error(std::string partial, std::size_t expected)
        : std::runtime_error(std::to_string(partial.size()) + " bytes read on a total of " +
                             std::to_string(expected) + " expected bytes"),
          partial_(std::move(partial)), expected_(expected) {}
    /// The bytes that did arrive.
    const std::string& partial() const noexcept { return partial_; }
    /// How many bytes were expected.
    std::size_t expected() const noexcept { return expected_; }

private:
    std::string partial_;
    std::size_t expected_;
};

/// Several child tasks failed (`weft::task_group`): every error, in completion order.
///
/// Example:
/// \code
///   catch (const weft::exception_group& g) { for (auto& e : g.exceptions()) log(e); }
/// \endcode
class exception_group : public std::runtime_error {
public:
    exception_group(const std::string& what, std::vector<std::exception_ptr> errors)
        : std::runtime_error(what), errors_(std::move(errors)) {}
    /// The child errors, in the order they happened.
    const std::vector<std::exception_ptr>& exceptions() const noexcept { return errors_; }

private:
    std::vector<std::exception_ptr> errors_;
};

/// Describes any exception for logs: its `what()` for std and weft errors, else "unknown".
///
/// Example: `spdlog::error("failed: {}", weft::describe(std::current_exception()));`
std::string describe(const std::exception_ptr& error);

/// True if `error` holds a `weft::cancelled_error`.
bool is_cancellation(const std::exception_ptr& error) noexcept;

/// A process pool can no longer run work: one of its workers died abruptly (crash, kill -9,
/// out of memory) — Python's `BrokenProcessPool`. Every future that was pending or running in
/// the pool fails with it, and later `submit` calls throw it.
///
/// Example: `catch (const weft::broken_process_pool& e) { spdlog::error("{}", e.what()); }`
class broken_process_pool : public std::runtime_error {
public:
    explicit broken_process_pool(const std::string& what) : std::runtime_error(what) {}
};

/// An exception escaped the work in another process; C++ cannot rebuild its type there, so
/// it arrives as this, naming the original type and message.
///
/// Example:
/// \code
///   catch (const weft::remote_error& e) {
///       assert(e.type_name() == "std::out_of_range");  // e.what(): "std::out_of_range: bad index"
///   }
/// \endcode
class remote_error : public std::runtime_error {
public:
    remote_error(std::string type_name, std::string message)
        : std::runtime_error(type_name + ": " + message),
          type_name_(std::move(type_name)), message_(std::move(message)) {}
    /// The demangled type of the original exception (e.g. "std::out_of_range").
    const std::string& type_name() const noexcept { return type_name_; }
    /// The original exception's `what()`.
    const std::string& message() const noexcept { return message_; }

private:
    std::string type_name_;
    std::string message_;
};

/// `readline`/`readuntil` found no separator within the stream's line limit (asyncio's
/// `LimitOverrunError`); the bytes stay buffered in the stream.
///
/// Example: `catch (const weft::limit_overrun_error& e) { s.abort(); }`
class limit_overrun_error : public std::runtime_error {
public:
    limit_overrun_error(const std::string& what, std::size_t buffered)
        : std::runtime_error(what), buffered_(buffered) {}
    /// How many bytes were buffered when the limit was hit.
    std::size_t buffered() const noexcept { return buffered_; }

private:
    std::size_t buffered_;
};

/// A barrier was broken (a waiter timed out, `abort()` or `reset()` was called) while
/// parties waited on it — Python's `BrokenBarrierError`.
///
/// Example: `try { barrier.wait(1s); } catch (const weft::broken_barrier_error&) { retry(); }`
class broken_barrier_error : public std::runtime_error {
public:
    explicit broken_barrier_error(const std::string& what = "barrier is broken") : std::runtime_error(what) {}
};

namespace http {

/// An HTTP request failed: bad URL, connection, TLS, timeout, transfer error, too many
/// redirects, or (from `response::raise_for_status`) an error status. The message is the URL,
/// then libcurl's own description ("http://127.0.0.1:1/: Couldn't connect to server: ...").
///
/// Example:
/// \code
///   try { co_await session.get("http://127.0.0.1:1/"); }
///   catch (const weft::http::error& e) { if (e.kind() == weft::http::error::reason::connect) retry(); }
/// \endcode
class error : public std::runtime_error {
public:
    /// What went wrong, coarsely (for retry decisions).
    /// (`too_large`: a download exceeded `download_options::max_bytes`.)
    enum class reason { invalid_url, connect, tls, timeout, transfer, too_many_redirects, status, other, too_large };

    error(reason why, std::string url, const std::string& message, int curl_code = 0, long status = 0)
        : std::runtime_error(url.empty() ? message : url + ": " + message), url_(std::move(url)), reason_(why),
          curl_code_(curl_code), status_(status) {}
    /// The URL the request was for.
    const std::string& url() const noexcept { return url_; }
    reason kind() const noexcept { return reason_; }
    /// libcurl's CURLcode (0 when the error did not come from libcurl).
    int curl_code() const noexcept { return curl_code_; }
    /// The HTTP status for `reason::status` (0 otherwise).
    long status() const noexcept { return status_; }

private:
    std::string url_;
    reason reason_;
    int curl_code_;
    long status_;
};

}  // namespace http

}  // namespace weft
