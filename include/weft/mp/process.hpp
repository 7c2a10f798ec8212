#pragma once
/// \file
/// `weft::mp::process`: run a function in another process (Python's `multiprocessing.Process`).
///
/// The process starts with `start()` using the default start method (see
/// `<weft/mp/start_method.hpp>`: the forkserver unless `fork` was chosen). When the function
/// returns, the child exits with code 0. An exception escaping it is printed to the child's
/// stderr ("Process <name>: uncaught exception <type>: <message>") and the exit code is 1.
/// A child killed by a signal has `exitcode() == -signal` (as in Python).
///
/// With `forkserver`, `fn` must be a function pointer or a captureless lambda and the arguments
/// cereal-serializable (weft::mp objects such as `mp::lock` and `mp::queue` are); they are
/// serialized by `start()`. With `fork`, anything callable works.
///
/// Example:
/// \code
///   weft::mp::queue<int> results{16};
///   weft::mp::process p([](weft::mp::queue<int> q, int x) { q.put(x * x); }, results, 7);
///   p.start();
///   int r = results.get();          // 49
///   p.join();
///   assert(p.exitcode() == 0);
/// \endcode
///
/// *Throws:* `start()` throws `invalid_state_error` if already started, or when the forkserver
/// cannot be used (see start_method.hpp); `std::system_error` if the OS refuses.
/// *Cancellation:* `terminate()` sends SIGTERM, `kill()` SIGKILL; `join` never kills.
/// *Thread-safety:* one `process` object belongs to one thread at a time.

#include <weft/errors.hpp>
#include <weft/mp/detail/spawn.hpp>
#include <weft/mp/detail/wire.hpp>
#include <weft/mp/start_method.hpp>

#include <sys/types.h>

#include <chrono>
#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace weft::mp {

/// Settings of a process: its name and its start method (default: `get_start_method()`).
struct process_options {
    std::string name{};                   ///< empty: "process-N"
    std::optional<start_method> method{};  ///< empty: the default start method
};

namespace detail {

// In the child started by the forkserver: [name][function][arguments] -> fn(args...).
template <class F, class Tuple>
int run_serialized(std::string_view payload, std::span<const int>) {
    std::string name;
    {
        reader r(payload);
        r(name);
    }
    return call_reporting(name, [payload] {
        reader r(payload);
        r.read<std::string>();
        F f = read_function<F>(r);
        auto args = read_arguments<Tuple>(r);
        std::apply(f, args);
        return 0;
    });
}

std::string next_process_name();

}  // namespace detail

/// A function running in another process. See the file comment.
class process {
public:
    using duration = std::chrono::steady_clock::duration;
    /// Life-cycle states; misuse errors name the state.
    enum class state { initial, started, stopped };

    /// Prepares `fn(args...)`; nothing runs until `start()`. Arguments are copied now.
    /// Example: `weft::mp::process p(work, 1, std::string("a"));`
    template <class Fn, class... Args>
        requires std::invocable<std::decay_t<Fn>&, std::decay_t<Args>&...>
    explicit process(Fn&& fn, Args&&... args)
        : process(process_options{}, std::forward<Fn>(fn), std::forward<Args>(args)...) {}

    /// Same, with a name and/or a start method.
    /// Example: `weft::mp::process p({.name = "crawler", .method = weft::mp::start_method::fork}, run);`
    template <class Fn, class... Args>
        requires std::invocable<std::decay_t<Fn>&, std::decay_t<Args>&...>
    process(process_options options, Fn&& fn, Args&&... args)
        : name_(options.name.empty() ? detail::next_process_name() : std::move(options.name)),
          method_(options.method) {
        using F = std::decay_t<Fn>;
        using Tuple = std::tuple<std::decay_t<Args>...>;
        auto shared = std::make_shared<std::pair<F, Tuple>>(std::forward<Fn>(fn), Tuple(std::forward<Args>(args)...));
        body_ = [shared] {
            std::apply(shared->first, shared->second);
            return 0;
        };
        if constexpr (detail::transferable_function_v<F> && (detail::serializable_v<std::decay_t<Args>> && ...) &&
                      (detail::loadable_v<std::decay_t<Args>> && ...)) {
            entry_ = &detail::run_serialized<F, Tuple>;
            serialize_ = [shared](std::string_view name) {
                std::string out;
                detail::writer w(out);
                w(std::string(name));
                detail::write_function(w, shared->first);
                detail::write_arguments(w, shared->second);
                return out;
            };
        }
    }

    process(const process&) = delete;
    process& operator=(const process&) = delete;
    /// Moves the process (the source becomes a never-started process).
    process(process&& other) noexcept
        : name_(std::move(other.name_)), method_(other.method_), body_(std::move(other.body_)),
          entry_(other.entry_), serialize_(std::move(other.serialize_)), child_(std::move(other.child_)),
          state_(std::exchange(other.state_, state::initial)) {}
    process& operator=(process&&) = delete;
    /// Waits for a started process to end (like `std::jthread`). Call `join`, `terminate` or
    /// `kill` first if you do not want to wait here.
    ~process();

    /// Starts the process. Throws `invalid_state_error` if called twice.
    void start();
    /// Waits until the process ends; true once it has ended. Throws `invalid_state_error` if
    /// it was never started.
    /// Example: `if (!p.join(1s)) p.kill();`
    bool join();
    bool join(duration timeout);
    /// True between `start()` and the end of the process.
    bool is_alive();
    /// Python's exitcode: empty while running (or never started), the exit status once ended,
    /// `-N` if signal N killed it.
    std::optional<int> exitcode();
    /// Sends SIGTERM (Python's `terminate`); harmless if it already ended.
    void terminate();
    /// Sends SIGKILL; harmless if it already ended.
    void kill();
    /// The child's pid (-1 before start()).
    pid_t pid() const noexcept { return child_.pid(); }
    /// The name ("process-N" unless given).
    const std::string& name() const noexcept { return name_; }
    /// The current life-cycle state.
    state current_state() const noexcept { return state_; }

private:
    void require_started(const char* what) const;

    std::string name_;
    std::optional<start_method> method_;
    std::function<int()> body_;
    detail::entry_fn entry_ = nullptr;
    std::function<std::string(std::string_view)> serialize_;
    detail::child_process child_;
    state state_ = state::initial;
};

}  // namespace weft::mp
