#pragma once
/// \file
/// `weft::fs`: files for coroutines (Python's aiofiles). Every system call runs on the
/// default thread pool (`weft::to_thread`), so a slow disk never stalls the event loop.
///
/// Example:
/// \code
///   auto f = co_await weft::fs::open("out.txt", "w");
///   co_await f.write("hello\n");
///   co_await f.close();
///   std::string all = co_await weft::fs::read_all("out.txt");
/// \endcode
///
/// *Throws:* `std::filesystem::filesystem_error` carrying the path and the errno text
/// ("open: No such file or directory [missing.txt]").
/// *Cancellation:* every operation is cancellable; a system call already running on its
/// thread finishes there (a cancelled write may have written part of its data).
/// *Thread-safety:* a `file` is used by one task at a time; the functions are callable from
/// any loop.

#include <weft/task.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace weft::fs {

namespace detail {
struct file_state;
}

/// An open file (see the file comment). Writes are buffered (64 KiB) and handed to the pool
/// in large pieces; `flush()` hands over what is buffered. Move-only; destroying an open file
/// closes it without flushing.
///
/// Example: `auto f = co_await weft::fs::open("log.txt", "a"); co_await f.write(line);`
class file {
public:
    file() noexcept;
    /// Adopts an opened descriptor (what `open` uses).
    file(std::filesystem::path path, std::shared_ptr<detail::file_state> state) noexcept;
    file(file&&) noexcept;
    file& operator=(file&&) noexcept;
    ~file();

    /// Reads up to `max_bytes` from the current position; "" at end of file.
    /// *Example:* `for (std::string c; !(c = co_await f.read(65536)).empty();) use(c);`
    task<std::string> read(std::size_t max_bytes = 64 * 1024);
    /// Reads everything from the current position to the end.
    /// *Example:* `std::string rest = co_await f.read_to_end();`
    task<std::string> read_to_end();
    /// Buffers `data`, handing full buffers to the pool (all of it is written, in order).
    /// *Example:* `co_await f.write("line\n");`
    task<void> write(std::string_view data);
    /// Hands buffered bytes to the OS (not a disk sync).
    /// *Example:* `co_await f.flush();`
    task<void> flush();
    /// Flushes, then closes. Idempotent.
    /// *Example:* `co_await f.close();`
    task<void> close();

    /// True until `close()` (or a move).
    bool is_open() const noexcept;
    /// The path it was opened with.
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
    std::shared_ptr<detail::file_state> state_;
    std::string buffer_;
};

/// Opens `path` with a Python-style `mode`: "r" (read), "w" (truncate or create), "a"
/// (append), "x" (create, fail if it exists), each optionally with "+" (read and write) and
/// "b" (accepted, no effect: there is no text mode).
/// *Throws:* `std::filesystem::filesystem_error`; `std::invalid_argument` for a bad mode.
/// *Example:* `auto f = co_await weft::fs::open("data.bin", "rb");`
task<file> open(std::filesystem::path path, std::string mode = "r");

/// Reads the whole file. *Example:* `auto text = co_await weft::fs::read_all("page.html");`
task<std::string> read_all(std::filesystem::path path);

/// Replaces the file's contents with `data` (created if missing).
/// *Example:* `co_await weft::fs::write_all("out.json", json);`
task<void> write_all(std::filesystem::path path, std::string data);

}  // namespace weft::fs
