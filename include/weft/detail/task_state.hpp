#pragma once
// Internal: the state behind a spawned task (asyncio's Task object) and the base class of
// every awaitable that suspends a task (a "suspension": sleep, lock, queue get, I/O, ...).
//
// A spawned task runs a chain of task<T> frames; only the innermost awaitable really
// suspends. It registers itself as the task's `waiting_on` suspension, so that cancel()
// and deadlines can reach it: interrupt() detaches it from whatever it waits for and
// resumes the task, whose await_resume then throws cancelled_error or timeout_error.

#include <weft/detail/intrusive_list.hpp>
#include <weft/detail/ready_queue.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace weft {
class event_loop;
}

namespace weft::detail {

class task_state_base;

/// Why a suspended task is being woken early.
enum class interruption : std::uint8_t { none, cancelled, timed_out };

/// Throws the exception that matches an interruption (nothing for `none`).
void throw_interruption(interruption why);

/// The running task on this thread (set by the loop around each step).
inline thread_local task_state_base* running_task = nullptr;

/// An awaitable that suspends the running task. Derived classes implement interrupt().
class suspension {
public:
    /// The owner was cancelled or its deadline passed while suspended here: detach from the
    /// wait source, set `interrupted`, and call resume_owner() (now, or once detached).
    virtual void interrupt(interruption why) = 0;

protected:
    ~suspension() = default;

    /// Call from await_suspend. Returns false (do not suspend; await_resume will throw) if the
    /// running task already has a cancellation or an expired deadline pending.
    /// Throws invalid_state_error when there is no running task.
    bool suspend_owner(std::coroutine_handle<> h);
    /// Schedules the owner to continue at the suspended coroutine.
    void resume_owner() noexcept;
    /// Call first in await_resume.
    void throw_if_interrupted() const {
        if (interrupted != interruption::none) throw_interruption(interrupted);
    }

    task_state_base* owner = nullptr;
    std::coroutine_handle<> awaiting;
    interruption interrupted = interruption::none;
};

/// Gets told when a task finishes (awaiters of a task, gather, wait, user callbacks).
class done_listener : public list_hook {
public:
    virtual void on_task_done(task_state_base& task) = 0;

protected:
    ~done_listener() = default;
};

/// A timeout scope, as seen by the task it belongs to (innermost first).
struct deadline_link {
    deadline_link* outer = nullptr;
    bool expired = false;
};

class task_state_base : public runnable, public list_hook {
public:
    enum class status : std::uint8_t { pending, finished, cancelled };

    task_state_base(event_loop& loop, std::coroutine_handle<> frame, std::string&& name);
    task_state_base(const task_state_base&) = delete;
    task_state_base& operator=(const task_state_base&) = delete;

    // Task states come and go with every spawn: they reuse freed blocks (see block_cache).
    static void* operator new(std::size_t size) { return block_cache::allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept { block_cache::deallocate(p, size); }

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) delete this;
    }

    // Called by the loop: runs one step of the task.
    void run() override;
    void discard() noexcept override {}
    std::string describe() const override;

    bool done() const noexcept { return status_ != status::pending; }
    bool cancelled() const noexcept { return status_ == status::cancelled; }
    /// Finished with an exception (other than cancellation).
    bool failed() const noexcept { return status_ == status::finished && error_ != nullptr; }

    /// Requests cancellation; false if already done (asyncio's Task.cancel).
    bool cancel() noexcept;
    int cancelling() const noexcept { return cancel_requests_; }
    /// Withdraws one request; withdrawing the last one also drops a cancel not yet delivered.
    int uncancel() noexcept {
        if (cancel_requests_ > 0 && --cancel_requests_ == 0) must_cancel_ = false;
        return cancel_requests_;
    }
    /// Deadline scope expired: wake the task if it is suspended.
    void deadline_expired() noexcept;

    /// The exception the task ended with (nullptr if it returned); marks it retrieved.
    std::exception_ptr take_error() noexcept {
        retrieved_ = true;
        return error_;
    }
    /// Throws cancelled_error if cancelled, invalid_state_error if pending, else rethrows the
    /// task's own exception if any; marks it retrieved.
    void rethrow_if_failed();
    void mark_retrieved() noexcept { retrieved_ = true; }

    const std::string& name();
    void set_name(std::string name) { name_ = std::move(name); }
    std::uint64_t id() const noexcept { return id_; }
    event_loop* loop() const noexcept { return loop_; }

    void add_listener(done_listener* l) noexcept { listeners_.push_back(l); }
    /// Runs `fn` through call_soon once the task is done.
    void add_done_callback(std::function<void()> fn) { callbacks_.push_back(std::move(fn)); }
    static void remove_listener(done_listener* l) noexcept { intrusive_list<done_listener>::unlink(l); }

    // Used by suspensions and deadline scopes.
    interruption take_pending_interruption() noexcept;
    void set_waiting_on(suspension* s) noexcept { waiting_on_ = s; }
    void resume_at(std::coroutine_handle<> h) noexcept;
    deadline_link* deadlines = nullptr;

    /// The loop closed with this task unfinished: destroy its frame, mark it cancelled.
    void abandon() noexcept;

protected:
    virtual ~task_state_base();
    // The exception stored in the frame's promise, if any.
    virtual std::exception_ptr frame_exception() const noexcept = 0;
    virtual void destroy_frame() noexcept = 0;

private:
    void finish() noexcept;

    event_loop* loop_;
    std::coroutine_handle<> frame_;
    std::coroutine_handle<> resume_point_;
    suspension* waiting_on_ = nullptr;
    intrusive_list<done_listener> listeners_;
    std::vector<std::function<void()>> callbacks_;
    std::exception_ptr error_;
    std::string name_;
    std::uint64_t id_;
    std::uint32_t refs_ = 1;  // the loop's reference, dropped when the task finishes
    int cancel_requests_ = 0;
    status status_ = status::pending;
    bool started_ = false;
    bool must_cancel_ = false;
    bool cancel_in_flight_ = false;  // an interrupt(cancelled) awaits delivery at the next step
    bool retrieved_ = false;
};

/// The state of a spawned task<T>; owns the coroutine frame (and so the result).
template <class T>
class task_state final : public task_state_base {
public:
    task_state(event_loop& loop, task<T>&& t, std::string&& name)
        : task_state_base(loop, t.handle(), std::move(name)), coro_(std::move(t)) {}

    auto& promise() noexcept { return coro_.handle().promise(); }

private:
    ~task_state() override = default;
    std::exception_ptr frame_exception() const noexcept override {
        return coro_.valid() ? coro_.handle().promise().exception() : nullptr;
    }
    void destroy_frame() noexcept override { coro_ = task<T>{}; }

    task<T> coro_;
};

}  // namespace weft::detail
