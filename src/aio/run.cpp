#include <weft/run.hpp>

#include "aio/signals.hpp"
#include "common/log.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <memory>

namespace weft::detail {

namespace {
bool on_main_thread() { return ::syscall(SYS_gettid) == ::getpid(); }

bool has_default_disposition(int signal_number) {
    struct sigaction current {};
    ::sigaction(signal_number, nullptr, &current);
    return current.sa_handler == SIG_DFL;
}

// Cancels every task still pending and runs the loop until they are all done.
void cancel_remaining_tasks(event_loop& loop) {
    auto pending = loop.all_tasks();
    if (pending.empty()) return;
    for (auto& t : pending) t.cancel();
    // Run the loop until the last of them is done (asyncio: run_until_complete(gather(...))).
    // Waiting through done callbacks, not by polling, lets a task's cleanup sleep: virtual time
    // then advances, and real time does not spin.
    auto remaining = std::make_shared<std::size_t>(0);
    for (auto& t : pending) {
        if (t.done()) continue;
        ++*remaining;
        t.add_done_callback([remaining, &loop](const any_task&) {
            if (--*remaining == 0) loop.stop();
        });
    }
    if (*remaining > 0) loop.run_forever();
    for (auto& t : pending) {
        if (!t.cancelled()) {
            auto error = t.exception();
            if (error) log().error("unhandled exception during shutdown in task '{}': {}", t.name(), describe(error));
        }
    }
}
}  // namespace

void run_main(event_loop& loop, const any_task& main) {
    int interrupted_by = 0;
    std::vector<int> installed;
    if (on_main_thread()) {
        for (int sig : {SIGINT, SIGTERM}) {
            if (!has_default_disposition(sig)) continue;
            loop.add_signal_handler(sig, [&interrupted_by, &main, sig] {
                if (!interrupted_by) interrupted_by = sig;
                main.cancel();
            });
            installed.push_back(sig);
        }
        exit_on_repeated_interrupt(true);
    }
    struct cleanup {
        event_loop& loop;
        std::vector<int>& installed;
        ~cleanup() {
            for (int sig : installed) loop.remove_signal_handler(sig);
            if (!installed.empty()) exit_on_repeated_interrupt(false);
        }
    } restore{loop, installed};

    main.add_done_callback([&loop](any_task) { loop.stop(); });
    loop.run_forever();
    cancel_remaining_tasks(loop);
    if (!main.done()) throw invalid_state_error("event loop stopped before the main task completed");
    if (interrupted_by && main.cancelled()) throw keyboard_interrupt(interrupted_by);
}

}  // namespace weft::detail
