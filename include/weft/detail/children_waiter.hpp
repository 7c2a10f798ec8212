#pragma once
// Internal: the suspension behind gather, wait and task_group::join — waits until a set of
// spawned tasks meets a condition, optionally with a deadline.

#include <weft/detail/task_state.hpp>
#include <weft/detail/timer_heap.hpp>
#include <weft/event_loop.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace weft::detail {

class children_waiter final : public suspension, public timer_node {
public:
    enum class until : std::uint8_t {
        all_done,         // every target is done
        first_done,       // any target is done
        first_exception,  // any target failed with an exception, or all are done
        first_failure,    // any target failed or was cancelled, or all are done (gather)
    };
    enum class on_interrupt : std::uint8_t {
        cancel_and_wait,  // cancel the targets and wait for all of them (gather, task_group)
        detach,           // leave the targets running (wait, as_completed)
    };
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    children_waiter(std::span<task_state_base* const> targets, until condition, on_interrupt policy,
                    std::optional<event_loop::time_point> deadline = std::nullopt)
        : targets_(targets.begin(), targets.end()), condition_(condition), policy_(policy), deadline_(deadline) {
        listeners_.reserve(targets_.size());
        for (std::size_t i = 0; i < targets_.size(); ++i) listeners_.emplace_back(this, i);
        for (std::size_t i = 0; i < targets_.size(); ++i) note_done_if(i);
    }
    children_waiter(const children_waiter&) = delete;
    ~children_waiter() { detach(); }

    bool await_ready() const noexcept { return satisfied() || expired_now(); }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) {
            // Interrupted before suspending (a pending cancel, an expired timeout scope): the
            // cancel_and_wait policy still holds, or the targets would be left running.
            if (policy_ != on_interrupt::cancel_and_wait) return false;
            condition_ = until::all_done;
            for (auto* t : targets_) t->cancel();
            if (satisfied()) return false;
            awaiting = h;
            owner->set_waiting_on(this);
        }
        for (auto& l : listeners_) {
            if (!targets_[l.index]->done()) targets_[l.index]->add_listener(&l);
        }
        if (deadline_ && interrupted == interruption::none) owner->loop()->arm(this, *deadline_);
        return true;
    }
    /// Index of the first target that failed (first_failure / first_exception), or `none`.
    std::size_t await_resume() const {
        throw_if_interrupted();
        return first_failed_;
    }
    /// True if the deadline passed before the condition held.
    bool timed_out() const noexcept { return timed_out_; }

    void interrupt(interruption why) override {
        interrupted = why;
        if (policy_ == on_interrupt::cancel_and_wait) {
            condition_ = until::all_done;
            for (auto* t : targets_) t->cancel();  // their ends wake us through the listeners
            if (!satisfied()) return;
        }
        wake();
    }
    void fire() override {
        timed_out_ = true;
        wake();
    }

private:
    struct listener final : done_listener {
        listener(children_waiter* parent, std::size_t index) : parent(parent), index(index) {}
        void on_task_done(task_state_base&) override { parent->child_done(index); }
        children_waiter* parent;
        std::size_t index;
    };

    bool expired_now() const noexcept {
        auto* loop = event_loop::current();
        return deadline_ && loop && loop->time() >= *deadline_ && (timed_out_ = true);
    }
    void note_done_if(std::size_t i) noexcept {
        auto* t = targets_[i];
        if (!t->done()) return;
        ++done_count_;
        bool failure = condition_ == until::first_exception ? t->failed() : (t->failed() || t->cancelled());
        if (failure && first_failed_ == none) first_failed_ = i;
    }
    bool satisfied() const noexcept {
        if (done_count_ == targets_.size()) return true;
        switch (condition_) {
            case until::all_done: return false;
            case until::first_done: return done_count_ > 0;
            case until::first_exception:
            case until::first_failure: return first_failed_ != none;
        }
        return false;
    }
    void child_done(std::size_t i) noexcept {
        note_done_if(i);
        if (satisfied()) wake();
    }
    void detach() noexcept {
        for (auto& l : listeners_) task_state_base::remove_listener(&l);
        if (armed()) owner->loop()->disarm(this);
    }
    void wake() noexcept {
        detach();
        resume_owner();
    }

    std::vector<task_state_base*> targets_;
    std::vector<listener> listeners_;
    std::size_t done_count_ = 0;
    std::size_t first_failed_ = none;
    until condition_;
    on_interrupt policy_;
    std::optional<event_loop::time_point> deadline_;
    mutable bool timed_out_ = false;
};

}  // namespace weft::detail
