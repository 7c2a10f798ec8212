#pragma once
/// \file
/// `weft::event_loop`: one per thread; runs tasks and callbacks, timers and I/O readiness.
///
/// Each iteration polls the reactor (epoll), fires the timers whose deadline passed, then runs
/// the items that were ready when the iteration began, in FIFO order (asyncio's `_run_once`).
/// Most programs never touch the loop: `weft::run(main_task())` makes one, runs the task,
/// and closes it. The tutorial's old-style API works too.
///
/// Example:
/// \code
///   weft::event_loop loop;
///   std::vector<weft::task<>> tasks;
///   for (int i = 0; i < 5; ++i) tasks.push_back(hello(i));
///   loop.run_until_complete(weft::wait(std::move(tasks)));
///   loop.close();
/// \endcode
///
/// *Thread-safety:* a loop and everything scheduled on it belong to the thread that runs it;
/// the only members callable from any thread are `call_soon_threadsafe` and `stop_threadsafe`.

#include <weft/detail/intrusive_list.hpp>
#include <weft/detail/ready_queue.hpp>
#include <weft/detail/timer_heap.hpp>
#include <weft/task.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace weft {

class event_loop;
class any_task;
template <class T>
class task_handle;

namespace detail {
class task_state_base;
class reactor;

/// Something that waits for a file descriptor to become readable or writable.
class io_callback {
public:
    virtual void on_io_ready() = 0;
    /// Called just before on_io_ready() for a reader whose fd reported a hang-up or an
    /// error: from then on, a read never waits (it returns end of stream or the error).
    virtual void on_hangup() noexcept {}

protected:
    ~io_callback() = default;
};

/// A callback scheduled with call_soon / call_later; shared with the handle that can cancel it.
class scheduled_callback final : public runnable, public timer_node {
public:
    scheduled_callback(event_loop* loop, std::function<void()> fn) : loop(loop), fn(std::move(fn)) {}
    void run() override;
    void fire() override;
    void discard() noexcept override { keep_alive.reset(); }

    event_loop* loop;
    std::function<void()> fn;
    std::shared_ptr<scheduled_callback> keep_alive;  // set while the loop holds it
    bool cancelled = false;
};
}  // namespace detail

/// A call scheduled with `call_soon`, `call_later` or `call_at`; cancel it before it runs.
///
/// Example: `auto h = loop.call_later(1s, [] { std::puts("tick"); }); h.cancel();`
class callback_handle {
public:
    callback_handle() = default;
    explicit callback_handle(std::shared_ptr<detail::scheduled_callback> cb) : cb_(std::move(cb)) {}
    /// Prevents the callback from running; harmless if it already ran.
    void cancel() noexcept;
    /// True if cancel() was called.
    bool cancelled() const noexcept { return cb_ && cb_->cancelled; }
    /// When a timer callback is due, on the loop's clock.
    std::chrono::steady_clock::time_point when() const noexcept { return cb_ ? cb_->deadline : std::chrono::steady_clock::time_point{}; }

private:
    std::shared_ptr<detail::scheduled_callback> cb_;
};

/// Settings for a new loop.
struct loop_options {
    /// Time advances instantly to the next timer when nothing else is ready (for tests:
    /// timeouts and retries without sleeping). I/O is still polled, without blocking.
    bool virtual_time = false;
    /// Warn when one step of a task or callback runs longer than `slow_callback_duration`.
    /// Also turned on by the environment variable `WEFT_DEBUG=1`.
    bool debug = false;
};

/// The event loop. See the file comment for an overview.
class event_loop {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    using duration = clock::duration;

    /// Life-cycle states; errors about misuse name the state the loop was in.
    enum class state : std::uint8_t { idle, running, stopping, closed };

    explicit event_loop(loop_options options = {});
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;
    /// Closes the loop if `close()` was not called.
    ~event_loop();

    /// The loop running on this thread, or nullptr.
    /// Example: `if (auto* loop = weft::event_loop::current()) loop->call_soon(fn);`
    static event_loop* current() noexcept;

    /// Spawns `t` on this loop and runs the loop until it is done; returns its result or
    /// rethrows its exception. Throws `invalid_state_error` if the loop is running or closed.
    /// Example: `int x = loop.run_until_complete(compute());`
    template <class T>
    T run_until_complete(task<T> t);
    /// Runs the loop until an already spawned task is done; returns its result.
    template <class T>
    T run_until_complete(const task_handle<T>& handle);

    /// Runs until `stop()` is called. Example: `loop.call_later(1s, [&] { loop.stop(); }); loop.run_forever();`
    void run_forever();
    /// Makes `run_forever` return after the current iteration.
    void stop() noexcept;
    /// Like `stop()`, from any thread.
    void stop_threadsafe();
    /// Destroys what is left (pending tasks are destroyed with a warning) and releases the
    /// loop's file descriptors. Throws `invalid_state_error` while running. Idempotent.
    void close();
    /// The current life-cycle state.
    state current_state() const noexcept { return state_; }
    bool is_running() const noexcept { return state_ == state::running || state_ == state::stopping; }
    bool is_closed() const noexcept { return state_ == state::closed; }

    /// Wraps a coroutine into a task scheduled on this loop (asyncio's `loop.create_task`).
    /// The loop owns the task until it finishes: dropping the handle never destroys it.
    /// Example: `auto h = loop.create_task(work(1), "worker-1");`
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name = {});

    /// Runs `fn` on a later iteration, after what is already ready (FIFO).
    callback_handle call_soon(std::function<void()> fn);
    /// Runs `fn` once `delay` has passed.
    callback_handle call_later(duration delay, std::function<void()> fn);
    /// Runs `fn` at `when` on the loop's clock (`time()`).
    callback_handle call_at(time_point when, std::function<void()> fn);
    /// Runs `fn` on the loop's thread; callable from any thread; wakes the loop.
    /// Example: `std::jthread t([&] { loop.call_soon_threadsafe([] { std::puts("hi"); }); });`
    void call_soon_threadsafe(std::function<void()> fn);

    /// The loop's monotonic clock (virtual in a virtual-time loop).
    time_point time() const noexcept { return now_; }

    /// Calls `fn` whenever `fd` is readable, until `remove_reader(fd)` (asyncio's `add_reader`).
    void add_reader(int fd, std::function<void()> fn);
    /// Stops watching `fd` for reading; returns false if it was not watched.
    bool remove_reader(int fd);
    /// Calls `fn` whenever `fd` is writable, until `remove_writer(fd)`.
    void add_writer(int fd, std::function<void()> fn);
    /// Stops watching `fd` for writing; returns false if it was not watched.
    bool remove_writer(int fd);

    /// Runs `fn` on the loop when signal `signal_number` arrives. Delivery goes through a
    /// self-pipe: nothing but a write() happens inside the real handler.
    /// Example: `loop.add_signal_handler(SIGTERM, [&] { server.close(); });`
    void add_signal_handler(int signal_number, std::function<void()> fn);
    /// Restores the default action for the signal; returns false if none was installed.
    bool remove_signal_handler(int signal_number);

    /// Turns the slow-step warning on or off (see `loop_options::debug`).
    void set_debug(bool enabled) noexcept { debug_ = enabled; }
    bool get_debug() const noexcept { return debug_; }
    /// Threshold for the slow-step warning (default 100 ms).
    duration slow_callback_duration = std::chrono::milliseconds(100);

    /// Runs `fn(args...)` on `executor` (a `weft::thread_pool_executor`, or the process pool)
    /// and returns its future, which a task can `co_await` without blocking this loop.
    /// Example: `auto digest = co_await loop.run_in_executor(pool, sha256, data);`
    template <class Executor, class Fn, class... Args>
    auto run_in_executor(Executor& executor, Fn&& fn, Args&&... args) {
        return executor.submit(std::forward<Fn>(fn), std::forward<Args>(args)...);
    }

    /// Every task of this loop that is not done yet (asyncio's `all_tasks`).
    std::vector<any_task> all_tasks() const;

    // ---- runtime internals (used by weft's own awaitables) ---------------------------------
    void schedule(detail::runnable* item) noexcept { ready_.push(item); }
    void arm(detail::timer_node* node, time_point deadline) {
        node->deadline = deadline;
        timers_.push(node);
    }
    void disarm(detail::timer_node* node) noexcept { timers_.erase(node); }
    /// `edge_triggered`: report `fd` only when it becomes readable (see reactor.hpp); the
    /// callback's owner then reads until a short read or EAGAIN before it waits again. epoll's
    /// flag is per fd, so a writer of the same fd is reported edge-triggered too (a stream's
    /// writer sends until EAGAIN, so that is all it needs).
    void watch_readable(int fd, detail::io_callback* cb, bool edge_triggered = false);
    void unwatch_readable(int fd) noexcept;
    void watch_writable(int fd, detail::io_callback* cb);
    void unwatch_writable(int fd) noexcept;
    void register_task(detail::task_state_base* t) noexcept;
    void unregister_task(detail::task_state_base* t) noexcept;
    std::uint64_t next_task_id() noexcept { return ++task_counter_; }

private:
    struct fd_watch {
        detail::io_callback* reader = nullptr;
        detail::io_callback* writer = nullptr;
        std::uint32_t registered = 0;
        bool edge = false;  // the reader asked for edge-triggered reports
        std::uint32_t interest() const noexcept;  // what reader, writer and edge ask of the reactor
    };
    class function_io_callback;
    class wakeup_reader;
    class signal_reader;

    void run_once();
    void run_ready_batch();
    void update_interest(int fd);
    void drain_threadsafe_queue();
    void dispatch_signal(int signal_number);
    void throw_if_cannot_run(const char* what) const;

    state state_ = state::idle;
    bool virtual_time_ = false;
    bool debug_ = false;
    time_point now_;
    detail::ready_queue ready_;
    detail::timer_heap timers_;
    std::unique_ptr<detail::reactor> reactor_;
    std::vector<fd_watch> fds_;
    std::map<int, std::unique_ptr<function_io_callback>> reader_fns_, writer_fns_;
    std::unique_ptr<wakeup_reader> wakeup_;
    std::unique_ptr<signal_reader> signals_;
    std::map<int, std::function<void()>> signal_handlers_;
    std::mutex threadsafe_mutex_;
    std::vector<std::function<void()>> threadsafe_calls_;
    bool closed_for_threadsafe_ = false;  // the closed state as other threads see it (under the mutex)
    std::atomic<bool> stop_requested_{false};
    detail::intrusive_list<detail::task_state_base> tasks_;
    std::uint64_t task_counter_ = 0;
    static constexpr int busy_poll_interval = 61;
    int busy_iterations_ = 0;
};

}  // namespace weft

#include <weft/task_handle.hpp>
