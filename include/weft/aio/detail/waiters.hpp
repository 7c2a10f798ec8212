#pragma once
// Internal: the wait-list nodes shared by weft::aio's primitives.
//
// Every waiter is an awaitable that lives in the suspended coroutine's frame and links itself
// into its primitive's intrusive list, so waiting never allocates. A primitive wakes a waiter
// by handing it what it waited for (a lock, a semaphore unit, an item, a queue slot) and
// calling resume_owner(); from then on the waiter is no longer interruptible, so the task
// keeps what it was given and a pending cancellation is delivered at its next suspension.

#include <weft/detail/intrusive_list.hpp>
#include <weft/detail/task_state.hpp>

#include <coroutine>
#include <type_traits>
#include <utility>

namespace weft::aio::detail {

/// A task waiting to be woken without being handed anything (event wait, queue join).
class wake_waiter final : public weft::detail::suspension, public weft::detail::list_hook {
public:
    using list = weft::detail::intrusive_list<wake_waiter>;

    wake_waiter(list& waiters, const bool& ready) noexcept : waiters_(&waiters), ready_(&ready) {}
    wake_waiter(wake_waiter&& other) noexcept : waiters_(other.waiters_), ready_(other.ready_) {}
    wake_waiter& operator=(wake_waiter&&) = delete;
    ~wake_waiter() { list::unlink(this); }

    // Lets weft::wait_for take the awaitable by value.
    wake_waiter operator co_await() && noexcept { return std::move(*this); }

    bool await_ready() const noexcept { return *ready_; }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;
        waiters_->push_back(this);
        return true;
    }
    void await_resume() const { throw_if_interrupted(); }

    void interrupt(weft::detail::interruption why) override {
        interrupted = why;
        list::unlink(this);
        resume_owner();
    }

    /// Wakes every waiter of `waiters` (the list is left empty).
    static void wake_all(list& waiters) noexcept {
        while (auto* w = waiters.pop_front()) w->resume_owner();
    }

private:
    list* waiters_;
    const bool* ready_;
};

/// A task waiting to be granted ownership (of a lock or a semaphore unit).
class grant_waiter : public weft::detail::suspension, public weft::detail::list_hook {
public:
    using list = weft::detail::intrusive_list<grant_waiter>;
    /// Ownership now belongs to this waiter: record it and resume the task.
    virtual void grant() noexcept = 0;

protected:
    ~grant_waiter() = default;
};

/// `co_await sync.acquire()` / `co_await sync.scoped()` for a lock or a semaphore.
/// `Sync` provides try_take() (fast path), waiters() (FIFO of grant_waiter) and give_back()
/// (release without checks: hands ownership to the next waiter or frees it). `Guard` is
/// void (acquire) or the RAII guard type constructed from `Sync&` (scoped).
template <class Sync, class Guard>
class acquire_awaiter final : public grant_waiter {
public:
    explicit acquire_awaiter(Sync& sync) noexcept : sync_(&sync) {}
    // Moving is only meaningful before the awaitable is awaited (weft::wait_for takes it by value).
    acquire_awaiter(acquire_awaiter&& other) noexcept : sync_(other.sync_) {}
    acquire_awaiter& operator=(acquire_awaiter&&) = delete;
    ~acquire_awaiter() {
        list::unlink(this);
        // Granted, but the frame was destroyed before it resumed: pass ownership on.
        if (state_ == state::granted) sync_->give_back();
    }

    acquire_awaiter operator co_await() && noexcept { return std::move(*this); }

    bool await_ready() noexcept {
        if (!sync_->try_take()) return false;
        state_ = state::owned;
        return true;
    }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;
        sync_->waiters().push_back(this);
        return true;
    }
    Guard await_resume() {
        throw_if_interrupted();
        state_ = state::owned;
        if constexpr (!std::is_void_v<Guard>) return Guard(*sync_);
    }

    void grant() noexcept override {
        state_ = state::granted;
        resume_owner();
    }
    void interrupt(weft::detail::interruption why) override {
        interrupted = why;
        list::unlink(this);
        resume_owner();
    }

private:
    enum class state : unsigned char { waiting, granted, owned };
    Sync* sync_;
    state state_ = state::waiting;
};

/// Releases what it holds when destroyed: `lock::guard`, `semaphore::guard`.
template <class Sync>
class release_guard {
public:
    release_guard() noexcept = default;
    explicit release_guard(Sync& sync) noexcept : sync_(&sync) {}
    release_guard(release_guard&& other) noexcept : sync_(other.sync_) { other.sync_ = nullptr; }
    release_guard& operator=(release_guard&& other) noexcept {
        if (this != &other) {
            reset();
            sync_ = other.sync_;
            other.sync_ = nullptr;
        }
        return *this;
    }
    ~release_guard() { reset(); }

    /// True while the guard still holds the lock or unit.
    /// Example: `auto g = co_await l.scoped(); assert(g.owns());`
    bool owns() const noexcept { return sync_ != nullptr; }
    explicit operator bool() const noexcept { return owns(); }
    /// Releases early; the guard then holds nothing.
    /// Example: `auto g = co_await l.scoped(); g.release(); assert(!l.locked());`
    void release() noexcept { reset(); }

private:
    void reset() noexcept {
        if (sync_) sync_->give_back();
        sync_ = nullptr;
    }
    Sync* sync_ = nullptr;
};

}  // namespace weft::aio::detail
