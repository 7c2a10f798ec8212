#pragma once
/// \file
/// `weft::process_pool_executor`: a pool of worker processes running submitted calls
/// (Python's `concurrent.futures.ProcessPoolExecutor`), with the same `weft::future<T>` as
/// `weft::thread_pool_executor`: block on it, add callbacks, or `co_await` it from a weft task
/// without blocking the loop.
///
/// A call crosses to a worker serialized with cereal: the function must be a function pointer
/// or a captureless lambda (it is named by address in the worker, which runs the same binary),
/// the arguments and the result cereal-serializable (weft::mp objects are). An exception thrown
/// by the call arrives in the future as `weft::remote_error`, naming its type and message.
/// If a worker dies (a crash, `kill -9`, the OOM killer), every pending and running future
/// fails with `weft::broken_process_pool`, the pool is broken and refuses new work — never a
/// hang. Workers start from the forkserver by default (see `<weft/mp/start_method.hpp>`).
///
/// Example:
/// \code
///   int main() {
///       weft::mp::set_start_method(weft::mp::start_method::forkserver);  // before any thread
///       weft::process_pool_executor pool{2};
///       auto f = pool.submit([](int x) { return x * x; }, 7);
///       std::vector<long> r = pool.map([](long n) { return sum_to(n); }, std::vector<long>{1, 2, 3});
///       int y = f.result();          // 49; the destructor runs shutdown(wait = true)
///   }
/// \endcode
///
/// *Throws:* `submit`/`map` throw `invalid_state_error` after `shutdown()` and
/// `broken_process_pool` once broken; the constructor throws `std::invalid_argument` for 0
/// workers and what starting a process throws (see `mp::process::start`).
/// *Cancellation:* `future::cancel()` and `shutdown(..., cancel_futures = true)` drop calls not
/// yet handed to a worker; a running call always finishes (or its worker dies).
/// *Thread-safety:* all members, from any thread; not `shutdown(wait = true)` from a callback
/// of one of its futures.

#include <weft/errors.hpp>
#include <weft/future.hpp>
#include <weft/mp/detail/wire.hpp>
#include <weft/mp/start_method.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft {

namespace mp::detail {

/// What a worker runs for one call: reads the function and arguments, writes the result.
using task_fn = void (*)(std::string_view call, std::string& result);

/// Bytes before the call's payload in a task frame: id, task_fn, payload size.
inline constexpr std::size_t task_header_size = 8 + 8 + 4;

template <class F, class Tuple>
void invoke_call(std::string_view call, std::string& result) {
    reader r(call);
    F f = read_function<F>(r);
    auto args = read_arguments<Tuple>(r);
    using R = decltype(std::apply(f, args));
    if constexpr (std::is_void_v<R>) {
        std::apply(f, args);
    } else {
        R value = std::apply(f, args);
        writer w(result);
        w(value);
    }
}

template <class F, class Item>
void invoke_chunk(std::string_view call, std::string& result) {
    reader r(call);
    F f = read_function<F>(r);
    auto items = r.read<std::vector<Item>>();
    using R = std::invoke_result_t<F&, Item&>;
    if constexpr (std::is_void_v<R>) {
        for (auto& item : items) f(item);
    } else {
        std::vector<R> out;
        out.reserve(items.size());
        for (auto& item : items) out.push_back(f(item));
        writer w(result);
        w(out);
    }
}

/// One submitted call, as the pool's core sees it: its task frame and its future.
class pool_call {
public:
    virtual ~pool_call() = default;
    /// pending -> running; false if the future was cancelled (then drop the call).
    virtual bool start() = 0;
    /// Completes the future with the serialized result (or the error it holds).
    virtual void complete(std::string_view result) noexcept = 0;
    virtual void fail(std::exception_ptr error) noexcept = 0;
    /// Cancels the future of a call that never ran.
    virtual void cancel() noexcept = 0;

    std::string frame;  // task_header_size bytes (id filled in at dispatch) + payload
};

template <class R>
class typed_pool_call final : public pool_call {
public:
    typed_pool_call() : state_(new weft::detail::future_state<R>()) {}
    future<R> get_future() const { return future<R>(state_); }

    bool start() override { return state_->set_running_or_notify_cancel(); }
    void complete(std::string_view result) noexcept override {
        try {
            if constexpr (std::is_void_v<R>) {
                state_->set_value();
            } else {
                reader r(result);
                R value = make_for_load<R>();
                r(value);
                state_->set_value(std::move(value));
            }
        } catch (...) {
            fail(std::current_exception());
        }
    }
    void fail(std::exception_ptr error) noexcept override {
        try {
            state_->set_exception(std::move(error));
        } catch (...) {  // already done: nothing to report
        }
    }
    void cancel() noexcept override { state_->cancel(); }

private:
    weft::detail::state_ref<weft::detail::future_state<R>> state_;
};

/// Builds a call's task frame: the header (bytes 0-7: the call id, written by the pool when it
/// sends the frame to a worker; 8-15: `invoker`; 16-19: payload size), then the payload that
/// `write_payload` serializes (the function and its arguments).
template <class R, class Write>
std::unique_ptr<typed_pool_call<R>> make_call(task_fn invoker, Write&& write_payload) {
    auto call = std::make_unique<typed_pool_call<R>>();
    std::string& frame = call->frame;
    frame.resize(task_header_size);
    {
        writer w(frame);
        write_payload(w);
    }
    auto fn = reinterpret_cast<std::uint64_t>(invoker);
    auto size = static_cast<std::uint32_t>(frame.size() - task_header_size);
    std::memcpy(frame.data() + 8, &fn, sizeof fn);
    std::memcpy(frame.data() + 16, &size, sizeof size);
    return call;
}

class pool_core;

}  // namespace mp::detail

/// Settings of a process pool.
struct process_pool_options {
    /// A worker exits after this many calls and a fresh one replaces it (0: never).
    std::size_t max_tasks_per_child = 0;
    /// How workers start (empty: `mp::get_start_method()`).
    std::optional<mp::start_method> method{};
};

/// A pool of worker processes (see the file comment).
///
/// Example: `weft::process_pool_executor pool{2}; auto f = pool.submit(crunch, 1'000'000L);`
class process_pool_executor {
public:
    /// Life-cycle states; errors about misuse name the state.
    enum class state : std::uint8_t { running, shutting_down, shut_down, broken };

    /// Starts `max_workers` worker processes.
    /// Example: `weft::process_pool_executor pool{4, {.max_tasks_per_child = 100}};`
    explicit process_pool_executor(std::size_t max_workers = default_max_workers(),
                                   process_pool_options options = {});
    process_pool_executor(const process_pool_executor&) = delete;
    process_pool_executor& operator=(const process_pool_executor&) = delete;
    /// `shutdown(wait = true)`.
    ~process_pool_executor();

    /// The number of CPUs this process may use (Python's default).
    static std::size_t default_max_workers() noexcept;

    /// Schedules `fn(args...)` in a worker and returns its future.
    /// Example: `auto f = pool.submit([](std::string s) { return s.size(); }, std::string("abc"));`
    template <class Fn, class... Args>
    auto submit(Fn&& fn, Args&&... args) {
        using F = std::decay_t<Fn>;
        using Tuple = std::tuple<std::decay_t<Args>...>;
        using R = std::invoke_result_t<F&, std::decay_t<Args>&...>;
        static_assert(mp::detail::transferable_function_v<F>,
                      "process_pool_executor::submit needs a function pointer or a captureless lambda: "
                      "pass data as arguments");
        static_assert((mp::detail::serializable_v<std::decay_t<Args>> && ...),
                      "process_pool_executor::submit: every argument must be cereal-serializable");
        static_assert((mp::detail::loadable_v<std::decay_t<Args>> && ...),
                      "process_pool_executor::submit: arguments must be default-constructible");
        static_assert(std::is_void_v<R> || (mp::detail::serializable_v<R> && mp::detail::loadable_v<R>),
                      "process_pool_executor::submit: the result must be cereal-serializable and "
                      "default-constructible");
        auto call = mp::detail::make_call<R>(&mp::detail::invoke_call<F, Tuple>, [&](mp::detail::writer& w) {
            mp::detail::write_function<F>(w, fn);
            if constexpr (sizeof...(Args) > 0) w(args...);
        });
        auto result = call->get_future();
        schedule(std::move(call));
        return result;
    }

    /// Runs `fn(item)` for every item in worker processes, `chunksize` items per call, and
    /// returns the results in input order (nothing for a `void` fn). If a call throws, the
    /// calls not yet started are cancelled and the first error in input order is rethrown.
    /// Example: `auto squares = pool.map([](int x) { return x * x; }, std::views::iota(0, 1000), 100);`
    template <class Fn, std::ranges::input_range Range>
    auto map(Fn fn, Range&& items, std::size_t chunksize = 1) {
        using F = std::decay_t<Fn>;
        using Item = std::decay_t<std::ranges::range_reference_t<Range>>;
        using R = std::invoke_result_t<F&, Item&>;
        using Chunk = std::conditional_t<std::is_void_v<R>, void, std::vector<R>>;
        static_assert(mp::detail::transferable_function_v<F>,
                      "process_pool_executor::map needs a function pointer or a captureless lambda");
        if (chunksize == 0) throw std::invalid_argument("process_pool_executor::map: chunksize must be at least 1");
        std::vector<future<Chunk>> futures;
        std::vector<Item> chunk;
        auto flush = [&] {
            auto call = mp::detail::make_call<Chunk>(&mp::detail::invoke_chunk<F, Item>, [&](mp::detail::writer& w) {
                mp::detail::write_function<F>(w, fn);
                w(chunk);
            });
            futures.push_back(call->get_future());
            schedule(std::move(call));
            chunk.clear();
        };
        try {
            for (auto&& item : items) {
                chunk.push_back(std::forward<decltype(item)>(item));
                if (chunk.size() == chunksize) flush();
            }
            if (!chunk.empty()) flush();
            if constexpr (std::is_void_v<R>) {
                for (auto& f : futures) f.result();
            } else {
                std::vector<R> results;
                for (auto& f : futures) {
                    auto part = f.take_result();
                    for (auto& r : part) results.push_back(std::move(r));
                }
                return results;
            }
        } catch (...) {
            for (auto& f : futures) f.cancel();
            throw;
        }
    }

    /// Stops accepting calls. `cancel_futures`: calls not yet handed to a worker are cancelled
    /// (else they still run). `wait`: returns once every call is done and the workers have
    /// exited and been reaped (else at once; the destructor waits). Idempotent.
    /// Example: `pool.shutdown(/*wait=*/true, /*cancel_futures=*/true);`
    void shutdown(bool wait = true, bool cancel_futures = false);

    /// The current life-cycle state.
    state current_state() const;
    /// The number of worker processes.
    std::size_t max_workers() const noexcept;
    /// The pids of the live workers (for monitoring and tests).
    std::vector<pid_t> worker_pids() const;

private:
    void schedule(std::unique_ptr<mp::detail::pool_call> call);

    std::unique_ptr<mp::detail::pool_core> core_;
};

}  // namespace weft
