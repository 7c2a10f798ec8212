// Signals as loop events: the real handler only writes the signal number to a self-pipe;
// the loop reads the pipe and runs the registered callback like any other I/O callback.
// One loop at a time may own signal handlers (as in asyncio, where only the main thread's
// loop can). The self-pipe works whatever the signal mask of other threads is.

#include <weft/event_loop.hpp>

#include "aio/signals.hpp"
#include "common/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <cstring>
#include <system_error>

namespace weft {

namespace {
int signal_pipe[2] = {-1, -1};
std::atomic<event_loop*> signal_owner{nullptr};
std::atomic<bool> exit_on_second_interrupt{false};
std::atomic<int> interrupts_seen{0};

extern "C" void weft_signal_handler(int signal_number) {
    int saved_errno = errno;
    if (signal_number == SIGINT && exit_on_second_interrupt.load(std::memory_order_relaxed) &&
        interrupts_seen.fetch_add(1, std::memory_order_relaxed) >= 1) {
        ::_exit(130);  // a second Ctrl-C: leave at once
    }
    unsigned char byte = static_cast<unsigned char>(signal_number);
    [[maybe_unused]] auto n = ::write(signal_pipe[1], &byte, 1);
    errno = saved_errno;
}

void ensure_signal_pipe() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (::pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
            throw std::system_error(errno, std::generic_category(), "pipe2 for signal delivery");
        }
    });
}
}  // namespace

void detail::exit_on_repeated_interrupt(bool enabled) noexcept {
    interrupts_seen.store(0, std::memory_order_relaxed);
    exit_on_second_interrupt.store(enabled, std::memory_order_relaxed);
}

void event_loop::signal_reader::on_io_ready() {
    unsigned char buffer[64];
    for (;;) {
        auto n = ::read(signal_pipe[0], buffer, sizeof buffer);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; ++i) loop_.dispatch_signal(buffer[i]);
    }
}

void event_loop::add_signal_handler(int signal_number, std::function<void()> fn) {
    if (signal_number <= 0 || signal_number >= NSIG || signal_number == SIGKILL || signal_number == SIGSTOP) {
        throw std::invalid_argument("add_signal_handler: invalid signal number " + std::to_string(signal_number));
    }
    if (is_closed()) throw invalid_state_error("add_signal_handler() on a closed event loop");
    ensure_signal_pipe();
    event_loop* expected = nullptr;
    if (!signal_owner.compare_exchange_strong(expected, this) && expected != this) {
        throw invalid_state_error("add_signal_handler(): another event loop owns the signal handlers");
    }
    if (!signals_) {
        signals_ = std::make_unique<signal_reader>(*this);
        watch_readable(signal_pipe[0], signals_.get());
    }
    struct sigaction action {};
    action.sa_handler = weft_signal_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (::sigaction(signal_number, &action, nullptr) != 0) {
        throw std::system_error(errno, std::generic_category(),
                                "sigaction for signal " + std::to_string(signal_number));
    }
    signal_handlers_[signal_number] = std::move(fn);
}

bool event_loop::remove_signal_handler(int signal_number) {
    auto it = signal_handlers_.find(signal_number);
    if (it == signal_handlers_.end()) return false;
    signal_handlers_.erase(it);
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    ::sigaction(signal_number, &action, nullptr);
    if (signal_handlers_.empty() && signals_) {
        unwatch_readable(signal_pipe[0]);
        signals_.reset();
        signal_owner.store(nullptr);
    }
    return true;
}

void event_loop::dispatch_signal(int signal_number) {
    auto it = signal_handlers_.find(signal_number);
    if (it == signal_handlers_.end()) return;
    auto fn = it->second;  // the handler may remove itself
    try {
        fn();
    } catch (...) {
        detail::log().error("exception in handler for signal {}: {}", signal_number,
                            describe(std::current_exception()));
    }
}

}  // namespace weft
