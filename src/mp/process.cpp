#include <weft/mp/process.hpp>

#include <signal.h>

#include <atomic>

namespace weft::mp {

namespace detail {
std::string next_process_name() {
    static std::atomic<unsigned> counter{0};
    return "process-" + std::to_string(++counter);
}
}  // namespace detail

namespace {
const char* state_name(process::state s) {
    switch (s) {
        case process::state::initial: return "initial";
        case process::state::started: return "started";
        case process::state::stopped: return "stopped";
    }
    return "?";
}
}  // namespace

process::~process() {
    if (state_ == state::started) child_.wait_until(nullptr);
}

void process::start() {
    if (state_ != state::initial)
        throw invalid_state_error("process '" + name_ + "' cannot be started twice (state: " + state_name(state_) + ")");
    start_method method = method_.value_or(get_start_method());
    if (method == start_method::fork) {
        child_ = detail::spawn_fork(body_, name_);
    } else {
        if (!entry_)
            throw invalid_state_error(
                "process '" + name_ +
                "': the forkserver start method needs a function pointer or a captureless lambda and "
                "cereal-serializable, default-constructible arguments; use start_method::fork for "
                "anything else");
        child_ = detail::spawn_forkserver(entry_, serialize_(name_), {});
    }
    state_ = state::started;
}

void process::require_started(const char* what) const {
    if (state_ == state::initial)
        throw invalid_state_error(std::string("cannot ") + what + " process '" + name_ + "' before start() (state: initial)");
}

bool process::join() {
    require_started("join");
    child_.wait_until(nullptr);
    state_ = state::stopped;
    return true;
}

bool process::join(duration timeout) {
    require_started("join");
    auto deadline = detail::deadline_after(timeout);
    if (!child_.wait_until(&deadline)) return false;
    state_ = state::stopped;
    return true;
}

bool process::is_alive() {
    if (state_ != state::started) return false;
    if (child_.poll()) state_ = state::stopped;
    return state_ == state::started;
}

std::optional<int> process::exitcode() {
    if (state_ == state::initial) return std::nullopt;
    child_.poll();
    return child_.exitcode();
}

void process::terminate() {
    require_started("terminate");
    child_.send_signal(SIGTERM);
}

void process::kill() {
    require_started("kill");
    child_.send_signal(SIGKILL);
}

}  // namespace weft::mp
