// weft::fs: every system call goes to the default thread pool (weft::to_thread).
// Each job lambda is named before `co_await to_thread(...)`: GCC 12 destroys a closure or
// braced temporary that lives in a co_await full-expression twice.
#include <weft/fs.hpp>
#include <weft/to_thread.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace weft::fs {

namespace detail {
// Shared with the pool's calls so that a call still running after its task was cancelled
// never sees its descriptor closed (and reused) under it.
struct file_state {
    explicit file_state(int fd) noexcept : fd(fd) {}
    file_state(const file_state&) = delete;
    file_state& operator=(const file_state&) = delete;
    ~file_state() {
        if (fd >= 0) ::close(fd);
    }
    int fd;
};
}  // namespace detail

namespace {

constexpr std::size_t write_buffer_limit = 64 * 1024;

[[noreturn]] void throw_errno(const char* what, const std::filesystem::path& path, int error) {
    throw std::filesystem::filesystem_error(what, path, std::error_code(error, std::generic_category()));
}

int open_flags(const std::string& mode) {
    bool plus = false;
    char kind = 0;
    for (char c : mode) {
        if (c == '+') plus = true;
        else if (c == 'b' || c == 't') continue;
        else if ((c == 'r' || c == 'w' || c == 'a' || c == 'x') && kind == 0) kind = c;
        else throw std::invalid_argument("weft::fs::open: invalid mode '" + mode + "'");
    }
    int flags = O_CLOEXEC;
    switch (kind) {
    case 'r': flags |= plus ? O_RDWR : O_RDONLY; break;
    case 'w': flags |= (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
    case 'a': flags |= (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND; break;
    case 'x': flags |= (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL; break;
    default: throw std::invalid_argument("weft::fs::open: invalid mode '" + mode + "'");
    }
    return flags;
}

// Writes all of `data` to `fd` (on a pool thread).
void write_fully(int fd, const std::string& data, const std::filesystem::path& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("write", path, errno);
        }
        done += static_cast<std::size_t>(n);
    }
}

std::string read_some(int fd, std::size_t max_bytes, const std::filesystem::path& path) {
    std::string out(max_bytes, '\0');
    for (;;) {
        ssize_t n = ::read(fd, out.data(), max_bytes);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", path, errno);
        }
        out.resize(static_cast<std::size_t>(n));
        return out;
    }
}

std::string read_rest(int fd, const std::filesystem::path& path) {
    std::string all;
    for (;;) {
        std::string chunk = read_some(fd, 256 * 1024, path);
        if (chunk.empty()) return all;
        all += chunk;
    }
}

}  // namespace

file::file() noexcept = default;
file::file(std::filesystem::path path, std::shared_ptr<detail::file_state> state) noexcept
    : path_(std::move(path)), state_(std::move(state)) {}
file::file(file&&) noexcept = default;
file& file::operator=(file&&) noexcept = default;
file::~file() = default;

bool file::is_open() const noexcept { return state_ != nullptr; }

task<std::string> file::read(std::size_t max_bytes) {
    if (!state_) throw std::filesystem::filesystem_error("read", path_, std::make_error_code(std::errc::bad_file_descriptor));
    co_await flush();
    auto job = [state = state_, path = path_, max_bytes] {
        return read_some(state->fd, max_bytes, path);
    };
    co_return co_await to_thread(std::move(job));
}

task<std::string> file::read_to_end() {
    if (!state_) throw std::filesystem::filesystem_error("read", path_, std::make_error_code(std::errc::bad_file_descriptor));
    co_await flush();
    auto job = [state = state_, path = path_] { return read_rest(state->fd, path); };
    co_return co_await to_thread(std::move(job));
}

task<void> file::write(std::string_view data) {
    if (!state_) throw std::filesystem::filesystem_error("write", path_, std::make_error_code(std::errc::bad_file_descriptor));
    buffer_.append(data);
    if (buffer_.size() >= write_buffer_limit) co_await flush();
}

task<void> file::flush() {
    if (!state_ || buffer_.empty()) co_return;
    std::string pending = std::move(buffer_);
    buffer_.clear();
    auto job = [state = state_, path = path_, pending = std::move(pending)] {
        write_fully(state->fd, pending, path);
    };
    co_await to_thread(std::move(job));
}

task<void> file::close() {
    if (!state_) co_return;
    co_await flush();
    auto state = std::move(state_);
    auto job = [state = std::move(state), path = path_]() mutable {
        int fd = std::exchange(state->fd, -1);
        if (::close(fd) != 0 && errno != EINTR) throw_errno("close", path, errno);
    };
    co_await to_thread(std::move(job));
}

task<file> open(std::filesystem::path path, std::string mode) {
    int flags = open_flags(mode);
    // The descriptor travels in a shared state: if the task is cancelled meanwhile, the
    // dropped result closes it.
    auto job = [path, flags] {
        int fd = ::open(path.c_str(), flags, 0644);
        if (fd < 0) throw_errno("open", path, errno);
        return std::make_shared<detail::file_state>(fd);
    };
    auto state = co_await to_thread(std::move(job));
    file opened(path, std::move(state));
    co_return opened;
}

task<std::string> read_all(std::filesystem::path path) {
    auto job = [path = std::move(path)] {
        detail::file_state f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (f.fd < 0) throw_errno("open", path, errno);
        return read_rest(f.fd, path);
    };
    co_return co_await to_thread(std::move(job));
}

task<void> write_all(std::filesystem::path path, std::string data) {
    auto job = [path = std::move(path), data = std::move(data)] {
        detail::file_state f(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (f.fd < 0) throw_errno("open", path, errno);
        write_fully(f.fd, data, path);
    };
    co_await to_thread(std::move(job));
}

}  // namespace weft::fs
