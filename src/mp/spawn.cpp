// Starting and reaping processes: the fork start method and the forkserver.
//
// The forkserver is a fork() of the program made while it was single-threaded. It reads
// requests on a socket (an entry address, a payload, file descriptors passed with SCM_RIGHTS),
// forks a child per request, and reports the child's pid and then its wait status on a pipe
// the requester sent along (that pipe is the child's "sentinel"). It reaps its children itself
// (SIGCHLD through a signalfd), so they never become zombies of the program.

#include <weft/errors.hpp>
#include <weft/mp/detail/spawn.hpp>

#include "common/log.hpp"

#include <cxxabi.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace weft::mp {

namespace detail {
namespace {

struct request_header {
    std::uint64_t entry;
    std::uint32_t fd_count;
    std::uint32_t payload_size;
};
constexpr std::size_t max_fds = 8;

struct server_state {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    int ctrl = -1;       // our end of the forkserver's request socket
    pid_t pid = -1;      // the forkserver
    pid_t owner = -1;    // the process that started it (a fork child must not use it)
    bool atfork_registered = false;
};
server_state server;
std::atomic<start_method> default_method{start_method::forkserver};

// In any fork() child: the forkserver belongs to the parent; forget it.
void forget_server_in_child() noexcept {
    if (server.ctrl >= 0) close(server.ctrl);
    server.ctrl = -1;
    server.pid = -1;
    server.owner = -1;
    server.mutex = PTHREAD_MUTEX_INITIALIZER;
}

[[noreturn]] void sys_fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

void write_all(int fd, const void* data, std::size_t size) {
    auto* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) sys_fail("forkserver request");
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

// Reads exactly `size` bytes; false on EOF. Throws on errors.
bool read_all(int fd, void* data, std::size_t size) {
    auto* p = static_cast<char*>(data);
    while (size > 0) {
        ssize_t n = read(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) sys_fail("read");
        if (n == 0) return false;
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// ---- the forkserver process -----------------------------------------------------------------

[[noreturn]] void server_main(int ctrl) noexcept {
    signal(SIGINT, SIG_IGN);  // Ctrl-C is for the program; the forkserver ends with its socket
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
    if (sfd < 0) _exit(70);
    std::unordered_map<pid_t, int> status_fds;
    std::vector<char> payload;
    for (;;) {
        pollfd fds[2] = {{ctrl, POLLIN, 0}, {sfd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(71);
        }
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo info;
            while (read(sfd, &info, sizeof info) < 0 && errno == EINTR) {
            }
            int status = 0;
            pid_t pid;
            while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                auto it = status_fds.find(pid);
                if (it == status_fds.end()) continue;
                std::int32_t st = status;
                (void)!write(it->second, &st, sizeof st);
                close(it->second);
                status_fds.erase(it);
            }
        }
        if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        // One request: header (+ fds), then the payload.
        request_header h{};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds)];
        iovec iov{&h, sizeof h};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = recvmsg(ctrl, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the program closed the socket (or exited): we are done
        int received[max_fds];
        std::size_t nfds = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                std::memcpy(received, CMSG_DATA(c), nfds * sizeof(int));
            }
        }
        bool ok = static_cast<std::size_t>(n) == sizeof h ||
                  read_all(ctrl, reinterpret_cast<char*>(&h) + n, sizeof h - static_cast<std::size_t>(n));
        payload.resize(ok ? h.payload_size : 0);
        ok = ok && read_all(ctrl, payload.data(), payload.size());
        if (!ok || nfds == 0 || nfds != h.fd_count) break;  // a broken request: the program is gone
        int status_fd = received[0];
        fflush(nullptr);
        pid_t pid = fork();
        if (pid == 0) {
            sigprocmask(SIG_SETMASK, &old, nullptr);
            signal(SIGINT, SIG_DFL);
            close(ctrl);
            close(sfd);
            close(status_fd);
            for (auto& [child, fd] : status_fds) close(fd);
            auto entry = reinterpret_cast<entry_fn>(h.entry);
            child_exit(entry(std::string_view(payload.data(), payload.size()),
                             std::span<const int>(received + 1, nfds - 1)));
        }
        std::int32_t reply = pid > 0 ? pid : -errno;
        (void)!write(status_fd, &reply, sizeof reply);
        for (std::size_t i = 1; i < nfds; ++i) close(received[i]);
        if (pid > 0) status_fds.emplace(pid, status_fd);
        else close(status_fd);
    }
    _exit(0);
}

void start_server_locked() {
    ensure_arena();  // before the fork: every process of the family maps it
    if (std::size_t threads = thread_count(); threads > 1) {
        throw invalid_state_error(
            "weft::mp: the forkserver must start while the program is single-threaded, but " +
            std::to_string(threads) +
            " threads run now. Call weft::mp::set_start_method(weft::mp::start_method::forkserver) "
            "at the top of main(), or choose start_method::fork explicitly (unsafe with threads)");
    }
    if (!server.atfork_registered) {
        pthread_atfork(nullptr, nullptr, &forget_server_in_child);
        server.atfork_registered = true;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) sys_fail("socketpair for the forkserver");
    fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        throw std::system_error(e, std::generic_category(), "fork of the forkserver");
    }
    if (pid == 0) {
        close(sv[0]);
        server_main(sv[1]);
    }
    close(sv[1]);
    server.ctrl = sv[0];
    server.pid = pid;
    server.owner = getpid();
}

bool server_running_locked() { return server.ctrl >= 0 && server.owner == getpid(); }

// The forkserver died: reap it so that a new one can start.
void drop_server_locked() {
    if (server.ctrl >= 0) close(server.ctrl);
    if (server.pid > 0) waitpid(server.pid, nullptr, 0);
    server.ctrl = -1;
    server.pid = -1;
    server.owner = -1;
}

class locked {
public:
    locked() { pthread_mutex_lock(&server.mutex); }
    ~locked() { pthread_mutex_unlock(&server.mutex); }
    locked(const locked&) = delete;
    locked& operator=(const locked&) = delete;
};

}  // namespace

// ---- child_process -------------------------------------------------------------------------

child_process::child_process(child_process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), sentinel_(std::exchange(o.sentinel_, -1)),
      own_child_(o.own_child_), wait_status_(std::exchange(o.wait_status_, std::nullopt)) {}

child_process& child_process::operator=(child_process&& o) noexcept {
    if (this != &o) {
        close_sentinel();
        pid_ = std::exchange(o.pid_, -1);
        sentinel_ = std::exchange(o.sentinel_, -1);
        own_child_ = o.own_child_;
        wait_status_ = std::exchange(o.wait_status_, std::nullopt);
    }
    return *this;
}

child_process::~child_process() { close_sentinel(); }

void child_process::close_sentinel() noexcept {
    if (sentinel_ >= 0) close(sentinel_);
    sentinel_ = -1;
}

bool child_process::poll() {
    if (wait_status_) return true;
    if (pid_ < 0) return false;
    if (own_child_) {
        int status = 0;
        pid_t r;
        while ((r = waitpid(pid_, &status, WNOHANG)) < 0 && errno == EINTR) {
        }
        if (r == 0) return false;
        if (r < 0) sys_fail("waitpid");
        wait_status_ = status;
    } else {
        pollfd p{sentinel_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return false;
        std::int32_t status = 0;
        if (!read_all(sentinel_, &status, sizeof status)) {
            weft::detail::log().warn("weft::mp: the forkserver went away before reporting how process {} ended", pid_);
            status = 255 << 8;  // exit code 255: unknown
        }
        wait_status_ = status;
    }
    close_sentinel();
    return true;
}

bool child_process::wait_until(const clock::time_point* deadline) {
    if (pid_ < 0) return false;
    while (!poll()) {
        int ms = -1;
        if (deadline) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now()).count();
            if (left <= 0) return false;
            ms = left > 1'000'000 ? 1'000'000 : static_cast<int>(left);
        }
        pollfd p{sentinel_, POLLIN, 0};
        if (::poll(&p, 1, ms) < 0 && errno != EINTR) sys_fail("poll on a child's sentinel");
    }
    return true;
}

void child_process::send_signal(int signal_number) {
    if (wait_status_ || pid_ <= 0) return;
    if (::kill(pid_, signal_number) < 0 && errno != ESRCH) sys_fail("kill");
}

std::optional<int> child_process::exitcode() const noexcept {
    if (!wait_status_) return std::nullopt;
    int st = *wait_status_;
    if (WIFSIGNALED(st)) return -WTERMSIG(st);
    return WEXITSTATUS(st);
}

// ---- spawning ------------------------------------------------------------------------------

child_process spawn_fork(const std::function<int()>& body, std::string_view label) {
    fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) sys_fail("fork");
    if (pid == 0) child_exit(call_reporting(label, body));
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        int e = errno;
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        throw std::system_error(e, std::generic_category(), "pidfd_open");
    }
    return child_process(pid, pidfd, true);
}

child_process spawn_forkserver(entry_fn entry, std::string_view payload, std::span<const int> fds) {
    if (fds.size() + 1 > max_fds) throw std::invalid_argument("weft::mp: too many file descriptors for a child");
    int status_pipe[2];
    {
        locked guard;
        if (!server_running_locked()) start_server_locked();
        if (pipe2(status_pipe, O_CLOEXEC) < 0) sys_fail("pipe2");
        request_header h{reinterpret_cast<std::uint64_t>(entry), static_cast<std::uint32_t>(fds.size() + 1),
                         static_cast<std::uint32_t>(payload.size())};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds)] = {};
        iovec iov{&h, sizeof h};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (fds.size() + 1));
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (fds.size() + 1));
        std::memcpy(CMSG_DATA(c), &status_pipe[1], sizeof(int));
        if (!fds.empty()) std::memcpy(CMSG_DATA(c) + sizeof(int), fds.data(), sizeof(int) * fds.size());
        try {
            ssize_t n;
            while ((n = sendmsg(server.ctrl, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
            }
            if (n < 0) sys_fail("request to the forkserver");
            if (static_cast<std::size_t>(n) < sizeof h)
                write_all(server.ctrl, reinterpret_cast<char*>(&h) + n, sizeof h - static_cast<std::size_t>(n));
            write_all(server.ctrl, payload.data(), payload.size());
        } catch (...) {
            close(status_pipe[0]);
            close(status_pipe[1]);
            drop_server_locked();
            throw;
        }
        close(status_pipe[1]);
    }
    std::int32_t pid = 0;
    bool got;
    try {
        got = read_all(status_pipe[0], &pid, sizeof pid);
    } catch (...) {
        close(status_pipe[0]);
        throw;
    }
    if (!got || pid <= 0) {
        close(status_pipe[0]);
        if (!got) {
            locked guard;
            drop_server_locked();
            throw std::runtime_error("weft::mp: the forkserver died");
        }
        throw std::system_error(-pid, std::generic_category(), "fork in the forkserver");
    }
    return child_process(pid, status_pipe[0], false);
}

// ---- child side ----------------------------------------------------------------------------

std::string current_exception_type_name() {
    std::type_info* t = abi::__cxa_current_exception_type();
    if (!t) return "unknown";
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(t->name(), nullptr, nullptr, &status), std::free);
    return status == 0 && name ? std::string(name.get()) : std::string(t->name());
}

std::string current_exception_message() {
    try {
        throw;
    } catch (const std::exception& e) {
        return e.what();
    } catch (const base_exception& e) {
        return e.what();
    } catch (...) {
        return {};
    }
}

int call_reporting(std::string_view label, const std::function<int()>& body) noexcept {
    try {
        return body();
    } catch (...) {
        std::string type = current_exception_type_name();
        std::string message = current_exception_message();
        std::fprintf(stderr, "Process %.*s: uncaught exception %s: %s\n", static_cast<int>(label.size()),
                     label.data(), type.c_str(), message.c_str());
        return 1;
    }
}

void child_exit(int code) noexcept {
    try {
        std::cout.flush();
        std::cerr.flush();
    } catch (...) {
    }
    std::fflush(nullptr);
    _exit(code);
}

std::size_t thread_count() {
    DIR* d = opendir("/proc/self/task");
    if (!d) return 1;
    std::size_t n = 0;
    while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') ++n;
    closedir(d);
    return n;
}

int checked_fd(int fd, const char* what) {
    if (fd < 0) sys_fail(what);
    return fd;
}

}  // namespace detail

void set_start_method(start_method method) {
    if (method == start_method::forkserver) {
        detail::locked guard;
        if (!detail::server_running_locked()) detail::start_server_locked();
    }
    detail::default_method.store(method);
}

start_method get_start_method() noexcept { return detail::default_method.load(); }

}  // namespace weft::mp
