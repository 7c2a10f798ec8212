#pragma once
/// \file
/// `weft::net::stream`: a connected TCP socket driven by the event loop (asyncio's
/// `StreamReader` and `StreamWriter` in one object).
///
/// Reads suspend the task until data arrives; `write` never suspends: it sends what the
/// kernel takes and buffers the rest, and `co_await drain()` waits while that buffer is
/// above the high-water mark (until it falls to the low-water mark), so a peer that does not
/// read cannot grow a writer's memory without bound.
///
/// Example:
/// \code
///   auto s = co_await weft::net::open_connection("127.0.0.1", 8899);
///   s.write("hello\n");
///   co_await s.drain();
///   std::string reply = co_await s.readline();
///   s.close();
///   co_await s.wait_closed();
/// \endcode
///
/// *Throws:* I/O errors are `std::system_error` whose message names the operation and the
/// peer ("read from 127.0.0.1:8899: Connection reset by peer").
/// *Cancellation:* every awaitable here is a cancellation point and works under
/// `weft::timeout`/`wait_for`. Bytes already received are never lost: a cancelled
/// `readexactly`/`readline`/`readuntil` leaves them buffered for the next read.
/// *Thread-safety:* a stream belongs to the loop of the task that created it. One task may
/// read while another writes; two concurrent reads (or drains) throw `invalid_state_error`.

#include <weft/detail/task_state.hpp>
#include <weft/event_loop.hpp>
#include <weft/net/address.hpp>
#include <weft/task.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace weft::net {

/// Buffer limits of a stream.
struct stream_limits {
    /// `drain()` waits while more than this many bytes are waiting to be sent...
    std::size_t high_water = 64 * 1024;
    /// ...until the buffer is down to this many.
    std::size_t low_water = 16 * 1024;
    /// The longest line `readline`/`readuntil` accept before `limit_overrun_error`.
    std::size_t line_limit = 64 * 1024;
};

namespace detail {

class stream_impl;

/// One readiness direction of one socket. It stays registered with the loop between waits,
/// so a task that reads (or accepts) in a loop costs no epoll_ctl per read. The readable
/// direction is edge-triggered: every operation tries its call before it waits, so a report
/// is needed only for news, which `drained` remembers when nobody waits. The writable one
/// (connect) is level-triggered and removed when it fires with nobody waiting, else every
/// poll would report it again.
class io_operation;

class fd_watcher final : public weft::detail::io_callback {
public:
    fd_watcher(event_loop* loop, int fd, bool writable) noexcept : loop_(loop), fd_(fd), writable_(writable) {}
    fd_watcher(const fd_watcher&) = delete;
    fd_watcher& operator=(const fd_watcher&) = delete;
    ~fd_watcher() { unregister(); }

    void on_io_ready() override;
    void on_hangup() noexcept override { hung_up_ = true; }
    /// Parks `op` until the fd is ready (registering if needed).
    void wait(io_operation* op);
    /// Forgets `op` if it is the one waiting.
    void forget(io_operation* op) noexcept {
        if (waiter_ == op) waiter_ = nullptr;
    }
    /// Wakes the waiting operation with `error` (used when the socket is closed under it).
    void fail_waiter(int error) noexcept;
    void unregister() noexcept;
    event_loop* loop() const noexcept { return loop_; }
    int fd() const noexcept { return fd_; }
    /// Completions in a row without waiting (the fairness budget, see io_operation).
    unsigned streak = 0;
    /// True when the last read emptied the socket (it returned less than asked for), so the
    /// next read waits for readiness instead of trying a recv() that would only say EAGAIN
    /// (Tokio clears its readiness on a short read the same way). Cleared when the loop
    /// reports the fd ready. Bytes that arrive after the short read are reported at a later
    /// poll, even edge-triggered (their arrival is a new edge), so nothing is missed; a
    /// hang-up that was already reported is not reported again, so after one the socket is
    /// never taken for drained (its end of stream or error is still to be read).
    bool drained() const noexcept { return drained_; }
    void set_drained(bool drained) noexcept { drained_ = drained && !hung_up_; }

private:
    event_loop* loop_;
    int fd_;
    bool writable_;
    bool drained_ = false;
    bool hung_up_ = false;
    bool registered_ = false;
    io_operation* waiter_ = nullptr;
};

/// A socket operation that a task awaits: tried at once, then retried whenever the fd is
/// ready. After 32 immediate completions in a row it yields once, so a busy connection
/// cannot starve the loop; every await checks for cancellation first.
class io_operation : public weft::detail::suspension {
public:
    explicit io_operation(fd_watcher* watcher) noexcept : watcher_(watcher) {}
    io_operation(const io_operation&) = delete;
    io_operation& operator=(const io_operation&) = delete;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h);
    void interrupt(weft::detail::interruption why) override;

    /// Tries the operation; true once it is complete (done, end of stream, or `error` set).
    virtual bool attempt() = 0;
    void ready();                   // the fd is ready: attempt, and resume the task when complete
    void fail(int error) noexcept;  // complete with `error` without attempting
    /// The `error` of an operation on a stream that was closed under it.
    static constexpr int closed = -1;

protected:
    ~io_operation();
    fd_watcher* watcher_;
    int error_ = 0;
};

/// `co_await stream.read(n)`.
class read_operation final : public io_operation {
public:
    /// `from_buffer`: serve bytes already buffered by readline & co. first.
    read_operation(stream_impl* s, std::size_t max_bytes, bool from_buffer = true);
    bool attempt() override;
    std::string await_resume();

private:
    stream_impl* stream_;
    std::size_t max_;
    bool from_buffer_;
    std::string data_;
};

/// `co_await stream.drain()`.
class drain_operation final : public weft::detail::suspension {
public:
    explicit drain_operation(stream_impl* s) noexcept : stream_(s) {}
    drain_operation(const drain_operation&) = delete;
    ~drain_operation();
    bool await_ready() const noexcept;
    bool await_suspend(std::coroutine_handle<> h);
    void interrupt(weft::detail::interruption why) override;
    void await_resume();
    void wake() noexcept { resume_owner(); }
    /// The stream closed under the waiter: wake it without touching the stream again.
    void detach() noexcept {
        stream_ = nullptr;
        resume_owner();
    }

private:
    stream_impl* stream_;
};

/// `co_await stream.wait_closed()`.
class closed_operation final : public weft::detail::suspension {
public:
    explicit closed_operation(stream_impl* s) noexcept : stream_(s) {}
    closed_operation(const closed_operation&) = delete;
    ~closed_operation();
    bool await_ready() const noexcept;
    bool await_suspend(std::coroutine_handle<> h);
    void interrupt(weft::detail::interruption why) override;
    void await_resume() const { throw_if_interrupted(); }
    /// The stream is closed: wake the waiter without touching the stream again.
    void detach() noexcept {
        stream_ = nullptr;
        resume_owner();
    }

private:
    stream_impl* stream_;
};

/// What `read()`, `drain()` and `wait_closed()` return: copyable, so they also work with
/// `weft::wait_for`; each `co_await` makes the operation.
struct read_request {
    stream_impl* stream;
    std::size_t max_bytes;
    read_operation operator co_await() const { return read_operation(stream, max_bytes); }
};
struct drain_request {
    stream_impl* stream;
    drain_operation operator co_await() const { return drain_operation(stream); }
};
struct closed_request {
    stream_impl* stream;
    closed_operation operator co_await() const { return closed_operation(stream); }
};

}  // namespace detail

/// A connected TCP stream (see the file comment). Move-only; destroying an open stream
/// closes it at once and discards unsent data (call `close()` + `wait_closed()` to flush).
///
/// Example: `auto line = co_await s.readline(); s.write(line); co_await s.drain();`
class stream {
public:
    /// An empty stream (no socket).
    stream() noexcept;
    /// Adopts a connected socket `fd` (made non-blocking here) on the running loop.
    /// Throws `invalid_state_error` when no loop runs on this thread.
    explicit stream(int fd, stream_limits limits = {});
    stream(stream&&) noexcept;
    stream& operator=(stream&&) noexcept;
    ~stream();

    /// Reads up to `max_bytes` (at least 1) bytes; returns "" at end of stream.
    /// *Throws:* `std::system_error` on a socket error. *Cancellation:* nothing is consumed.
    /// *Example:* `for (std::string chunk; !(chunk = co_await s.read(1024)).empty();) ...`
    detail::read_request read(std::size_t max_bytes = 64 * 1024);
    /// Reads exactly `n` bytes. *Throws:* `incomplete_read_error` (with the partial bytes)
    /// when the stream ends first. *Example:* `auto header = co_await s.readexactly(4);`
    task<std::string> readexactly(std::size_t n);
    /// Reads one line including its '\n'; at end of stream returns what is left (maybe "").
    /// *Throws:* `limit_overrun_error` past `line_limit`. *Example:* `auto l = co_await s.readline();`
    task<std::string> readline();
    /// Reads up to and including `separator`. *Throws:* `incomplete_read_error` when the
    /// stream ends first, `limit_overrun_error` past `line_limit`.
    /// *Example:* `auto head = co_await s.readuntil("\r\n\r\n");`
    task<std::string> readuntil(std::string separator);
    /// True once the peer closed its side and every received byte was consumed.
    bool at_eof() const noexcept;

    /// Sends `data`, buffering what the kernel does not take now; never suspends.
    /// *Throws:* `std::system_error` if the connection already failed, `invalid_state_error`
    /// after `close()`. *Example:* `s.write("PING\r\n");`
    void write(std::string_view data);
    /// Sends `parts` one after another, as one gather write (`sendmsg` with an iovec per
    /// part) instead of joining them first, buffering what the kernel does not take now;
    /// never suspends (asyncio's `writelines`). Useful for a header and a body kept apart.
    /// *Throws:* as `write`.
    /// *Example:*
    /// `std::array<std::string_view, 2> parts{head, body}; s.writelines(parts); co_await s.drain();`
    void writelines(std::span<const std::string_view> parts);
    /// Waits until the write buffer is at or below the low-water mark, if it went above the
    /// high-water mark. *Throws:* `std::system_error` if sending failed.
    /// *Example:* `s.write(big); co_await s.drain();`
    detail::drain_request drain();
    /// Bytes buffered and not yet sent.
    std::size_t write_buffer_size() const noexcept;
    /// Closes the sending side once the buffer is flushed (the peer reads end of stream).
    void write_eof();

    /// Flushes what is buffered, then closes the socket; returns at once. Idempotent.
    void close();
    /// Waits until the socket is really closed (buffer flushed or the connection failed).
    detail::closed_request wait_closed();
    /// Closes at once, discarding unsent data; pending reads fail.
    void abort() noexcept;
    /// True after `close()`/`abort()`.
    bool is_closing() const noexcept;

    /// The peer's address (e.g. "127.0.0.1:52431").
    const socket_address& peer_address() const;
    /// This end's address.
    const socket_address& local_address() const;
    /// The socket descriptor (-1 once closed).
    int native_handle() const noexcept;
    /// True if this object holds a stream.
    explicit operator bool() const noexcept { return impl_ != nullptr; }

private:
    detail::stream_impl& impl() const;
    std::unique_ptr<detail::stream_impl> impl_;
};

/// Connects to `host:port` (a name or numeric IPv4/IPv6 address), trying each resolved
/// address in turn (asyncio's `open_connection`).
///
/// *Throws:* `std::system_error` naming the address ("connect to 127.0.0.1:1: Connection
/// refused"), or the resolution error. *Cancellation:* cancellable at any point (the
/// half-open socket is closed); use `weft::wait_for` for a connect timeout.
/// *Thread-safety:* call from a task; the stream belongs to that task's loop.
/// *Example:* `auto s = co_await weft::net::open_connection("localhost", 8899);`
task<stream> open_connection(std::string host, std::uint16_t port, stream_limits limits = {});

}  // namespace weft::net
