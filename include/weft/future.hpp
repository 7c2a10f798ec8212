#pragma once
/// \file
/// `weft::future<T>` and `weft::promise<T>`: the result of work running elsewhere
/// (Python's `concurrent.futures.Future`), for thread pools and process pools alike.
///
/// A promise is the producer side: whoever runs the work (a pool worker, a thread that reads a
/// process pool's pipe) calls `set_running_or_notify_cancel()`, then `set_result` or
/// `set_exception`, from any thread. Any number of `future` copies share the same state.
/// A future can be waited on by blocking (`result(timeout)`), by callback
/// (`add_done_callback`), or from a weft coroutine with `co_await` — which suspends only the
/// awaiting task: the completion is posted to its loop with `call_soon_threadsafe`.
///
/// Example:
/// \code
///   weft::thread_pool_executor pool{4};
///   weft::future<int> f = pool.submit([] { return 6 * 7; });
///   int x = f.result();                         // blocks this thread
///   weft::task<int> t() { co_return co_await pool.submit(heavy); }  // blocks nothing
/// \endcode
///
/// *Thread-safety:* every member of `future` and `promise` may be called from any thread.

#include <weft/detail/task_state.hpp>
#include <weft/errors.hpp>
#include <weft/event_loop.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace weft {

template <class T>
class future;
template <class T>
class promise;

namespace detail {

/// Lets a thread do useful work while it blocks on a future (a pool worker runs queued jobs,
/// so a job that waits on another job of its own pool cannot deadlock it).
class work_helper {
public:
    /// Runs one pending job if there is one; returns false if there was none.
    virtual bool help_one() = 0;

protected:
    ~work_helper() = default;
};

/// The helper of the current thread (set by pool workers), or nullptr.
inline thread_local work_helper* current_work_helper = nullptr;

/// Blocks while `word == expected`, at most until `deadline` (nullptr: forever). Spurious
/// returns are possible; callers re-check.
void futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                const std::chrono::steady_clock::time_point* deadline) noexcept;
/// Wakes up to `count` threads blocked in futex_wait on `word`.
void futex_wake(const std::atomic<std::uint32_t>& word, int count) noexcept;

/// The type-independent part of a future's shared state: status word, waiters, callbacks.
///
/// The status word holds the status in its low bits plus two flags, so that completing a
/// future nobody waits on costs one compare-and-swap: `has_callbacks` (the callback list must
/// be run) and `has_sleepers` (threads sleep in futex_wait on the word).
class future_state_base {
public:
    enum status : std::uint32_t { pending = 0, running = 1, finished = 2, cancelled = 3 };
    static constexpr std::uint32_t status_mask = 3;
    static constexpr std::uint32_t has_callbacks = 4;
    static constexpr std::uint32_t has_sleepers = 8;

    using callback = std::function<void(future_state_base&)>;

    future_state_base() = default;
    /// Starts with `refs` references (a pool job holds one for its queue, one for its future).
    explicit future_state_base(std::uint32_t refs) noexcept : refs_(refs) {}
    future_state_base(const future_state_base&) = delete;
    future_state_base& operator=(const future_state_base&) = delete;

    void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        // Holding the only reference, nobody else can add one: free without a read-modify-write
        // (the acquire load pairs with the release of every other holder's fetch_sub).
        if (refs_.load(std::memory_order_acquire) == 1 || refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            destroy();
        }
    }

    status current_status() const noexcept {
        return static_cast<status>(word_.load(std::memory_order_acquire) & status_mask);
    }
    bool done() const noexcept { return current_status() >= finished; }
    static const char* status_name(status s) noexcept;

    /// pending -> running; false if cancelled. Throws invalid_state_error if already running/done.
    bool set_running_or_notify_cancel();
    /// pending -> cancelled; true if cancelled now or before, false if running or finished.
    bool cancel();
    /// Completes with an exception. Throws invalid_state_error if already done.
    void set_exception(std::exception_ptr error);

    /// Adds `fn`, to be called (in the completing thread) once done; false, and `fn` not
    /// stored, if already done.
    bool try_add_callback(callback fn);
    /// Blocks until done or `deadline` passes (nullptr: no deadline); true if done. A pool
    /// worker helps run its pool's jobs meanwhile.
    bool wait(const std::chrono::steady_clock::time_point* deadline) const;

    /// The stored exception (only meaningful once finished).
    const std::exception_ptr& error() const noexcept { return error_; }
    /// Throws cancelled_error if cancelled, timeout_error if not done by `deadline`, or the
    /// stored exception.
    void throw_unless_value(const std::chrono::steady_clock::time_point* deadline) const;

protected:
    virtual ~future_state_base() = default;
    /// Moves the status to `to` if it is pending or running; false if already done.
    bool try_complete(status to);

private:
    // Out of line on purpose: the frees made while the last reference goes (a stored
    // exception and its message) then have this frame, which tests/tsan.supp names.
    [[gnu::noinline]] void destroy() noexcept { delete this; }

    void run_callbacks() noexcept;

    mutable std::atomic<std::uint32_t> word_{pending};
    std::atomic<std::uint32_t> refs_{1};
    mutable std::mutex callbacks_mutex_;
    std::vector<callback> callbacks_;
    std::exception_ptr error_;
};

/// The shared state of a future<T>: adds the value.
template <class T>
class future_state : public future_state_base {
public:
    using stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

    future_state() = default;
    explicit future_state(std::uint32_t refs) noexcept : future_state_base(refs) {}

    /// Completes with a value. Throws invalid_state_error if already done.
    template <class... Args>
    void set_value(Args&&... args) {
        if (done()) throw_already_done();
        value_.emplace(std::forward<Args>(args)...);
        if (!try_complete(finished)) {  // cancelled meanwhile (a producer that skipped running)
            value_.reset();
            throw_already_done();
        }
    }
    /// The value; only call once the status is `finished`.
    stored& value() noexcept { return *value_; }

private:
    [[noreturn]] void throw_already_done() const {
        throw invalid_state_error(std::string("cannot set the result of a future that is ") +
                                  status_name(current_status()));
    }
    std::optional<stored> value_;
};

/// Releases a state reference on destruction (an intrusive pointer).
template <class State>
class state_ref {
public:
    state_ref() noexcept = default;
    explicit state_ref(State* s) noexcept : s_(s) {}  // adopts a reference
    state_ref(const state_ref& o) noexcept : s_(o.s_) {
        if (s_) s_->add_ref();
    }
    state_ref(state_ref&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    state_ref& operator=(state_ref o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~state_ref() {
        if (s_) s_->release();
    }
    State* get() const noexcept { return s_; }
    State* operator->() const noexcept { return s_; }
    explicit operator bool() const noexcept { return s_ != nullptr; }
    friend bool operator==(const state_ref& a, const state_ref& b) noexcept { return a.s_ == b.s_; }

private:
    State* s_ = nullptr;
};

/// Links a suspended coroutine to the thread that completes its future. The completing thread
/// posts to the loop only while the link is attached; the awaiter detaches when it is
/// interrupted or destroyed, so a late completion never touches a freed awaiter or loop.
class loop_link {
public:
    class target {
    public:
        virtual void on_future_done() noexcept = 0;

    protected:
        ~target() = default;
    };

    loop_link(event_loop* loop, target* t) noexcept : loop_(loop), target_(t) {}
    /// From the completing thread: schedules target->on_future_done() on the loop.
    static void post(const std::shared_ptr<loop_link>& self) noexcept;
    /// From the loop thread: no completion will reach the target after this.
    void detach() noexcept {
        std::lock_guard lock(mutex_);
        loop_ = nullptr;
        target_ = nullptr;
    }

private:
    std::mutex mutex_;
    event_loop* loop_;
    target* target_;
};

/// `co_await future`: suspends the awaiting task until the future is done.
template <class T, bool Move>
class future_awaiter final : public suspension, public loop_link::target {
public:
    explicit future_awaiter(state_ref<future_state<T>> state) noexcept : state_(std::move(state)) {}
    future_awaiter(const future_awaiter&) = delete;
    ~future_awaiter() { detach(); }

    bool await_ready() const noexcept { return state_->done(); }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;
        link_ = std::make_shared<loop_link>(owner->loop(), this);
        bool registered = state_->try_add_callback(
            [link = link_](future_state_base&) { loop_link::post(link); });
        if (!registered) {  // completed meanwhile: continue on the next iteration
            detach();
            resume_owner();
        }
        return true;
    }
    void on_future_done() noexcept override {
        link_.reset();
        resume_owner();
    }
    void interrupt(interruption why) override {
        interrupted = why;
        state_->cancel();  // like asyncio.wrap_future: only succeeds while still pending
        detach();
        resume_owner();
    }
    T await_resume() {
        throw_if_interrupted();
        state_->throw_unless_value(nullptr);
        if constexpr (std::is_void_v<T>) return;
        else if constexpr (Move) return std::move(state_->value());
        else return state_->value();
    }

private:
    void detach() noexcept {
        if (link_) std::exchange(link_, nullptr)->detach();
    }

    state_ref<future_state<T>> state_;
    std::shared_ptr<loop_link> link_;
};

/// What `future<T>::result()` returns: `const T&`, or nothing for `future<void>`.
template <class T>
using result_ref_t = std::conditional_t<std::is_void_v<T>, void, std::add_lvalue_reference_t<const T>>;

template <class T>
struct is_future : std::false_type {};
template <class T>
struct is_future<future<T>> : std::true_type {};

}  // namespace detail

/// The status of a future, as `future::status()` reports it.
using future_status = detail::future_state_base::status;

/// The consumer side of work running elsewhere (see the file comment). Copies share the state.
///
/// *Throws:* `result()`/`exception()` throw `weft::cancelled_error` if the future was
/// cancelled, `weft::timeout_error` if the timeout passes first, and `invalid_state_error`
/// on an empty future.
/// *Cancellation:* `cancel()` succeeds only while the work has not started. Cancelling a task
/// that `co_await`s the future cancels the future too if it is still pending (asyncio's
/// `wrap_future`); running work is not interrupted, and its result stays in the future.
/// *Thread-safety:* all members, from any thread.
///
/// Example:
/// \code
///   auto f = pool.submit([] { return 42; });
///   f.add_done_callback([](weft::future<int> g) { std::printf("%d\n", g.result()); });
///   try { f.result(100ms); } catch (const weft::timeout_error&) { f.cancel(); }
/// \endcode
template <class T>
class future {
    static_assert(!std::is_reference_v<T>, "weft::future<T> holds values, not references");

public:
    using value_type = T;
    using duration = std::chrono::steady_clock::duration;

    /// An empty future (`valid()` is false).
    future() noexcept = default;
    explicit future(detail::state_ref<detail::future_state<T>> state) noexcept : state_(std::move(state)) {}

    /// True if this future refers to a shared state.
    bool valid() const noexcept { return static_cast<bool>(state_); }
    /// True once the work finished, failed or was cancelled.
    bool done() const { return state().done(); }
    /// True while the work runs (`set_running_or_notify_cancel` was called, not yet done).
    bool running() const { return state().current_status() == future_status::running; }
    /// True if the future was cancelled.
    bool cancelled() const { return state().current_status() == future_status::cancelled; }
    /// The current status.
    future_status status() const { return state().current_status(); }
    /// Cancels the work if it has not started; true if the future is (now) cancelled.
    bool cancel() const { return state().cancel(); }

    /// Blocks until done (at most `timeout`); returns the result or rethrows the work's exception.
    /// Example: `int x = f.result(1s);`
    detail::result_ref_t<T> result() const { return result_until(nullptr); }
    template <class Rep, class Period>
    detail::result_ref_t<T> result(std::chrono::duration<Rep, Period> timeout) const {
        auto deadline = deadline_after(timeout);
        return result_until(&deadline);
    }

    /// Blocks until done (at most `timeout`); returns the work's exception, or nullptr if it
    /// returned normally. Example: `if (auto e = f.exception()) std::rethrow_exception(e);`
    std::exception_ptr exception() const { return exception_until(nullptr); }
    template <class Rep, class Period>
    std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
        auto deadline = deadline_after(timeout);
        return exception_until(&deadline);
    }

    /// Blocks until done or `timeout` passes; true if done. Never throws the work's exception.
    /// Example: `if (!f.wait_for(10ms)) std::puts("still running");`
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
        auto deadline = deadline_after(timeout);
        return state().wait(&deadline);
    }
    /// Blocks until done.
    void wait() const { state().wait(nullptr); }

    /// Calls `fn(future)` once done: at once in this thread if already done, else in the
    /// thread that completes the future. Exceptions from `fn` are logged and ignored.
    /// Example: `f.add_done_callback([](weft::future<int> g) { log(g.result()); });`
    template <class Fn>
        requires std::is_invocable_v<Fn&, future<T>>
    void add_done_callback(Fn fn) const {
        auto& s = state();
        auto call = [fn = std::move(fn)](detail::future_state_base& base) mutable {
            auto* typed = static_cast<detail::future_state<T>*>(&base);
            typed->add_ref();
            fn(future<T>(detail::state_ref<detail::future_state<T>>(typed)));
        };
        if (!s.try_add_callback(call)) call(s);
    }

    /// Suspends the awaiting weft task (not its loop) until done; yields a copy of the result.
    auto operator co_await() const& { return detail::future_awaiter<T, false>(checked_ref()); }
    /// Like the above, but moves the result out of the shared state (for move-only results).
    auto operator co_await() && { return detail::future_awaiter<T, true>(checked_ref()); }

    /// Moves the result out of the shared state, blocking until done (for move-only results;
    /// later `result()` calls see the moved-from value).
    T take_result() {
        state().throw_unless_value(nullptr);
        if constexpr (!std::is_void_v<T>) return std::move(state_->value());
    }

    friend bool operator==(const future& a, const future& b) noexcept { return a.state_ == b.state_; }

private:
    template <class Rep, class Period>
    static std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> timeout) {
        if (timeout > std::chrono::hours(24 * 365 * 100)) return std::chrono::steady_clock::time_point::max();
        return std::chrono::steady_clock::now() + std::chrono::ceil<duration>(timeout);
    }
    detail::result_ref_t<T> result_until(
        const std::chrono::steady_clock::time_point* deadline) const {
        state().throw_unless_value(deadline);
        if constexpr (!std::is_void_v<T>) return state_->value();
    }
    std::exception_ptr exception_until(const std::chrono::steady_clock::time_point* deadline) const {
        auto& s = state();
        if (!s.wait(deadline)) throw timeout_error("future not done before the timeout");
        if (s.current_status() == future_status::cancelled) throw cancelled_error("future was cancelled");
        return s.error();
    }
    detail::future_state<T>& state() const {
        if (!state_) throw invalid_state_error("empty future (default-constructed or moved-from)");
        return *state_.get();
    }
    detail::state_ref<detail::future_state<T>> checked_ref() const {
        state();
        return state_;
    }

    detail::state_ref<detail::future_state<T>> state_;
};

/// The producer side of a future (what a pool worker or a process pool's reader holds).
/// Move-only. If it is destroyed before completing its future, the future fails with
/// `invalid_state_error` ("broken promise") instead of hanging its waiters.
///
/// *Throws:* `set_result`/`set_exception` throw `invalid_state_error` if the future is already
/// done (cancelled, or completed twice).
/// *Thread-safety:* use one promise from one thread at a time; its future from any thread.
///
/// Example:
/// \code
///   weft::promise<int> p;
///   auto f = p.get_future();
///   std::jthread t([p = std::move(p)]() mutable {
///       if (p.set_running_or_notify_cancel()) p.set_result(42);
///   });
///   assert(f.result() == 42);
/// \endcode
template <class T>
class promise {
public:
    promise() : state_(new detail::future_state<T>()) {}
    promise(promise&&) noexcept = default;
    promise& operator=(promise&& other) noexcept {
        if (this != &other) {
            abandon();
            state_ = std::move(other.state_);
        }
        return *this;
    }
    ~promise() { abandon(); }

    /// A future sharing this promise's state (call as often as needed).
    future<T> get_future() const { return future<T>(state_); }
    /// Marks the work as started; false if the future was cancelled (then skip the work).
    bool set_running_or_notify_cancel() { return state_->set_running_or_notify_cancel(); }
    /// Completes the future with a value.
    template <class... Args>
    void set_result(Args&&... args) {
        state_->set_value(std::forward<Args>(args)...);
    }
    /// Completes the future with an exception.
    void set_exception(std::exception_ptr error) { state_->set_exception(std::move(error)); }

private:
    void abandon() noexcept {
        if (!state_ || state_->done()) return;
        try {
            state_->set_exception(std::make_exception_ptr(
                invalid_state_error("broken promise: the producer of this future went away")));
        } catch (...) {  // cancelled meanwhile: nothing left to report
        }
    }
    detail::state_ref<detail::future_state<T>> state_;
};

}  // namespace weft
