// weft::net::stream: readiness waits, buffered writes with water marks, closing.

#include <weft/net/stream.hpp>

#include <weft/errors.hpp>

#include "net/sockets.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>

namespace weft::net {

namespace detail {

// The shared state behind a stream. It never moves, so the loop can point at it.
class stream_impl {
public:
    stream_impl(event_loop* loop, int fd, stream_limits limits)
        : loop_(loop), fd_(fd), limits_(limits), reader_(loop, fd, false), writer_(this),
          peer_(peer_address_of(fd)), local_(local_address_of(fd)) {}
    stream_impl(const stream_impl&) = delete;
    stream_impl& operator=(const stream_impl&) = delete;
    ~stream_impl() { abort(); }

    // ---- writing ----
    std::size_t pending() const noexcept { return wbuf_.size() - wpos_; }

    void write(std::string_view data) { writelines(std::span(&data, 1)); }

    void writelines(std::span<const std::string_view> parts) {
        if (closing_) throw invalid_state_error(fmt::format("write() on a closed stream to {}", peer_.to_string()));
        if (write_error_) throw socket_error(write_error_, "write to", peer_);
        if (eof_requested_) throw invalid_state_error(fmt::format("write() after write_eof() on the stream to {}", peer_.to_string()));
        std::size_t i = 0, skip = 0;  // the first unsent byte: parts[i][skip]
        while (pending() == 0 && i < parts.size()) {
            constexpr std::size_t batch = 64;
            iovec iov[batch];
            std::size_t n = 0;
            for (std::size_t j = i; j < parts.size() && n < batch; ++j, ++n) {
                std::string_view p = parts[j].substr(j == i ? skip : 0);
                iov[n] = {const_cast<char*>(p.data()), p.size()};
            }
            msghdr msg{};
            msg.msg_iov = iov;
            msg.msg_iovlen = n;
            // One part (every write()): send() spares the kernel copying in an iovec array.
            ssize_t sent = n == 1 ? ::send(fd_, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL)
                                  : ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
            if (sent < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                write_error_ = errno;
                throw socket_error(write_error_, "write to", peer_);
            }
            auto left = static_cast<std::size_t>(sent);
            while (i < parts.size() && left >= parts[i].size() - skip) {
                left -= parts[i].size() - skip;
                ++i;
                skip = 0;
            }
            skip += left;
        }
        if (i == parts.size()) return;
        wbuf_.append(parts[i].substr(skip));
        for (++i; i < parts.size(); ++i) wbuf_.append(parts[i]);
        watch_writer();
    }

    void flush() {
        while (pending() > 0) {
            ssize_t n = ::send(fd_, wbuf_.data() + wpos_, pending(), MSG_NOSIGNAL);
            if (n >= 0) {
                wpos_ += static_cast<std::size_t>(n);
                continue;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            write_error_ = errno;
            break;
        }
        if (write_error_ || pending() == 0) {
            release_write_buffer();
            unwatch_writer();
        } else if (wpos_ >= limits_.high_water) {
            wbuf_.erase(0, wpos_);  // keep the buffer from growing at the front
            wpos_ = 0;
        }
        if (drainer_ && (write_error_ || pending() <= limits_.low_water)) {
            std::exchange(drainer_, nullptr)->wake();
        }
        if (pending() == 0) {
            if (eof_requested_ && !eof_sent_ && !write_error_) {
                eof_sent_ = true;
                ::shutdown(fd_, SHUT_WR);
            }
            if (closing_) finish_close();
        }
    }

    void write_eof() {
        if (closing_ || eof_requested_) return;
        eof_requested_ = true;
        if (pending() == 0) flush();
    }

    // ---- closing ----
    void close() {
        if (closing_) return;
        closing_ = true;
        if (pending() == 0 || write_error_) finish_close();
    }

    void abort() noexcept {
        closing_ = true;
        release_write_buffer();
        finish_close();
    }

    void finish_close() noexcept {
        if (fd_ < 0) return;
        reader_.unregister();
        unwatch_writer();
        ::close(fd_);
        fd_ = -1;
        release_write_buffer();
        reader_.fail_waiter(io_operation::closed);
        if (drainer_) std::exchange(drainer_, nullptr)->detach();
        if (close_waiter_) std::exchange(close_waiter_, nullptr)->detach();
    }

    event_loop* loop_;
    int fd_;
    stream_limits limits_;
    fd_watcher reader_;

    class write_side final : public weft::detail::io_callback {
    public:
        explicit write_side(stream_impl* s) noexcept : s_(s) {}
        void on_io_ready() override { s_->flush(); }

    private:
        stream_impl* s_;
    } writer_;

    std::string rbuf_;  // bytes received but not yet consumed (readline & co.)
    std::string wbuf_;  // bytes not yet sent, from wpos_
    std::size_t wpos_ = 0;
    socket_address peer_, local_;
    drain_operation* drainer_ = nullptr;
    closed_operation* close_waiter_ = nullptr;
    int write_error_ = 0;
    bool eof_ = false;  // the peer closed its side
    bool closing_ = false;
    bool eof_requested_ = false;
    bool eof_sent_ = false;
    bool writer_watched_ = false;

private:
    void watch_writer() {
        if (writer_watched_ || fd_ < 0) return;
        loop_->watch_writable(fd_, &writer_);
        writer_watched_ = true;
    }
    void unwatch_writer() noexcept {
        if (!writer_watched_) return;
        loop_->unwatch_writable(fd_);
        writer_watched_ = false;
    }
    void release_write_buffer() noexcept {
        std::string().swap(wbuf_);
        wpos_ = 0;
    }
};

// ---- fd_watcher ---------------------------------------------------------------------------

void fd_watcher::on_io_ready() {
    drained_ = false;
    if (!waiter_) {
        if (writable_) unregister();  // nobody waits any more: stop watching (lazily, see the header)
        return;
    }
    waiter_->ready();
}

void fd_watcher::wait(io_operation* op) {
    if (!registered_) {
        if (writable_) loop_->watch_writable(fd_, this);
        else loop_->watch_readable(fd_, this, true);
        registered_ = true;
    }
    waiter_ = op;
}

void fd_watcher::fail_waiter(int error) noexcept {
    if (auto* op = std::exchange(waiter_, nullptr)) op->fail(error);
}

void fd_watcher::unregister() noexcept {
    if (!registered_) return;
    if (writable_) loop_->unwatch_writable(fd_);
    else loop_->unwatch_readable(fd_);
    registered_ = false;
}

// ---- io_operation -------------------------------------------------------------------------

namespace {
constexpr unsigned fairness_budget = 32;
}

bool io_operation::await_suspend(std::coroutine_handle<> h) {
    if (!suspend_owner(h)) return false;
    if (attempt()) {
        if (++watcher_->streak < fairness_budget) {
            owner->set_waiting_on(nullptr);
            return false;
        }
        watcher_->streak = 0;
        resume_owner();  // yield once: other tasks and I/O get their turn
        return true;
    }
    watcher_->streak = 0;
    try {
        watcher_->wait(this);
    } catch (...) {
        owner->set_waiting_on(nullptr);
        throw;
    }
    return true;
}

void io_operation::ready() {
    if (attempt()) {
        watcher_->forget(this);
        resume_owner();
    }
}

void io_operation::fail(int error) noexcept {
    error_ = error;
    watcher_ = nullptr;  // the watcher may be going away with its stream
    resume_owner();
}

void io_operation::interrupt(weft::detail::interruption why) {
    interrupted = why;
    if (watcher_) watcher_->forget(this);
    resume_owner();
}

io_operation::~io_operation() {
    if (watcher_) watcher_->forget(this);
}

// ---- read ---------------------------------------------------------------------------------

read_operation::read_operation(stream_impl* s, std::size_t max_bytes, bool from_buffer)
    : io_operation(&s->reader_), stream_(s), max_(std::max<std::size_t>(max_bytes, 1)), from_buffer_(from_buffer) {}

bool read_operation::attempt() {
    auto& rbuf = stream_->rbuf_;
    if (from_buffer_ && !rbuf.empty()) {
        if (rbuf.size() <= max_) {
            data_ = std::move(rbuf);
            rbuf.clear();
        } else {
            data_.assign(rbuf, 0, max_);
            rbuf.erase(0, max_);
        }
        return true;
    }
    if (stream_->eof_) return true;
    if (stream_->fd_ < 0) {
        error_ = closed;
        return true;
    }
    if (watcher_->drained()) return false;  // a recv() now would say EAGAIN: wait for readiness
    // Received bytes land in a per-thread scratch buffer first, so a task waiting on an idle
    // connection holds no buffer at all.
    thread_local char scratch[64 * 1024];
    std::size_t want = std::min(max_, sizeof scratch);
    for (;;) {
        ssize_t n = ::recv(stream_->fd_, scratch, want, 0);
        if (n > 0) {
            watcher_->set_drained(static_cast<std::size_t>(n) < want);
            data_.assign(scratch, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0) {
            stream_->eof_ = true;
            return true;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            watcher_->set_drained(true);
            return false;
        }
        error_ = errno;
        return true;
    }
}

std::string read_operation::await_resume() {
    throw_if_interrupted();
    if (error_ == closed) throw invalid_state_error("read on a closed weft::net::stream");
    if (error_) throw socket_error(error_, "read from", stream_->peer_);
    return std::move(data_);
}

// ---- drain --------------------------------------------------------------------------------

bool drain_operation::await_ready() const noexcept {
    return !stream_->write_error_ && stream_->pending() <= stream_->limits_.high_water;
}

bool drain_operation::await_suspend(std::coroutine_handle<> h) {
    if (stream_->drainer_) throw invalid_state_error(fmt::format("drain() is already awaited on the stream to {}", stream_->peer_.to_string()));
    if (!suspend_owner(h)) return false;
    if (stream_->write_error_ || stream_->fd_ < 0 || stream_->pending() <= stream_->limits_.low_water) {
        owner->set_waiting_on(nullptr);
        return false;
    }
    stream_->drainer_ = this;
    return true;
}

void drain_operation::interrupt(weft::detail::interruption why) {
    interrupted = why;
    if (stream_ && stream_->drainer_ == this) stream_->drainer_ = nullptr;
    resume_owner();
}

drain_operation::~drain_operation() {
    if (stream_ && stream_->drainer_ == this) stream_->drainer_ = nullptr;
}

void drain_operation::await_resume() {
    throw_if_interrupted();
    if (!stream_) throw invalid_state_error("weft::net::stream closed while drain() waited");
    if (stream_->write_error_) throw socket_error(stream_->write_error_, "write to", stream_->peer_);
}

// ---- wait_closed --------------------------------------------------------------------------

bool closed_operation::await_ready() const noexcept { return stream_->fd_ < 0; }

bool closed_operation::await_suspend(std::coroutine_handle<> h) {
    if (stream_->close_waiter_) throw invalid_state_error(fmt::format("wait_closed() is already awaited on the stream to {}", stream_->peer_.to_string()));
    if (!suspend_owner(h)) return false;
    stream_->close_waiter_ = this;
    return true;
}

void closed_operation::interrupt(weft::detail::interruption why) {
    interrupted = why;
    if (stream_ && stream_->close_waiter_ == this) stream_->close_waiter_ = nullptr;
    resume_owner();
}

closed_operation::~closed_operation() {
    if (stream_ && stream_->close_waiter_ == this) stream_->close_waiter_ = nullptr;
}

}  // namespace detail

// ---- stream -------------------------------------------------------------------------------

stream::stream() noexcept = default;

stream::stream(int fd, stream_limits limits) {
    event_loop* loop = event_loop::current();
    if (!loop) throw invalid_state_error("weft::net::stream created with no running event loop");
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        throw std::system_error(errno, std::generic_category(), fmt::format("make socket {} non-blocking", fd));
    }
    impl_ = std::make_unique<detail::stream_impl>(loop, fd, limits);
}

stream::stream(stream&&) noexcept = default;
stream& stream::operator=(stream&&) noexcept = default;
stream::~stream() = default;

detail::stream_impl& stream::impl() const {
    if (!impl_) throw invalid_state_error("operation on an empty weft::net::stream");
    return *impl_;
}

detail::read_request stream::read(std::size_t max_bytes) { return {&impl(), max_bytes}; }

task<std::string> stream::readexactly(std::size_t n) {
    auto& s = impl();
    while (s.rbuf_.size() < n) {
        std::string chunk = co_await detail::read_operation(&s, std::max<std::size_t>(n - s.rbuf_.size(), 64 * 1024), false);
        if (chunk.empty()) {
            std::string partial = std::move(s.rbuf_);
            s.rbuf_.clear();
            throw incomplete_read_error(std::move(partial), n);
        }
        s.rbuf_ += chunk;
    }
    std::string result = s.rbuf_.substr(0, n);
    s.rbuf_.erase(0, n);
    co_return result;
}

task<std::string> stream::readline() {
    auto& s = impl();
    std::size_t searched = 0;
    for (;;) {
        auto at = s.rbuf_.find('\n', searched);
        if (at != std::string::npos) {
            std::string line = s.rbuf_.substr(0, at + 1);
            s.rbuf_.erase(0, at + 1);
            co_return line;
        }
        searched = s.rbuf_.size();
        if (s.rbuf_.size() > s.limits_.line_limit) {
            throw limit_overrun_error(fmt::format("readline(): no newline within {} bytes from {}", s.limits_.line_limit,
                                                  s.peer_.to_string()),
                                      s.rbuf_.size());
        }
        std::string chunk = co_await detail::read_operation(&s, 64 * 1024, false);
        if (chunk.empty()) {  // end of stream: the last, unterminated line
            std::string rest = std::move(s.rbuf_);
            s.rbuf_.clear();
            co_return rest;
        }
        s.rbuf_ += chunk;
    }
}

task<std::string> stream::readuntil(std::string separator) {
    if (separator.empty()) throw std::invalid_argument("readuntil(): empty separator");
    auto& s = impl();
    for (;;) {
        auto at = s.rbuf_.find(separator);
        if (at != std::string::npos) {
            std::string part = s.rbuf_.substr(0, at + separator.size());
            s.rbuf_.erase(0, at + separator.size());
            co_return part;
        }
        if (s.rbuf_.size() > s.limits_.line_limit) {
            throw limit_overrun_error(fmt::format("readuntil(): separator not found within {} bytes from {}",
                                                  s.limits_.line_limit, s.peer_.to_string()),
                                      s.rbuf_.size());
        }
        std::string chunk = co_await detail::read_operation(&s, 64 * 1024, false);
        if (chunk.empty()) {
            std::string partial = std::move(s.rbuf_);
            s.rbuf_.clear();
            std::size_t expected = partial.size() + separator.size();
            throw incomplete_read_error(std::move(partial), expected);
        }
        s.rbuf_ += chunk;
    }
}

bool stream::at_eof() const noexcept { return impl_ && impl_->eof_ && impl_->rbuf_.empty(); }

void stream::write(std::string_view data) { impl().write(data); }
void stream::writelines(std::span<const std::string_view> parts) { impl().writelines(parts); }
detail::drain_request stream::drain() { return {&impl()}; }
std::size_t stream::write_buffer_size() const noexcept { return impl_ ? impl_->pending() : 0; }
void stream::write_eof() { impl().write_eof(); }
void stream::close() {
    if (impl_) impl_->close();
}
detail::closed_request stream::wait_closed() { return {&impl()}; }
void stream::abort() noexcept {
    if (impl_) impl_->abort();
}
bool stream::is_closing() const noexcept { return impl_ && impl_->closing_; }
const socket_address& stream::peer_address() const { return impl().peer_; }
const socket_address& stream::local_address() const { return impl().local_; }
int stream::native_handle() const noexcept { return impl_ ? impl_->fd_ : -1; }

}  // namespace weft::net
