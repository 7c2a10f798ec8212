// The parent side of weft::process_pool_executor.
//
// Each worker has a socketpair to the pool. A submitting thread hands a call straight to the
// least-loaded worker (one send) while that worker has room (few calls in flight, few bytes
// buffered), else queues it. One manager thread polls every worker's socket and sentinel:
// it reads result frames in batches, completes futures (outside the lock), refills workers
// from the queue, replaces workers that retired (max_tasks_per_child), and turns the death of
// a worker with work in flight into broken_process_pool for every unfinished future.

#include <weft/mp/detail/pool_protocol.hpp>
#include <weft/mp/detail/spawn.hpp>
#include <weft/process_pool_executor.hpp>

#include "common/log.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

#if defined(__linux__)
#include <linux/close_range.h>
#endif

namespace weft {

namespace mp::detail {

namespace {

// A worker gets another call only while it has fewer than this many in flight...
constexpr std::size_t max_calls_in_flight = 16;
// ... and fewer bytes buffered than this (so that a send never blocks on a full socket).
constexpr std::size_t max_bytes_in_flight = 64 * 1024;
// How long shutdown waits for a worker to exit after the exit frame, before SIGKILL.
constexpr auto worker_exit_grace = std::chrono::seconds(10);

[[noreturn]] void sys_fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

const char* state_name(process_pool_executor::state s) {
    switch (s) {
        case process_pool_executor::state::running: return "running";
        case process_pool_executor::state::shutting_down: return "shutting_down";
        case process_pool_executor::state::shut_down: return "shut_down";
        case process_pool_executor::state::broken: return "broken";
    }
    return "?";
}

struct in_flight {
    std::uint64_t id;
    std::unique_ptr<pool_call> call;
};

struct worker {
    child_process proc;
    int sock = -1;
    std::deque<in_flight> calls;
    std::size_t bytes = 0;   // frame bytes of the calls in flight
    std::uint64_t sent = 0;  // calls handed to it in its life
    bool eof = false;        // its socket reached end of file
    bool told_to_exit = false;
    std::string rx;          // received, not yet parsed (manager thread only)

    ~worker() {
        if (sock >= 0) close(sock);
    }
};

struct finished_call {
    std::unique_ptr<pool_call> call;
    result_kind kind;
    std::string payload;
};

}  // namespace

class pool_core {
public:
    using state = process_pool_executor::state;

    pool_core(std::size_t max_workers, process_pool_options options)
        : max_workers_(max_workers), options_(options),
          method_(options.method.value_or(get_start_method())) {
        if (max_workers == 0) throw std::invalid_argument("process_pool_executor needs at least one worker");
        wake_fd_ = checked_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");
        try {
            for (std::size_t i = 0; i < max_workers; ++i) workers_.push_back(start_worker());
        } catch (...) {
            stop_workers(workers_);
            close(wake_fd_);
            throw;
        }
        manager_ = std::thread([this] { manage(); });
    }

    ~pool_core() {
        shutdown(true, false);
        close(wake_fd_);
    }

    void schedule(std::unique_ptr<pool_call> call) {
        std::lock_guard lock(mutex_);
        if (state_ == state::broken) throw broken_process_pool(broken_reason_);
        if (state_ != state::running)
            throw invalid_state_error(std::string("cannot schedule new calls after shutdown (state: ") +
                                      state_name(state_) + ")");
        if (pending_.empty()) {
            if (worker* w = least_loaded(call->frame.size())) {
                dispatch(*w, std::move(call));
                return;
            }
        }
        pending_.push_back(std::move(call));
    }

    void shutdown(bool wait, bool cancel_futures) {
        std::deque<std::unique_ptr<pool_call>> cancelled;
        {
            std::lock_guard lock(mutex_);
            if (state_ == state::running) state_ = state::shutting_down;
            if (cancel_futures) cancelled.swap(pending_);
        }
        for (auto& c : cancelled) c->cancel();
        wake();
        if (wait) {
            std::lock_guard join_lock(join_mutex_);
            if (manager_.joinable() && manager_.get_id() != std::this_thread::get_id()) manager_.join();
        }
    }

    state current_state() const {
        std::lock_guard lock(mutex_);
        return state_;
    }
    std::size_t max_workers() const noexcept { return max_workers_; }
    std::vector<pid_t> worker_pids() const {
        std::lock_guard lock(mutex_);
        std::vector<pid_t> pids;
        for (auto& w : workers_) pids.push_back(w->proc.pid());
        return pids;
    }

private:
    std::unique_ptr<worker> start_worker() {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) sys_fail("socketpair for a pool worker");
        auto w = std::make_unique<worker>();
        w->sock = sv[0];
        try {
            std::uint64_t max_tasks = options_.max_tasks_per_child;
            if (method_ == start_method::fork) {
                int child_sock = sv[1];
                w->proc = spawn_fork(
                    [child_sock, max_tasks] {
                        // Keep only stdio and our socket: other pools' and workers' sockets
                        // must not stay open in this child.
                        if (child_sock > 3) close_range(3, static_cast<unsigned>(child_sock - 1), 0);
                        close_range(static_cast<unsigned>(child_sock + 1), ~0U, 0);
                        return pool_worker_loop(child_sock, max_tasks);
                    },
                    "pool worker");
            } else {
                std::string_view payload(reinterpret_cast<const char*>(&max_tasks), sizeof max_tasks);
                int fds[] = {sv[1]};
                w->proc = spawn_forkserver(&pool_worker_entry, payload, fds);
            }
        } catch (...) {
            close(sv[1]);
            throw;  // w closes sv[0]
        }
        close(sv[1]);
        return w;
    }

    // A worker that can take a call of `size` bytes now, the least loaded one; or nullptr.
    worker* least_loaded(std::size_t size) {
        worker* best = nullptr;
        for (auto& w : workers_) {
            if (w->eof || w->told_to_exit || w->calls.size() >= max_calls_in_flight) continue;
            if (options_.max_tasks_per_child != 0 && w->sent >= options_.max_tasks_per_child) continue;
            if (!w->calls.empty() && w->bytes + size > max_bytes_in_flight) continue;
            if (!best || w->calls.size() < best->calls.size()) best = w.get();
        }
        return best;
    }

    // Hands `call` to `w` (mutex held). A send failure means the worker died: the call stays
    // in flight and the manager reports it broken when it sees the death.
    void dispatch(worker& w, std::unique_ptr<pool_call> call) {
        if (!call->start()) return;  // cancelled while queued
        std::uint64_t id = next_id_++;
        std::memcpy(call->frame.data(), &id, sizeof id);
        send_all(w.sock, call->frame.data(), call->frame.size());
        w.bytes += call->frame.size();
        ++w.sent;
        w.calls.push_back({id, std::move(call)});
    }

    // Refills workers from the queue, one send per worker for all the calls it gets.
    void dispatch_pending() {
        std::vector<std::pair<worker*, std::string>> batches;
        while (!pending_.empty()) {
            worker* w = least_loaded(pending_.front()->frame.size());
            if (!w) break;
            auto call = std::move(pending_.front());
            pending_.pop_front();
            if (!call->start()) continue;  // cancelled while queued
            std::uint64_t id = next_id_++;
            std::memcpy(call->frame.data(), &id, sizeof id);
            auto it = std::find_if(batches.begin(), batches.end(), [&](auto& b) { return b.first == w; });
            if (it == batches.end()) it = batches.insert(batches.end(), {w, std::string()});
            it->second += call->frame;
            w->bytes += call->frame.size();
            ++w->sent;
            w->calls.push_back({id, std::move(call)});
        }
        for (auto& [w, bytes] : batches) send_all(w->sock, bytes.data(), bytes.size());
    }

    void wake() noexcept {
        std::uint64_t one = 1;
        (void)!write(wake_fd_, &one, sizeof one);
    }

    // Reads what the worker sent; parses complete result frames into `done`.
    void receive(worker& w, std::vector<finished_call>& done) {
        char buf[1 << 16];
        bool eof = false;
        for (;;) {
            ssize_t n = recv(w.sock, buf, sizeof buf, MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                eof = true;
                break;
            }
            if (n < 0) break;
            w.rx.append(buf, static_cast<std::size_t>(n));
            if (static_cast<std::size_t>(n) < sizeof buf) break;
        }
        std::size_t pos = 0;
        std::lock_guard lock(mutex_);
        if (eof) w.eof = true;
        while (w.rx.size() - pos >= result_header_size) {
            std::uint64_t id;
            std::uint32_t size;
            std::uint8_t kind;
            std::memcpy(&id, w.rx.data() + pos, 8);
            std::memcpy(&size, w.rx.data() + pos + 8, 4);
            std::memcpy(&kind, w.rx.data() + pos + 12, 1);
            if (w.rx.size() - pos - result_header_size < size) break;
            if (w.calls.empty() || w.calls.front().id != id) {
                weft::detail::log().error("process pool: worker {} sent a result for an unknown call {}", w.proc.pid(), id);
            } else {
                auto call = std::move(w.calls.front().call);
                w.calls.pop_front();
                w.bytes -= call->frame.size();
                done.push_back({std::move(call), static_cast<result_kind>(kind),
                                std::string(w.rx, pos + result_header_size, size)});
            }
            pos += result_header_size + size;
        }
        w.rx.erase(0, pos);
    }

    void manage() {
        std::vector<pollfd> fds;
        std::vector<worker*> polled;
        std::vector<finished_call> done;
        std::vector<std::unique_ptr<pool_call>> failed;
        for (;;) {
            fds.clear();
            polled.clear();
            fds.push_back({wake_fd_, POLLIN, 0});
            {
                std::lock_guard lock(mutex_);
                for (auto& w : workers_) {
                    polled.push_back(w.get());
                    fds.push_back({w->eof ? -1 : w->sock, POLLIN, 0});
                    fds.push_back({w->proc.sentinel(), POLLIN, 0});
                }
            }
            if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
                weft::detail::log().error("process pool: poll failed: {}", std::strerror(errno));
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                continue;
            }
            if (fds[0].revents) {
                std::uint64_t count;
                (void)!read(wake_fd_, &count, sizeof count);
            }
            std::vector<worker*> ended;
            for (std::size_t i = 0; i < polled.size(); ++i) {
                bool readable = fds[1 + 2 * i].revents != 0;
                bool dead = fds[2 + 2 * i].revents != 0;
                if (readable || dead) receive(*polled[i], done);  // a dead worker's last results first
                if (dead) ended.push_back(polled[i]);
            }
            bool finished = false;
            std::vector<std::unique_ptr<worker>> to_stop;
            {
                std::lock_guard lock(mutex_);
                for (worker* w : ended) handle_end(*w, failed);
                if (state_ != state::broken) dispatch_pending();
                if (state_ == state::broken) {
                    finished = true;
                } else if (state_ == state::shutting_down && pending_.empty() &&
                           std::all_of(workers_.begin(), workers_.end(), [](auto& w) { return w->calls.empty(); })) {
                    finished = true;
                }
                if (finished) {
                    to_stop.swap(workers_);
                    if (state_ == state::shutting_down) state_ = state::shut_down;
                }
            }
            for (auto& f : done) {
                if (f.kind == result_kind::value) {
                    f.call->complete(f.payload);
                } else {
                    std::string type, message;
                    try {
                        reader r(f.payload);
                        r(type, message);
                    } catch (...) {
                        type = "unknown";
                    }
                    f.call->fail(std::make_exception_ptr(remote_error(type, message)));
                }
            }
            done.clear();
            if (!failed.empty()) {
                auto error = std::make_exception_ptr(broken_process_pool(broken_reason_));
                for (auto& c : failed) c->fail(error);
                failed.clear();
            }
            if (finished) {
                stop_workers(to_stop);
                return;
            }
        }
    }

    // A worker's sentinel fired (mutex held): a retirement, or the pool is broken.
    void handle_end(worker& w, std::vector<std::unique_ptr<pool_call>>& failed) {
        w.proc.wait_until(nullptr);  // it ended: this only reaps
        bool retired = w.calls.empty() && (w.told_to_exit || (options_.max_tasks_per_child != 0 &&
                                                             w.sent >= options_.max_tasks_per_child));
        if (retired && state_ != state::broken) {
            auto it = std::find_if(workers_.begin(), workers_.end(), [&](auto& p) { return p.get() == &w; });
            workers_.erase(it);
            if (state_ == state::running || !pending_.empty()) {
                try {
                    workers_.push_back(start_worker());
                } catch (const std::exception& e) {
                    break_pool(std::string("could not replace a retired worker: ") + e.what(), failed);
                }
            }
            return;
        }
        if (state_ == state::broken) return;
        auto code = w.proc.exitcode().value_or(0);
        break_pool("a worker process (pid " + std::to_string(w.proc.pid()) + ") terminated abruptly (" +
                       (code < 0 ? "killed by signal " + std::to_string(-code) : "exit code " + std::to_string(code)) +
                       ") while calls were pending or running; the process pool is not usable anymore",
                   failed);
    }

    void break_pool(std::string reason, std::vector<std::unique_ptr<pool_call>>& failed) {
        state_ = state::broken;
        broken_reason_ = std::move(reason);
        weft::detail::log().error("process pool: {}", broken_reason_);
        for (auto& w : workers_) {
            for (auto& c : w->calls) failed.push_back(std::move(c.call));
            w->calls.clear();
            w->proc.send_signal(SIGKILL);
        }
        for (auto& c : pending_) {
            if (c->start()) failed.push_back(std::move(c));
        }
        pending_.clear();
    }

    // Asks each worker to exit, waits for it (SIGKILL after a grace period), reaps it.
    static void stop_workers(std::vector<std::unique_ptr<worker>>& workers) {
        static constexpr char exit_frame[task_header_size] = {};
        for (auto& w : workers) {
            if (!w->proc.ended()) send_all(w->sock, exit_frame, sizeof exit_frame);
        }
        auto deadline = std::chrono::steady_clock::now() + worker_exit_grace;
        for (auto& w : workers) {
            if (!w->proc.wait_until(&deadline)) {
                weft::detail::log().warn("process pool: worker {} did not exit; killing it", w->proc.pid());
                w->proc.send_signal(SIGKILL);
                w->proc.wait_until(nullptr);
            }
        }
        workers.clear();
    }

    const std::size_t max_workers_;
    const process_pool_options options_;
    const start_method method_;
    mutable std::mutex mutex_;
    std::mutex join_mutex_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::deque<std::unique_ptr<pool_call>> pending_;
    state state_ = state::running;
    std::string broken_reason_;
    std::uint64_t next_id_ = 1;
    int wake_fd_ = -1;
    std::thread manager_;
};

}  // namespace mp::detail

process_pool_executor::process_pool_executor(std::size_t max_workers, process_pool_options options)
    : core_(std::make_unique<mp::detail::pool_core>(max_workers, options)) {}

process_pool_executor::~process_pool_executor() = default;

std::size_t process_pool_executor::default_max_workers() noexcept {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<std::size_t>(n);
    }
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

void process_pool_executor::schedule(std::unique_ptr<mp::detail::pool_call> call) { core_->schedule(std::move(call)); }
void process_pool_executor::shutdown(bool wait, bool cancel_futures) { core_->shutdown(wait, cancel_futures); }
process_pool_executor::state process_pool_executor::current_state() const { return core_->current_state(); }
std::size_t process_pool_executor::max_workers() const noexcept { return core_->max_workers(); }
std::vector<pid_t> process_pool_executor::worker_pids() const { return core_->worker_pids(); }

}  // namespace weft
