#pragma once
// A child `weft` process for the integration tests of the command line (WEFT_CLI_PATH names
// the binary). Its stdout and stderr go to files of a temporary directory of its own; it is
// killed (by its pid, never by name) if it still runs when the object dies, and every wait is
// bounded.
//
// Example: `weft_test::cli_process p({"serve", "upper", "--port", "0"}); auto port = p.wait_for_port();`
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#ifndef WEFT_CLI_PATH
#error "WEFT_CLI_PATH must name the weft binary"
#endif

extern char** environ;

namespace weft_test {

class cli_process {
public:
    // Starts `weft ARGS...`. `file_size_limit` > 0: the child runs under RLIMIT_FSIZE (writes
    // past it fail with EFBIG, SIGXFSZ ignored), which stands in for a full disk.
    explicit cli_process(std::vector<std::string> args, rlim_t file_size_limit = 0) {
        char name[] = "/tmp/weft-cli-test-XXXXXX";
        if (::mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
        logs_ = name;
        int out = ::open((logs_ / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int err = ::open((logs_ / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out, 1);
        posix_spawn_file_actions_adddup2(&actions, err, 2);
        args.insert(args.begin(), WEFT_CLI_PATH);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        // Limits and ignored signals are inherited: set them around the spawn, then restore.
        rlimit saved{};
        ::getrlimit(RLIMIT_FSIZE, &saved);
        struct sigaction ignore{}, previous{};
        ignore.sa_handler = SIG_IGN;
        if (file_size_limit > 0) {
            rlimit limited = saved;
            limited.rlim_cur = file_size_limit;
            ::setrlimit(RLIMIT_FSIZE, &limited);
            ::sigaction(SIGXFSZ, &ignore, &previous);
        }
        if (::posix_spawn(&pid_, WEFT_CLI_PATH, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
        if (file_size_limit > 0) {
            ::setrlimit(RLIMIT_FSIZE, &saved);
            ::sigaction(SIGXFSZ, &previous, nullptr);
        }
        posix_spawn_file_actions_destroy(&actions);
        ::close(out);
        ::close(err);
    }
    cli_process(const cli_process&) = delete;
    cli_process& operator=(const cli_process&) = delete;
    ~cli_process() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        std::error_code ignored;
        std::filesystem::remove_all(logs_, ignored);
    }

    std::string out() const { return read(logs_ / "stdout"); }
    std::string err() const { return read(logs_ / "stderr"); }
    // Both streams (stdout first).
    std::string log() const { return out() + err(); }
    bool started() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }

    // True once the process has exited (reaped here).
    bool poll() {
        if (exited_) return true;
        if (pid_ <= 0) return exited_ = true;
        if (::waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
        return exited_;
    }
    // Waits at most `limit` for the exit; returns the exit status (128 + signal when killed by
    // one), or -1 when it ran past the limit (then it is killed).
    int wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(30)) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (!poll()) {
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
                exited_ = true;
                return -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
    }
    // Sends a signal to this process (and no other).
    void signal(int number) {
        if (pid_ > 0 && !exited_) ::kill(pid_, number);
    }
    // `signal(number)`, then `wait_exit()`.
    int stop(int number = SIGTERM) {
        signal(number);
        return wait_exit();
    }
    // Waits (at most `limit`) for "Server started at HOST:PORT" in the output; PORT, or 0.
    std::uint16_t wait_for_port(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
        constexpr std::string_view marker = "Server started at ";
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            std::string text = log();
            if (auto at = text.find(marker); at != std::string::npos) {
                auto end = text.find(' ', at + marker.size());
                std::string address = text.substr(at + marker.size(), end - at - marker.size());
                return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
            }
            if (poll()) return 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return 0;
    }
    // Resident memory in KiB (0 if unknown).
    long rss_kib() const {
        std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
        }
        return 0;
    }

private:
    static std::string read(const std::filesystem::path& path) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    std::filesystem::path logs_;
    pid_t pid_ = -1;
    int status_ = 0;
    bool exited_ = false;
};

}  // namespace weft_test
