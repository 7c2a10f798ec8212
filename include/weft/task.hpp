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
#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

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

/// A per-thread cache of freed small blocks, for the runtime's hot allocations: coroutine frames
/// and task states. A spawn-and-await round trip otherwise costs two malloc/free pairs; with
/// the cache a freed frame is reused by the next one of the same size class (16-byte steps up
/// to 1 KiB) without touching malloc. Blocks come from and go back to global
/// `operator new/delete`, so a block freed on another thread, or after this thread's cache is
/// gone, is simply handed to the global allocator. At most `max_cached_bytes` stay cached per
/// thread; the rest are freed at once, and the cache is emptied when its thread exits.
/// Under AddressSanitizer cached blocks are poisoned, so a use after free is still reported.
class block_cache {
public:
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t largest = 1024;
    static constexpr std::size_t max_cached_bytes = 256 * 1024;

    static void* allocate(std::size_t size) {
        if (size > largest) return ::operator new(size);
        block_cache& cache = local;
        const std::size_t c = size_class(size);
        if (block* b = cache.heads_[c]) {
            unpoison(b, class_bytes(c));
            cache.heads_[c] = b->next;
            cache.cached_bytes_ -= class_bytes(c);
            return b;
        }
        return ::operator new(class_bytes(c));
    }

    static void deallocate(void* p, std::size_t size) noexcept {
        if (size > largest) return ::operator delete(p);
        block_cache& cache = local;
        const std::size_t c = size_class(size);
        if (cache.closed_ || cache.cached_bytes_ + class_bytes(c) > max_cached_bytes) {
            return ::operator delete(p);
        }
        if (!cache.drainer_armed_) {
            cache.drainer_armed_ = true;
            drainer.arm();  // constructs the thread_local: it empties the cache at thread exit
        }
        auto* b = static_cast<block*>(p);
        b->next = cache.heads_[c];
        cache.heads_[c] = b;
        cache.cached_bytes_ += class_bytes(c);
        poison(b, class_bytes(c));
    }

private:
    struct block {
        block* next;
    };
    // Class c holds blocks of 16c+8 bytes: with glibc's 8-byte chunk header that is exactly a
    // chunk size, so rounding up to the class wastes nothing malloc would not waste anyway.
    static constexpr std::size_t classes = (largest + granule / 2 - 1) / granule + 1;
    static constexpr std::size_t size_class(std::size_t size) noexcept {
        return (size + granule / 2 - 1) / granule;
    }
    static constexpr std::size_t class_bytes(std::size_t c) noexcept { return c * granule + granule / 2; }

    static void poison([[maybe_unused]] void* p, [[maybe_unused]] std::size_t n) noexcept {
#if defined(__SANITIZE_ADDRESS__)
        __asan_poison_memory_region(p, n);
#endif
    }
    static void unpoison([[maybe_unused]] void* p, [[maybe_unused]] std::size_t n) noexcept {
#if defined(__SANITIZE_ADDRESS__)
        __asan_unpoison_memory_region(p, n);
#endif
    }

    // Frees every cached block and sends later frees to the global allocator.
    void close() noexcept {
        closed_ = true;
        for (std::size_t c = 0; c < classes; ++c) {
            while (block* b = heads_[c]) {
                unpoison(b, class_bytes(c));
                heads_[c] = b->next;
                ::operator delete(b);
            }
        }
        cached_bytes_ = 0;
    }

    // Trivially destructible, so it stays usable while other thread_locals are destroyed.
    block* heads_[classes] = {};
    std::size_t cached_bytes_ = 0;
    bool drainer_armed_ = false;
    bool closed_ = false;

    struct thread_exit_drainer {
        void arm() noexcept {}
        ~thread_exit_drainer() { local.close(); }
    };
    static thread_local block_cache local;
    static inline thread_local thread_exit_drainer drainer;
};

inline thread_local constinit block_cache block_cache::local{};

struct promise_base {
    std::coroutine_handle<> continuation;

    static void* operator new(std::size_t size) { return block_cache::allocate(size); }
    static void operator delete(void* p, std::size_t size) noexcept { block_cache::deallocate(p, size); }

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
