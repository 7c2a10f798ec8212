#include <weft/task_handle.hpp>

#include "common/log.hpp"

namespace weft::detail {

void throw_interruption(interruption why) {
    switch (why) {
        case interruption::none: return;
        case interruption::cancelled: throw cancelled_error();
        case interruption::timed_out: throw timeout_error("deadline exceeded");
    }
}

bool suspension::suspend_owner(std::coroutine_handle<> h) {
    owner = running_task;
    if (!owner) throw invalid_state_error("a weft awaitable was awaited outside a running weft task");
    interrupted = owner->take_pending_interruption();
    if (interrupted != interruption::none) return false;
    awaiting = h;
    owner->set_waiting_on(this);
    return true;
}

void suspension::resume_owner() noexcept {
    owner->set_waiting_on(nullptr);
    owner->resume_at(awaiting);
}

task_state_base::task_state_base(event_loop& loop, std::coroutine_handle<> frame, std::string&& name)
    : loop_(&loop), frame_(frame), resume_point_(frame), name_(std::move(name)), id_(loop.next_task_id()) {
    loop.register_task(this);
    loop.schedule(this);
}

task_state_base::~task_state_base() {
    if (status_ == status::finished && error_ && !retrieved_) {
        log().error("Task exception was never retrieved: task '{}': {}", name(), weft::describe(error_));
    }
}

const std::string& task_state_base::name() {
    if (name_.empty()) name_ = "Task-" + std::to_string(id_);
    return name_;
}

std::string task_state_base::describe() const {
    return "task '" + const_cast<task_state_base*>(this)->name() + "'";
}

void task_state_base::run() {
    if (status_ != status::pending) return;
    if (!started_) {
        started_ = true;
        if (must_cancel_) {  // cancelled before its first step: the body never runs
            must_cancel_ = false;
            status_ = status::cancelled;
            finish();
            return;
        }
    }
    cancel_in_flight_ = false;
    task_state_base* previous = running_task;
    running_task = this;
    resume_chain(std::exchange(resume_point_, nullptr));
    running_task = previous;
    if (frame_.done()) {
        error_ = frame_exception();
        if (error_ ? is_cancellation(error_) : must_cancel_) {
            status_ = status::cancelled;
            error_ = nullptr;
        } else {
            status_ = status::finished;
        }
        finish();
    }
}

void task_state_base::finish() noexcept {
    while (auto* l = listeners_.pop_front()) l->on_task_done(*this);
    for (auto& cb : callbacks_) {
        try {
            loop_->call_soon(std::move(cb));
        } catch (...) {
            log().error("cannot schedule done callback of task '{}': {}", name(),
                        weft::describe(std::current_exception()));
        }
    }
    callbacks_.clear();
    loop_->unregister_task(this);
    release();  // the loop's reference; may delete this
}

void task_state_base::abandon() noexcept {
    if (done()) return;
    log().warn("Task was destroyed but it is pending: '{}'", name());
    status_ = status::cancelled;
    retrieved_ = true;
    waiting_on_ = nullptr;
    destroy_frame();
    while (listeners_.pop_front()) {
    }
    callbacks_.clear();
    loop_->unregister_task(this);
    release();
}

bool task_state_base::cancel() noexcept {
    if (done()) return false;
    ++cancel_requests_;
    if (waiting_on_) {
        cancel_in_flight_ = true;
        waiting_on_->interrupt(interruption::cancelled);
        return true;
    }
    // A second request while the first is on its way is one cancellation, as in asyncio.
    if (!cancel_in_flight_) must_cancel_ = true;
    return true;
}

void task_state_base::deadline_expired() noexcept {
    if (waiting_on_) waiting_on_->interrupt(interruption::timed_out);
}

interruption task_state_base::take_pending_interruption() noexcept {
    if (must_cancel_) {
        must_cancel_ = false;
        return interruption::cancelled;
    }
    for (auto* d = deadlines; d; d = d->outer) {
        if (d->expired) return interruption::timed_out;
    }
    return interruption::none;
}

void task_state_base::resume_at(std::coroutine_handle<> h) noexcept {
    resume_point_ = h;
    loop_->schedule(this);
}

void task_state_base::rethrow_if_failed() {
    retrieved_ = true;
    switch (status_) {
        case status::pending:
            throw invalid_state_error("result of task '" + name() + "' is not ready (state: pending)");
        case status::cancelled: throw cancelled_error("task '" + name() + "' was cancelled");
        case status::finished:
            if (error_) std::rethrow_exception(error_);
    }
}

}  // namespace weft::detail

namespace weft {

std::exception_ptr any_task::exception() const {
    auto& s = state();
    if (!s.done()) throw invalid_state_error("exception of task '" + s.name() + "' is not ready (state: pending)");
    if (s.cancelled()) throw cancelled_error("task '" + s.name() + "' was cancelled");
    return s.take_error();
}

void any_task::add_done_callback(std::function<void(any_task)> fn) const {
    auto& s = state();
    auto call = [fn = std::move(fn), self = *this] { fn(self); };
    if (s.done()) s.loop()->call_soon(std::move(call));
    else s.add_done_callback(std::move(call));
}

any_task current_task() { return any_task(detail::running_task); }

std::vector<any_task> all_tasks() {
    event_loop* loop = event_loop::current();
    return loop ? loop->all_tasks() : std::vector<any_task>{};
}

}  // namespace weft
