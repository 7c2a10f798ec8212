#pragma once
/// \file
/// `weft::sleep`: suspend the running task for a while without blocking the loop.
///
/// Example:
/// \code
///   co_await weft::sleep(100ms);   // other tasks run meanwhile
///   co_await weft::sleep(0s);      // yield: let every ready task run once
/// \endcode
///
/// *Throws:* `cancelled_error` if the task is cancelled while sleeping, `timeout_error` if
/// an enclosing `weft::timeout` expires. *Cancellation:* the timer is removed at once.

#include <weft/detail/task_state.hpp>
#include <weft/detail/timer_heap.hpp>
#include <weft/event_loop.hpp>

#include <chrono>

namespace weft {

namespace detail {
class sleep_awaiter final : public suspension, public timer_node {
public:
    explicit sleep_awaiter(event_loop::duration delay) noexcept : delay_(delay) {}
    sleep_awaiter(const sleep_awaiter&) = delete;
    ~sleep_awaiter() {
        if (armed()) owner->loop()->disarm(this);
    }

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;
        event_loop* loop = owner->loop();
        if (delay_ <= event_loop::duration::zero()) resume_owner();  // a plain yield
        else loop->arm(this, loop->time() + delay_);
        return true;
    }
    void await_resume() const { throw_if_interrupted(); }

    void fire() override { resume_owner(); }
    void interrupt(interruption why) override {
        interrupted = why;
        if (armed()) owner->loop()->disarm(this);
        resume_owner();
    }

private:
    event_loop::duration delay_;
};
}  // namespace detail

/// Suspends the running task for `delay` (zero or negative: just yields to other tasks).
/// Example: `co_await weft::sleep(std::chrono::seconds(1));`
template <class Rep, class Period>
detail::sleep_awaiter sleep(std::chrono::duration<Rep, Period> delay) noexcept {
    return detail::sleep_awaiter(std::chrono::duration_cast<event_loop::duration>(delay));
}

}  // namespace weft
