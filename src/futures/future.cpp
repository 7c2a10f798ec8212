// The shared state of weft::future: a status word completed with one compare-and-swap,
// futex sleeping for blocking waiters, and the callback list.

#include <weft/future.hpp>

#include "common/log.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <ctime>

namespace weft::detail {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));

void futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const std::chrono::steady_clock::time_point* deadline) noexcept {
    timespec ts{};
    timespec* timeout = nullptr;
    if (deadline && *deadline != std::chrono::steady_clock::time_point::max()) {
        auto left = *deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) return;
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
        ts.tv_sec = static_cast<time_t>(secs.count());
        ts.tv_nsec = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(left - secs).count());
        timeout = &ts;
    }
    // FUTEX_WAIT's relative timeout is measured on CLOCK_MONOTONIC, like steady_clock.
    ::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, timeout,
              nullptr, 0);
}

void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept {
    ::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, count, nullptr,
              nullptr, 0);
}

const char* future_state_base::status_name(status s) noexcept {
    switch (s) {
        case pending: return "pending";
        case running: return "running";
        case finished: return "finished";
        case cancelled: return "cancelled";
    }
    return "?";
}

bool future_state_base::set_running_or_notify_cancel() {
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
        auto s = static_cast<status>(w & status_mask);
        if (s == cancelled) return false;
        if (s != pending) {
            throw invalid_state_error(std::string("set_running_or_notify_cancel() on a future that is ") +
                                      status_name(s));
        }
        if (word_.compare_exchange_weak(w, (w & ~status_mask) | running, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
            return true;
        }
    }
}

bool future_state_base::cancel() {
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
        auto s = static_cast<status>(w & status_mask);
        if (s == cancelled) return true;
        if (s != pending) return false;
        if (word_.compare_exchange_weak(w, (w & ~status_mask) | cancelled, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
            break;
        }
    }
    if (w & has_sleepers) futex_wake(word_, INT_MAX);
    if (w & has_callbacks) run_callbacks();
    return true;
}

bool future_state_base::try_complete(status to) {
    std::uint32_t w = word_.load(std::memory_order_relaxed);
    do {
        if ((w & status_mask) >= finished) return false;
    } while (!word_.compare_exchange_weak(w, (w & ~status_mask) | to, std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
    if (w & has_sleepers) futex_wake(word_, INT_MAX);
    if (w & has_callbacks) run_callbacks();
    return true;
}

void future_state_base::set_exception(std::exception_ptr error) {
    auto s = current_status();
    if (s >= finished) {
        throw invalid_state_error(std::string("cannot set the exception of a future that is ") + status_name(s));
    }
    error_ = std::move(error);
    if (!try_complete(finished)) {
        error_ = nullptr;
        throw invalid_state_error("cannot set the exception of a future that is cancelled");
    }
}

bool future_state_base::try_add_callback(callback fn) {
    std::lock_guard lock(callbacks_mutex_);
    std::uint32_t w = word_.load(std::memory_order_acquire);
    do {
        if ((w & status_mask) >= finished) return false;
        if (w & has_callbacks) break;
    } while (!word_.compare_exchange_weak(w, w | has_callbacks, std::memory_order_acq_rel,
                                          std::memory_order_acquire));
    // A completion racing with us takes callbacks_mutex_ after its CAS, so it sees this push.
    callbacks_.push_back(std::move(fn));
    return true;
}

void future_state_base::run_callbacks() noexcept {
    std::vector<callback> callbacks;
    {
        std::lock_guard lock(callbacks_mutex_);
        callbacks.swap(callbacks_);
    }
    for (auto& cb : callbacks) {
        try {
            cb(*this);
        } catch (...) {
            log().error("exception calling callback for future: {}", weft::describe(std::current_exception()));
        }
    }
}

bool future_state_base::wait(const std::chrono::steady_clock::time_point* deadline) const {
    if (done()) return true;
    using namespace std::chrono_literals;
    if (work_helper* helper = current_work_helper) {
        // A pool worker: run queued jobs while waiting (the awaited job may be one of them).
        auto slice = std::chrono::steady_clock::duration(20us);
        while (!done()) {
            if (helper->help_one()) {
                slice = 20us;
                continue;
            }
            auto now = std::chrono::steady_clock::now();
            if (deadline && now >= *deadline) return false;
            auto until = now + slice;
            if (deadline && *deadline < until) until = *deadline;
            std::uint32_t w = word_.load(std::memory_order_acquire);
            if ((w & status_mask) >= finished) break;
            if (!(w & has_sleepers) &&
                !word_.compare_exchange_strong(w, w | has_sleepers, std::memory_order_acq_rel)) {
                continue;
            }
            futex_wait(word_, w | has_sleepers, &until);
            slice = std::min<std::chrono::steady_clock::duration>(slice * 2, 1ms);
        }
        return true;
    }
    for (;;) {
        std::uint32_t w = word_.load(std::memory_order_acquire);
        if ((w & status_mask) >= finished) return true;
        if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
        if (!(w & has_sleepers)) {
            if (!word_.compare_exchange_weak(w, w | has_sleepers, std::memory_order_acq_rel)) continue;
            w |= has_sleepers;
        }
        futex_wait(word_, w, deadline);
    }
}

void future_state_base::throw_unless_value(const std::chrono::steady_clock::time_point* deadline) const {
    if (!wait(deadline)) throw timeout_error("future not done before the timeout");
    if (current_status() == cancelled) throw cancelled_error("future was cancelled");
    if (error_) std::rethrow_exception(error_);
}

void loop_link::post(const std::shared_ptr<loop_link>& self) noexcept {
    std::lock_guard lock(self->mutex_);
    if (!self->loop_) return;  // the awaiter went away
    try {
        self->loop_->call_soon_threadsafe([self] {
            target* t;
            {
                std::lock_guard inner(self->mutex_);
                t = std::exchange(self->target_, nullptr);
                self->loop_ = nullptr;
            }
            if (t) t->on_future_done();
        });
    } catch (...) {
        log().error("cannot wake the task awaiting a future: {}", weft::describe(std::current_exception()));
    }
}

}  // namespace weft::detail
