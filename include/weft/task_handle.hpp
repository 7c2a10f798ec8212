#pragma once
/// \file
/// Spawned tasks: `weft::create_task` and the handles it returns (asyncio's `Task`).
///
/// A spawned task starts on the loop's next iteration and runs concurrently with its creator.
/// The loop owns it until it finishes, so dropping the handle never destroys a running task.
/// If a task ends with an exception that nobody retrieves (through `co_await`, `result()`,
/// `exception()`, gather, wait or a task group), it is logged when the task is destroyed:
/// "Task exception was never retrieved".
///
/// Example:
/// \code
///   auto h = weft::create_task(work(1, 100ms));
///   h.add_done_callback([](weft::task_handle<int> t) { std::println("{}", t.result()); });
///   int x = co_await h;
/// \endcode
///
/// *Cancellation:* `cancel()` makes the task's current (or next) suspension point throw
/// `weft::cancelled_error`; awaiting a cancelled task throws it too. Cancelling a task that
/// awaits another spawned task cancels that one as well (use `weft::shield` to prevent it).
/// *Thread-safety:* handles belong to their loop's thread.

#include <weft/detail/task_state.hpp>
#include <weft/errors.hpp>
#include <weft/event_loop.hpp>
#include <weft/task.hpp>

#include <compare>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

namespace weft {

/// A handle to a spawned task of any result type (what `current_task()` and `all_tasks()` give).
///
/// Example: `for (auto& t : loop.all_tasks()) std::puts(t.name().c_str());`
class any_task {
public:
    any_task() noexcept = default;
    explicit any_task(detail::task_state_base* state) noexcept : state_(state) {
        if (state_) state_->add_ref();
    }
    any_task(const any_task& other) noexcept : any_task(other.state_) {}
    any_task(any_task&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    any_task& operator=(any_task other) noexcept {
        std::swap(state_, other.state_);
        return *this;
    }
    ~any_task() {
        if (state_) state_->release();
    }

    /// True if this handle refers to a task.
    explicit operator bool() const noexcept { return state_ != nullptr; }
    /// True once the task returned, failed or was cancelled.
    bool done() const { return state().done(); }
    /// True if the task ended cancelled.
    bool cancelled() const { return state().cancelled(); }
    /// Requests cancellation (see the file comment); false if the task is already done.
    bool cancel() const { return state().cancel(); }
    /// How many cancellation requests are pending (asyncio's `Task.cancelling`).
    int cancelling() const { return state().cancelling(); }
    /// Withdraws one cancellation request; returns the remaining count.
    int uncancel() const { return state().uncancel(); }
    /// The exception the task ended with, or nullptr if it returned normally.
    /// Throws `invalid_state_error` if pending, `cancelled_error` if cancelled.
    std::exception_ptr exception() const;
    /// The task's name ("Task-N" unless given one).
    const std::string& name() const { return state().name(); }
    void set_name(std::string name) const { state().set_name(std::move(name)); }
    /// The loop the task runs on.
    event_loop& get_loop() const { return *state().loop(); }
    /// Calls `fn(handle)` on the loop once the task is done (scheduled at once if already done).
    void add_done_callback(std::function<void(any_task)> fn) const;

    friend bool operator==(const any_task& a, const any_task& b) noexcept { return a.state_ == b.state_; }
    friend auto operator<=>(const any_task& a, const any_task& b) noexcept {
        return std::compare_three_way{}(a.state_, b.state_);
    }

    detail::task_state_base* state_ptr() const noexcept { return state_; }

protected:
    detail::task_state_base& state() const {
        if (!state_) throw invalid_state_error("empty task handle");
        return *state_;
    }
    detail::task_state_base* state_ = nullptr;
};

namespace detail {

// Awaits a spawned task (the leaf suspension of `co_await handle`).
template <class T, bool Move, bool Shield>
class handle_awaiter final : public suspension, public done_listener {
public:
    explicit handle_awaiter(task_state<T>* target) : target_(target) {}
    handle_awaiter(const handle_awaiter&) = delete;
    ~handle_awaiter() { task_state_base::remove_listener(this); }

    bool await_ready() const noexcept { return target_->done(); }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;
        target_->add_listener(this);
        return true;
    }
    void on_task_done(task_state_base&) override { resume_owner(); }
    void interrupt(interruption why) override {
        interrupted = why;
        if (!Shield && target_->cancel()) return;  // wake when the target ends
        task_state_base::remove_listener(this);
        resume_owner();
    }
    T await_resume() {
        if (!target_->done()) throw_if_interrupted();
        if (interrupted == interruption::timed_out && target_->cancelled()) {
            target_->mark_retrieved();
            throw_interruption(interrupted);
        }
        target_->rethrow_if_failed();
        if constexpr (!std::is_void_v<T>) {
            auto& value = std::get<1>(target_->promise().outcome);
            if constexpr (Move) return std::move(value);
            else return value;
        }
    }

private:
    task_state<T>* target_;
};

}  // namespace detail

/// The handle of a spawned `task<T>`: everything `any_task` has, plus the typed result.
///
/// Example: `auto h = weft::create_task(add(1, 2)); int three = co_await h;`
template <class T>
class task_handle : public any_task {
public:
    task_handle() noexcept = default;
    explicit task_handle(detail::task_state<T>* state) noexcept : any_task(state) {}

    /// The task's return value (a copy), or rethrows its exception.
    /// Throws `invalid_state_error` if still pending, `cancelled_error` if cancelled.
    std::add_lvalue_reference_t<const T> result() const {
        typed().rethrow_if_failed();
        if constexpr (!std::is_void_v<T>) return std::get<1>(typed().promise().outcome);
    }

    /// Calls `fn(handle)` on the loop once the task is done (scheduled at once if already done).
    void add_done_callback(std::function<void(task_handle<T>)> fn) const {
        any_task::add_done_callback([fn = std::move(fn)](any_task t) {
            fn(task_handle<T>(static_cast<detail::task_state<T>*>(t.state_ptr())));
        });
    }

    /// Waits for the task without blocking the loop; yields a copy of its result.
    auto operator co_await() const& { return detail::handle_awaiter<T, false, false>(&typed()); }
    /// Waits for the task; moves its result out (for move-only results).
    auto operator co_await() && { return detail::handle_awaiter<T, true, false>(&typed()); }

    detail::task_state<T>& typed() const { return static_cast<detail::task_state<T>&>(state()); }
};

/// Spawns `t` on the running loop (asyncio's `create_task`).
/// Throws `invalid_state_error` when no loop is running on this thread.
/// Example: `auto h = weft::create_task(download(url), "download");`
template <class T>
task_handle<T> create_task(task<T> t, std::string name = {}) {
    event_loop* loop = event_loop::current();
    if (!loop) throw invalid_state_error("create_task() called with no running event loop");
    return loop->create_task(std::move(t), std::move(name));
}

/// The handle of the task running now, or an empty handle outside any task.
/// Example: `spdlog::info("in {}", weft::current_task().name());`
any_task current_task();

/// Every unfinished task of the running loop (empty when no loop runs).
std::vector<any_task> all_tasks();

template <class T>
task_handle<T> event_loop::create_task(task<T> t, std::string name) {
    if (state_ == state::closed) throw invalid_state_error("create_task() on a closed event loop");
    if (!t.valid()) throw invalid_state_error("create_task() given an empty task");
    auto* state = new detail::task_state<T>(*this, std::move(t), std::move(name));
    return task_handle<T>(state);  // the loop keeps the state's first reference
}

template <class T>
T event_loop::run_until_complete(const task_handle<T>& handle) {
    throw_if_cannot_run("run_until_complete");
    handle.add_done_callback([this](task_handle<T>) { stop(); });
    run_forever();
    if (!handle.done()) throw invalid_state_error("event loop stopped before the task completed");
    if constexpr (std::is_void_v<T>) handle.result();
    else return handle.result();
}

template <class T>
T event_loop::run_until_complete(task<T> t) {
    throw_if_cannot_run("run_until_complete");
    auto handle = create_task(std::move(t));
    if constexpr (std::is_void_v<T>) {
        run_until_complete(handle);
    } else {
        run_until_complete(handle);
        return std::move(std::get<1>(handle.typed().promise().outcome));
    }
}

}  // namespace weft
