#include <weft/event_loop.hpp>

#include "aio/signals.hpp"
#include "common/log.hpp"
#include "reactor/reactor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace weft {

namespace {
thread_local event_loop* current_loop = nullptr;

const char* state_name(event_loop::state s) {
    switch (s) {
        case event_loop::state::idle: return "idle";
        case event_loop::state::running: return "running";
        case event_loop::state::stopping: return "stopping";
        case event_loop::state::closed: return "closed";
    }
    return "?";
}

bool debug_from_environment() {
    const char* value = std::getenv("WEFT_DEBUG");
    return value && *value && std::strcmp(value, "0") != 0;
}

void log_callback_error(const char* where) {
    detail::log().error("exception in {}: {}", where, describe(std::current_exception()));
}
}  // namespace

// ---- callbacks ---------------------------------------------------------------------------

void detail::scheduled_callback::run() {
    auto self = std::move(keep_alive);
    if (cancelled) return;
    try {
        fn();
    } catch (...) {
        log_callback_error("callback");
    }
}

void detail::scheduled_callback::fire() { loop->schedule(this); }

void callback_handle::cancel() noexcept {
    if (!cb_ || cb_->cancelled) return;
    cb_->cancelled = true;
    if (cb_->armed()) {
        cb_->loop->disarm(cb_.get());
        cb_->keep_alive.reset();
    }
}

class event_loop::function_io_callback final : public detail::io_callback {
public:
    explicit function_io_callback(std::function<void()> fn) : fn_(std::move(fn)) {}
    void on_io_ready() override {
        auto keep = fn_;  // the callback may remove itself
        try {
            keep();
        } catch (...) {
            log_callback_error("I/O callback");
        }
    }

private:
    std::function<void()> fn_;
};

// Reads the eventfd that call_soon_threadsafe writes to wake the loop.
class event_loop::wakeup_reader final : public detail::io_callback {
public:
    explicit wakeup_reader(event_loop& loop) : loop_(loop), fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~wakeup_reader() { ::close(fd_); }
    int fd() const noexcept { return fd_; }
    void notify() noexcept {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
    }
    void on_io_ready() override {
        std::uint64_t count;
        [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
        loop_.drain_threadsafe_queue();
    }

private:
    event_loop& loop_;
    int fd_;
};

// ---- life cycle ---------------------------------------------------------------------------

event_loop::event_loop(loop_options options)
    : virtual_time_(options.virtual_time),
      debug_(options.debug || debug_from_environment()),
      now_(clock::now()),
      reactor_(std::make_unique<detail::reactor>()),
      wakeup_(std::make_unique<wakeup_reader>(*this)) {
    watch_readable(wakeup_->fd(), wakeup_.get());
}

event_loop::~event_loop() {
    if (is_running()) {
        detail::log().critical("event loop destroyed while running");
        std::terminate();
    }
    close();
}

event_loop* event_loop::current() noexcept { return current_loop; }

void event_loop::throw_if_cannot_run(const char* what) const {
    if (state_ != state::idle) {
        throw invalid_state_error(std::string(what) + "() on an event loop that is " + state_name(state_));
    }
    if (current_loop && current_loop != this) {
        throw invalid_state_error(std::string(what) +
                                  "(): another event loop is already running on this thread");
    }
}

void event_loop::run_forever() {
    throw_if_cannot_run("run_forever");
    struct guard {
        event_loop& loop;
        event_loop* previous;
        ~guard() {
            loop.state_ = state::idle;
            loop.stop_requested_.store(false, std::memory_order_relaxed);
            current_loop = previous;
        }
    } restore{*this, current_loop};
    current_loop = this;
    state_ = state::running;
    now_ = virtual_time_ ? now_ : clock::now();
    for (;;) {
        run_once();
        if (stop_requested_.load(std::memory_order_relaxed)) break;
    }
}

void event_loop::stop() noexcept {
    stop_requested_.store(true, std::memory_order_relaxed);
    if (state_ == state::running) state_ = state::stopping;
}

void event_loop::stop_threadsafe() {
    call_soon_threadsafe([this] { stop(); });
}

void event_loop::close() {
    if (state_ == state::closed) return;
    if (is_running()) throw invalid_state_error("close() on an event loop that is running");
    // Queued items first (a queued task may be freed by abandoning another), then pending
    // tasks: destroying their frames unhooks their timers, fds and listeners, and may queue
    // others (a lock passed on), so the queue is drained again after each.
    auto drain_ready = [this] {
        while (auto* item = ready_.pop()) item->discard();
    };
    drain_ready();
    while (auto* t = tasks_.pop_front()) {
        t->abandon();
        drain_ready();
    }
    while (auto* node = timers_.pop()) node->discard();
    while (!signal_handlers_.empty()) remove_signal_handler(signal_handlers_.begin()->first);
    reader_fns_.clear();
    writer_fns_.clear();
    unwatch_readable(wakeup_->fd());
    {
        std::lock_guard lock(threadsafe_mutex_);
        threadsafe_calls_.clear();
        closed_for_threadsafe_ = true;
    }
    state_ = state::closed;
}

// ---- one iteration ------------------------------------------------------------------------

void event_loop::run_once() {
    int timeout_ms = -1;
    if (!ready_.empty() || stop_requested_.load(std::memory_order_relaxed)) {
        timeout_ms = 0;
    } else if (auto* next = timers_.top()) {
        if (virtual_time_) {
            timeout_ms = 0;
        } else {
            auto wait = next->deadline - clock::now();
            if (wait <= duration::zero()) timeout_ms = 0;
            else {
                auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
                timeout_ms = static_cast<int>(std::min<long long>(ms, INT_MAX));
            }
        }
    }

    // While work is queued, poll I/O only every `busy_poll_interval`-th iteration (Tokio
    // polls every 61st): an epoll_wait costs ~100 ns, as much as running a small task, and a
    // spawn-and-await takes two iterations. I/O and cross-thread wake-ups wait at most that
    // many iterations; an idle loop (timeout_ms != 0) always polls.
    detail::io_event events[128];
    int n = 0;
    if (timeout_ms != 0 || ++busy_iterations_ >= busy_poll_interval) {
        busy_iterations_ = 0;
        n = reactor_->poll(events, 128, timeout_ms);
    }
    if (!virtual_time_) now_ = clock::now();
    // Served in the order epoll reports them. Streams are edge-triggered, so that is the
    // order their bytes arrived in: first come, first served, which keeps the tail latency
    // close to the median. (Level-triggered, an fd that stays ready keeps its place in the
    // ready list and one that was not ready goes to the back: a few connections ended up
    // waiting two rounds while the rest waited one.)
    for (int i = 0; i < n; ++i) {
        int fd = events[i].fd;
        if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) continue;
        if ((events[i].events & detail::io_readable) && fds_[fd].reader) {
            if (events[i].events & detail::io_hangup) fds_[fd].reader->on_hangup();
            fds_[fd].reader->on_io_ready();
        }
        if (static_cast<std::size_t>(fd) >= fds_.size()) continue;
        if ((events[i].events & detail::io_writable) && fds_[fd].writer) fds_[fd].writer->on_io_ready();
    }

    if (virtual_time_ && n == 0 && ready_.empty() && !timers_.empty()) {
        now_ = std::max(now_, timers_.top()->deadline);
    }
    while (auto* node = timers_.top()) {
        if (node->deadline > now_) break;
        timers_.pop();
        node->fire();
    }
    run_ready_batch();
}

void event_loop::run_ready_batch() {
    detail::ready_queue batch = ready_.take_all();
    if (!debug_) {
        while (auto* item = batch.pop()) item->run();
        return;
    }
    while (auto* item = batch.pop()) {
        auto started = clock::now();
        std::string what = item->describe();  // before run: the item may be gone after
        item->run();
        auto took = clock::now() - started;
        if (took >= slow_callback_duration) {
            detail::log().warn("executing {} took {:.3f} seconds (blocking the event loop)", what,
                               std::chrono::duration<double>(took).count());
        }
    }
}

// ---- scheduling API -----------------------------------------------------------------------

callback_handle event_loop::call_soon(std::function<void()> fn) {
    if (is_closed()) throw invalid_state_error("call_soon() on a closed event loop");
    auto cb = std::make_shared<detail::scheduled_callback>(this, std::move(fn));
    cb->keep_alive = cb;
    schedule(cb.get());
    return callback_handle(std::move(cb));
}

callback_handle event_loop::call_later(duration delay, std::function<void()> fn) {
    return call_at(now_ + delay, std::move(fn));
}

callback_handle event_loop::call_at(time_point when, std::function<void()> fn) {
    if (is_closed()) throw invalid_state_error("call_at() on a closed event loop");
    auto cb = std::make_shared<detail::scheduled_callback>(this, std::move(fn));
    cb->keep_alive = cb;
    arm(cb.get(), when);
    return callback_handle(std::move(cb));
}

void event_loop::call_soon_threadsafe(std::function<void()> fn) {
    bool first;
    {
        std::lock_guard lock(threadsafe_mutex_);
        if (closed_for_threadsafe_) throw invalid_state_error("call_soon_threadsafe() on a closed event loop");
        first = threadsafe_calls_.empty();
        threadsafe_calls_.push_back(std::move(fn));
    }
    if (first) wakeup_->notify();
}

void event_loop::drain_threadsafe_queue() {
    std::vector<std::function<void()>> calls;
    {
        std::lock_guard lock(threadsafe_mutex_);
        calls.swap(threadsafe_calls_);
    }
    for (auto& fn : calls) {
        try {
            fn();
        } catch (...) {
            log_callback_error("call_soon_threadsafe callback");
        }
    }
}

// ---- file descriptors ---------------------------------------------------------------------

std::uint32_t event_loop::fd_watch::interest() const noexcept {
    return (reader ? detail::io_readable | (edge ? detail::io_edge : 0u) : 0u) | (writer ? detail::io_writable : 0u);
}

void event_loop::update_interest(int fd) {
    auto& w = fds_[fd];
    std::uint32_t wanted = w.interest();
    std::uint32_t previous = w.registered;
    w.registered = wanted;
    try {
        reactor_->set_interest(fd, previous, wanted);
    } catch (...) {
        w.registered = previous;
        throw;
    }
}

void event_loop::watch_readable(int fd, detail::io_callback* cb, bool edge_triggered) {
    if (fd < 0) throw std::system_error(EBADF, std::generic_category(), "watch fd " + std::to_string(fd));
    if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(fd + 1);
    auto& w = fds_[fd];
    auto* previous = w.reader;
    bool previous_edge = w.edge;
    w.reader = cb;
    w.edge = edge_triggered;
    try {
        update_interest(fd);
    } catch (...) {
        w.reader = previous;
        w.edge = previous_edge;
        throw;
    }
}

void event_loop::watch_writable(int fd, detail::io_callback* cb) {
    if (fd < 0) throw std::system_error(EBADF, std::generic_category(), "watch fd " + std::to_string(fd));
    if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(fd + 1);
    auto* previous = fds_[fd].writer;
    fds_[fd].writer = cb;
    try {
        update_interest(fd);
    } catch (...) {
        fds_[fd].writer = previous;
        throw;
    }
}

void event_loop::unwatch_readable(int fd) noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size() || !fds_[fd].reader) return;
    fds_[fd].reader = nullptr;
    fds_[fd].edge = false;
    try {
        update_interest(fd);
    } catch (...) {
        fds_[fd].registered = fds_[fd].interest();
    }
}

void event_loop::unwatch_writable(int fd) noexcept {
    if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size() || !fds_[fd].writer) return;
    fds_[fd].writer = nullptr;
    try {
        update_interest(fd);
    } catch (...) {
        fds_[fd].registered = fds_[fd].interest();
    }
}

void event_loop::add_reader(int fd, std::function<void()> fn) {
    auto cb = std::make_unique<function_io_callback>(std::move(fn));
    watch_readable(fd, cb.get());
    reader_fns_[fd] = std::move(cb);
}

bool event_loop::remove_reader(int fd) {
    auto it = reader_fns_.find(fd);
    if (it == reader_fns_.end()) return false;
    unwatch_readable(fd);
    reader_fns_.erase(it);
    return true;
}

void event_loop::add_writer(int fd, std::function<void()> fn) {
    auto cb = std::make_unique<function_io_callback>(std::move(fn));
    watch_writable(fd, cb.get());
    writer_fns_[fd] = std::move(cb);
}

bool event_loop::remove_writer(int fd) {
    auto it = writer_fns_.find(fd);
    if (it == writer_fns_.end()) return false;
    unwatch_writable(fd);
    writer_fns_.erase(it);
    return true;
}

// ---- tasks --------------------------------------------------------------------------------

void event_loop::register_task(detail::task_state_base* t) noexcept { tasks_.push_back(t); }
void event_loop::unregister_task(detail::task_state_base* t) noexcept {
    detail::intrusive_list<detail::task_state_base>::unlink(t);
}

std::vector<any_task> event_loop::all_tasks() const {
    std::vector<any_task> result;
    const_cast<detail::intrusive_list<detail::task_state_base>&>(tasks_).for_each(
        [&](detail::task_state_base* t) { result.emplace_back(t); });
    return result;
}

}  // namespace weft
