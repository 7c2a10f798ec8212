#pragma once
/// \file
/// `weft::as_completed` for tasks: take results in the order they finish (asyncio's `as_completed`).
///
/// Example:
/// \code
///   auto finished = weft::as_completed(std::move(downloads), 30s);
///   while (finished.remaining() > 0) {
///       auto t = co_await finished.next();     // the next task to finish
///       report(t.result());
///   }
/// \endcode
///
/// *Throws:* `next()` throws `timeout_error` once the overall timeout passes with tasks still
/// running (they are not cancelled), and `invalid_state_error` when none remain.
/// *Cancellation:* cancelling the waiting task interrupts `next()`; the tasks keep running.

#include <weft/detail/awaitables.hpp>
#include <weft/detail/task_state.hpp>
#include <weft/detail/timer_heap.hpp>
#include <weft/event_loop.hpp>
#include <weft/task_handle.hpp>

#include <chrono>
#include <deque>
#include <optional>
#include <vector>

namespace weft {

/// The iterator `as_completed` returns; neither copyable nor movable (keep it where it is made).
template <class T>
class completion_order {
public:
    completion_order(std::vector<task_handle<T>> handles, std::optional<event_loop::time_point> deadline)
        : handles_(std::move(handles)), deadline_(deadline) {
        listeners_.reserve(handles_.size());
        for (std::size_t i = 0; i < handles_.size(); ++i) listeners_.emplace_back(this, i);
        for (auto& l : listeners_) {
            auto* state = handles_[l.index].state_ptr();
            if (state->done()) finished_.push_back(l.index);
            else state->add_listener(&l);
        }
    }
    completion_order(const completion_order&) = delete;
    completion_order& operator=(const completion_order&) = delete;
    ~completion_order() {
        for (auto& l : listeners_) detail::task_state_base::remove_listener(&l);
    }

    /// How many tasks `next()` has not returned yet.
    std::size_t remaining() const noexcept { return handles_.size() - returned_; }

    class next_awaiter final : public detail::suspension, public detail::timer_node {
    public:
        explicit next_awaiter(completion_order& parent) : parent_(parent) {}
        next_awaiter(const next_awaiter&) = delete;
        ~next_awaiter() { detach(); }
        bool await_ready() const {
            if (parent_.remaining() == 0) throw invalid_state_error("as_completed: no tasks remain");
            return !parent_.finished_.empty();
        }
        bool await_suspend(std::coroutine_handle<> h) {
            if (!suspend_owner(h)) return false;
            parent_.waiter_ = this;
            if (parent_.deadline_) owner->loop()->arm(this, *parent_.deadline_);
            return true;
        }
        task_handle<T> await_resume() {
            throw_if_interrupted();
            if (parent_.finished_.empty()) throw timeout_error("as_completed: timed out with tasks still running");
            std::size_t i = parent_.finished_.front();
            parent_.finished_.pop_front();
            ++parent_.returned_;
            return parent_.handles_[i];
        }
        void interrupt(detail::interruption why) override {
            interrupted = why;
            wake();
        }
        void fire() override { wake(); }
        void wake() noexcept {
            detach();
            resume_owner();
        }

    private:
        void detach() noexcept {
            if (parent_.waiter_ == this) parent_.waiter_ = nullptr;
            if (armed()) owner->loop()->disarm(this);
        }
        completion_order& parent_;
    };

    /// Awaitable: the next task to finish (see the file comment).
    next_awaiter next() { return next_awaiter(*this); }

private:
    struct listener final : detail::done_listener {
        listener(completion_order* parent, std::size_t index) : parent(parent), index(index) {}
        void on_task_done(detail::task_state_base&) override {
            parent->finished_.push_back(index);
            if (parent->waiter_) parent->waiter_->wake();
        }
        completion_order* parent;
        std::size_t index;
    };

    std::vector<task_handle<T>> handles_;
    std::vector<listener> listeners_;
    std::deque<std::size_t> finished_;
    std::size_t returned_ = 0;
    std::optional<event_loop::time_point> deadline_;
    next_awaiter* waiter_ = nullptr;
};

/// Yields the tasks (or handles) in `awaitables` as they finish (see the file comment).
template <detail::spawnable X>
completion_order<detail::spawned_result_t<X>> as_completed(std::vector<X> awaitables) {
    return {detail::to_handles(std::move(awaitables)), std::nullopt};
}

/// Like `as_completed(awaitables)`, with an overall timeout for all of them.
template <detail::spawnable X, class Rep, class Period>
completion_order<detail::spawned_result_t<X>> as_completed(std::vector<X> awaitables,
                                                           std::chrono::duration<Rep, Period> timeout) {
    auto* loop = event_loop::current();
    if (!loop) throw invalid_state_error("as_completed() called with no running event loop");
    return {detail::to_handles(std::move(awaitables)),
            loop->time() + std::chrono::duration_cast<event_loop::duration>(timeout)};
}

}  // namespace weft
