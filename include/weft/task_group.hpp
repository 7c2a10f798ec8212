#pragma once
/// \file
/// `weft::task_group`: structured concurrency (asyncio's `TaskGroup`).
///
/// Children are spawned with `create_task`; `co_await group.join()` waits for all of them
/// (including children spawned while joining). When a child fails, the group cancels its
/// siblings and refuses new children; `join()` then throws a `weft::exception_group` holding
/// every child error, in the order they happened. A group destroyed without being joined
/// (an exception left the scope) cancels its children; their errors are then logged as never
/// retrieved rather than lost.
///
/// Example:
/// \code
///   weft::task_group group;
///   for (auto& url : urls) group.create_task(fetch(url));
///   co_await group.join();    // throws weft::exception_group if any fetch failed
/// \endcode
///
/// *Cancellation:* cancelling the task in `join()` cancels the children, waits for them, and
/// rethrows the cancellation (or throws the exception_group if children had failed).
/// *Thread-safety:* loop-local, like tasks.

#include <weft/detail/children_waiter.hpp>
#include <weft/detail/task_state.hpp>
#include <weft/errors.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include <exception>
#include <list>
#include <string>
#include <vector>

namespace weft {

namespace detail {
// Logs child errors of a group destroyed without join() (so none is lost silently).
void log_unjoined_errors(const std::vector<std::exception_ptr>& errors) noexcept;
}  // namespace detail

class task_group {
public:
    /// Life-cycle states; errors about misuse name the state.
    enum class state { open, joining, aborting, joined };

    task_group() = default;
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    ~task_group() {
        if (state_ != state::joined && !errors_.empty()) detail::log_unjoined_errors(errors_);
        for (auto& c : children_) {
            detail::task_state_base::remove_listener(&c.listener);
            c.handle.cancel();
        }
    }

    /// Spawns `t` as a child of the group. Throws `invalid_state_error` once the group is
    /// aborting (a child failed) or joined.
    template <class T>
    task_handle<T> create_task(task<T> t, std::string name = {}) {
        if (state_ == state::aborting || state_ == state::joined) {
            throw invalid_state_error(std::string("task_group::create_task() on a group that is ") + state_name());
        }
        // Finished children are dropped now and then (as asyncio's TaskGroup discards them), so
        // a long-lived group that spawns a task per item holds the running ones, not every one.
        // Not while joining: join's waiter points at the children it waits for.
        if (state_ == state::open && children_.size() >= 2 * running_ + 64) forget_finished();
        auto handle = weft::create_task(std::move(t), std::move(name));
        auto& child = children_.emplace_back(this, handle);
        handle.state_ptr()->add_listener(&child.listener);
        ++running_;
        return handle;
    }

    /// Awaitable: waits for every child; throws `exception_group` if any failed.
    task<> join() {
        if (state_ == state::joined) throw invalid_state_error("task_group::join() on a group that is joined");
        if (state_ == state::open) state_ = state::joining;
        std::exception_ptr cancellation;
        while (running_ > 0) {
            std::vector<detail::task_state_base*> pending;
            for (auto& c : children_) {
                if (!c.handle.done()) pending.push_back(c.handle.state_ptr());
            }
            try {
                co_await detail::children_waiter(pending, detail::children_waiter::until::all_done,
                                                 detail::children_waiter::on_interrupt::cancel_and_wait);
            } catch (...) {
                cancellation = std::current_exception();
                abort();
            }
        }
        state_ = state::joined;
        if (!errors_.empty()) {
            std::string what = std::to_string(errors_.size()) + " child task(s) failed; first: " + describe(errors_.front());
            throw exception_group(what, std::move(errors_));
        }
        if (cancellation) std::rethrow_exception(cancellation);
    }

    /// Cancels every running child (the group can still be joined).
    void cancel() {
        for (auto& c : children_) c.handle.cancel();
    }

    /// The current life-cycle state.
    state current_state() const noexcept { return state_; }
    const char* state_name() const noexcept {
        switch (state_) {
            case state::open: return "open";
            case state::joining: return "joining";
            case state::aborting: return "aborting";
            case state::joined: return "joined";
        }
        return "?";
    }

private:
    struct child;
    struct child_listener final : detail::done_listener {
        explicit child_listener(task_group* group) : group(group) {}
        void on_task_done(detail::task_state_base& t) override { group->child_done(t); }
        task_group* group;
    };
    struct child {
        child(task_group* group, any_task h) : listener(group), handle(std::move(h)) {}
        child_listener listener;
        any_task handle;
    };

    void child_done(detail::task_state_base& t) {
        --running_;
        if (t.failed()) {
            errors_.push_back(t.take_error());
            abort();
        } else if (t.cancelled()) {
            t.mark_retrieved();
        }
    }
    // Their outcome is accounted for already (child_done ran when each finished).
    void forget_finished() noexcept {
        for (auto it = children_.begin(); it != children_.end();) {
            if (it->handle.done()) {
                detail::task_state_base::remove_listener(&it->listener);
                it = children_.erase(it);
            } else {
                ++it;
            }
        }
    }
    void abort() {
        if (state_ == state::aborting) return;
        state_ = state::aborting;
        cancel();
    }

    std::list<child> children_;  // stable addresses: listeners are linked into the children
    std::vector<std::exception_ptr> errors_;
    std::size_t running_ = 0;
    state state_ = state::open;
};

}  // namespace weft
