#pragma once
/// \file
/// `weft::task<T>`: the coroutine type of weft (asyncio's coroutine function).
///
/// A task is lazy: calling a coroutine function builds the frame but runs nothing until the
/// task is awaited (`co_await t`) or spawned on a loop (`weft::create_task(t)`). Awaiting
/// transfers control directly from awaiter to awaited and back (never through the loop's
/// queue), and a chain of a million awaits does not grow the stack. An exception escaping the
/// body is rethrown to the awaiter.
///
/// How the stack stays flat: rather than relying on the compiler to turn symmetric transfer
/// (`await_suspend` returning a handle) into a tail call — GCC 12 does not under ASan, UBSan
/// or TSan, and a million-deep chain then overflows the stack — each transfer stores the next
/// coroutine in a thread-local slot and returns to a small trampoline (`detail::resume_chain`)
/// that the loop runs each task step through. Same order, same cost class, every build.
///
/// Example:
/// \code
///   weft::task<int> twice(int x) { co_await weft::sleep(10ms); co_return 2 * x; }
///   weft::task<> main_task() { int y = co_await twice(21); assert(y == 42); }
///   int main() { weft::run(main_task()); }
/// \endcode
///
/// *Thread-safety:* a task belongs to the loop that runs it. *Cancellation:* see `create_task`.

#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace weft {

template <class T = void>
class task;

namespace detail {

/// The coroutine to resume next on this thread (see the file comment).
inline thread_local std::coroutine_handle<> trampoline_next;

/// Resumes `h`, then every coroutine it transfers control to, until one suspends for real.
inline void resume_chain(std::coroutine_handle<> h) {
    while (h) {
        h.resume();
        h = std::exchange(trampoline_next, nullptr);
    }
}

struct promise_base {
    std::coroutine_handle<> continuation;

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class Promise>
        void await_suspend(std::coroutine_handle<Promise> h) noexcept {
            trampoline_next = h.promise().continuation;
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }
};

template <class T>
struct task_promise : promise_base {
    std::variant<std::monostate, T, std::exception_ptr> outcome;

    task<T> get_return_object() noexcept;
    template <class U = T>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        outcome.template emplace<1>(std::forward<U>(value));
    }
    void unhandled_exception() noexcept { outcome.template emplace<2>(std::current_exception()); }

    bool has_exception() const noexcept { return outcome.index() == 2; }
    std::exception_ptr exception() const noexcept {
        return has_exception() ? std::get<2>(outcome) : nullptr;
    }
    T& value() & {
        if (has_exception()) std::rethrow_exception(std::get<2>(outcome));
        return std::get<1>(outcome);
    }
    T&& value() && { return std::move(value()); }
};

template <>
struct task_promise<void> : promise_base {
    std::exception_ptr error;

    task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }

    bool has_exception() const noexcept { return error != nullptr; }
    std::exception_ptr exception() const noexcept { return error; }
    void value() const {
        if (error) std::rethrow_exception(error);
    }
};

}  // namespace detail

/// A lazily started coroutine producing a `T` (or nothing, for `task<>`); move-only.
///
/// Example: `weft::task<std::string> fetch(); auto text = co_await fetch();`
template <class T>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;
    using handle_type = std::coroutine_handle<promise_type>;

    task() noexcept = default;
    explicit task(handle_type h) noexcept : h_(h) {}
    task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            if (h_) h_.destroy();
            h_ = std::exchange(other.h_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() {
        if (h_) h_.destroy();
    }

    /// True if this object holds a coroutine (not moved-from or default-constructed).
    bool valid() const noexcept { return static_cast<bool>(h_); }
    /// True once the coroutine has run to its end.
    bool done() const noexcept { return h_ && h_.done(); }

    struct awaiter {
        handle_type h;
        bool await_ready() const noexcept { return !h || h.done(); }
        void await_suspend(std::coroutine_handle<> awaiting) noexcept {
            h.promise().continuation = awaiting;
            detail::trampoline_next = h;
        }
        T await_resume() {
            if constexpr (std::is_void_v<T>) {
                h.promise().value();
            } else {
                return std::move(h.promise()).value();
            }
        }
    };
    /// Runs the task inside the awaiting coroutine and yields its result (or rethrows).
    awaiter operator co_await() && noexcept { return awaiter{h_}; }
    awaiter operator co_await() & noexcept { return awaiter{h_}; }

    /// The coroutine handle (for the runtime: spawned tasks keep the frame in their state).
    handle_type handle() const noexcept { return h_; }

private:
    handle_type h_;
};

namespace detail {
template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace weft
