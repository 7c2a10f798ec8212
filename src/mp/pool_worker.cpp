// The worker side of weft::process_pool_executor: read task frames, run them, write results.
//
// Task frame:   [u64 id][u64 task_fn][u32 size][payload]     (id 0: exit)
// Result frame: [u64 id][u32 size][u8 kind][payload]         (kind 0: value, 1: error)
// An error payload is the cereal pair (type name, message).

#include <weft/mp/detail/pool_protocol.hpp>
#include <weft/mp/detail/spawn.hpp>
#include <weft/mp/detail/wire.hpp>
#include <weft/process_pool_executor.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace weft::mp::detail {

namespace {

bool send_all(int fd, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void append_result(std::string& out, std::uint64_t id, result_kind kind, std::string_view payload) {
    char header[result_header_size];
    auto size = static_cast<std::uint32_t>(payload.size());
    auto k = static_cast<std::uint8_t>(kind);
    std::memcpy(header, &id, 8);
    std::memcpy(header + 8, &size, 4);
    std::memcpy(header + 12, &k, 1);
    out.append(header, sizeof header);
    out.append(payload);
}

}  // namespace

int pool_worker_loop(int sock, std::uint64_t max_tasks) {
    std::string in, out, result;
    std::vector<char> buf(1 << 16);
    std::uint64_t done = 0;
    for (;;) {
        ssize_t n = recv(sock, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return 0;  // the pool went away
        in.append(buf.data(), static_cast<std::size_t>(n));
        std::size_t pos = 0;
        bool exit_now = false;
        while (in.size() - pos >= task_header_size) {
            std::uint64_t id, fn;
            std::uint32_t size;
            std::memcpy(&id, in.data() + pos, 8);
            std::memcpy(&fn, in.data() + pos + 8, 8);
            std::memcpy(&size, in.data() + pos + 16, 4);
            if (in.size() - pos - task_header_size < size) break;
            if (id == 0) {
                exit_now = true;
                break;
            }
            std::string_view call(in.data() + pos + task_header_size, size);
            result.clear();
            try {
                reinterpret_cast<task_fn>(fn)(call, result);
                append_result(out, id, result_kind::value, result);
            } catch (...) {
                result.clear();
                {
                    writer w(result);
                    w(current_exception_type_name(), current_exception_message());
                }
                append_result(out, id, result_kind::error, result);
            }
            pos += task_header_size + size;
            if (max_tasks != 0 && ++done == max_tasks) {
                exit_now = true;
                break;
            }
        }
        in.erase(0, pos);
        if (!out.empty() && !send_all(sock, out)) return 0;
        out.clear();
        if (exit_now) return 0;
    }
}

int pool_worker_entry(std::string_view payload, std::span<const int> fds) {
    std::uint64_t max_tasks = 0;
    if (payload.size() == sizeof max_tasks) std::memcpy(&max_tasks, payload.data(), sizeof max_tasks);
    int sock = fds.empty() ? -1 : fds[0];
    return call_reporting("pool worker", [&] { return pool_worker_loop(sock, max_tasks); });
}

}  // namespace weft::mp::detail
