// weft::http::server: HTTP/1.1 over weft::net streams, requests parsed by libhttp-parser.
#include <weft/errors.hpp>
#include <weft/http/server.hpp>
#include <weft/timeout.hpp>
#include <weft/to_thread.hpp>

#include "common/percent_decode.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <http_parser.h>
#include <linux/openat2.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <functional>
#include <limits>
#include <optional>
#include <system_error>

namespace weft::http {

namespace detail {
struct server_state {
    server_state(handler h, server_options o) : handle(std::move(h)), options(o) {}
    handler handle;
    server_options options;
    std::uint64_t accepted = 0;
    std::uint64_t served = 0;
};
}  // namespace detail

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

namespace {

// mime_type() without the string: a literal.
std::string_view mime_type_of(const std::filesystem::path& path) {
    std::string ext = path.extension().string();
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".html" || ext == ".htm") return "text/html";
    if (ext == ".txt") return "text/plain";
    if (ext == ".css") return "text/css";
    if (ext == ".js") return "text/javascript";
    if (ext == ".json") return "application/json";
    if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
    if (ext == ".png") return "image/png";
    if (ext == ".gif") return "image/gif";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".webp") return "image/webp";
    return "application/octet-stream";
}

// http_date() into `out` (29 characters, no allocation).
std::string_view format_http_date(std::array<char, 32>& out, std::time_t t) {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    auto r = fmt::format_to_n(out.data(), out.size(), "{}, {:02} {} {} {:02}:{:02}:{:02} GMT", days[tm.tm_wday],
                              tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return {out.data(), std::min(r.size, out.size())};
}

}  // namespace

std::string mime_type(const std::filesystem::path& path) { return std::string(mime_type_of(path)); }

std::string strong_etag(std::string_view body) {
    return fmt::format("\"{:x}-{:016x}\"", body.size(), std::hash<std::string_view>{}(body));
}

std::string http_date(std::time_t t) {
    std::array<char, 32> out;
    return std::string(format_http_date(out, t));
}

namespace {

// The value of header `name` (case-insensitive) among a reply's headers, or null.
const std::string* find_header(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
    for (auto& [n, v] : headers)
        if (n.size() == name.size() && ::strncasecmp(n.data(), name.data(), n.size()) == 0) return &v;
    return nullptr;
}

// RFC 9110 §13.1.5: whether a Range request with this If-Range (if any) gets its range: an
// entity tag must equal the representation's strong ETag, a date its Last-Modified exactly.
// An empty `modified`: the representation has no Last-Modified.
bool if_range_holds(const std::optional<std::string>& if_range, std::string_view etag, std::string_view modified) {
    if (!if_range) return true;
    std::string_view v = *if_range;
    if (v.starts_with("W/")) return false;
    if (v.starts_with('"')) return !etag.starts_with("W/") && v == etag;
    return !modified.empty() && v == modified;
}

// A file's ETag (from its size and mtime) and Last-Modified, formatted without allocating.
class file_validators {
public:
    file_validators() = default;
    file_validators(std::uint64_t size, std::int64_t mtime_sec, std::uint32_t mtime_nsec) {
        auto mtime_ns = static_cast<std::uint64_t>(mtime_sec) * 1'000'000'000u + mtime_nsec;
        auto r = fmt::format_to_n(etag_.data(), etag_.size(), "\"{:x}-{:x}\"", size, mtime_ns);
        etag_size_ = std::min(r.size, etag_.size());
        modified_size_ = format_http_date(modified_, static_cast<std::time_t>(mtime_sec)).size();
    }
    std::string_view etag() const noexcept { return {etag_.data(), etag_size_}; }
    std::string_view last_modified() const noexcept { return {modified_.data(), modified_size_}; }

private:
    std::array<char, 40> etag_{};  // '"' + 16 hex digits + '-' + 16 + '"'
    std::size_t etag_size_ = 0;
    std::array<char, 32> modified_{};
    std::size_t modified_size_ = 0;
};

struct fd_closer {
    int fd;
    ~fd_closer() { ::close(fd); }
};

// A file's bytes and validators, all from one open descriptor (on a pool thread).
struct loaded_file {
    std::string data;
    file_validators validators;
};

loaded_file load_file(const std::filesystem::path& path) {
    auto fail = [&](const char* what) {
        throw std::filesystem::filesystem_error(what, path, std::error_code(errno, std::generic_category()));
    };
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("open");
    fd_closer guard{fd};
    struct stat st{};
    if (::fstat(fd, &st) != 0) fail("stat");
    loaded_file f;
    f.data.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    for (;;) {
        if (got == f.data.size()) f.data.resize(got + 64 * 1024);  // the file grew
        ssize_t n = ::read(fd, f.data.data() + got, f.data.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("read");
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    f.data.resize(got);
    f.validators = file_validators(static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec,
                                   static_cast<std::uint32_t>(st.st_mtim.tv_nsec));
    return f;
}

// The status a file request gets for an error opening or reading it.
int status_for(std::error_code code) {
    if (code == std::errc::no_such_file_or_directory || code == std::errc::is_a_directory ||
        code == std::errc::not_a_directory)
        return 404;
    return code == std::errc::permission_denied ? 403 : 500;
}

// Files up to this size are read on the loop when they are in the page cache.
constexpr std::uint64_t max_loop_read = 256 * 1024;

// What load_cached() did.
enum class cached_load { loaded, refused, must_wait };

// Loads a regular file of at most max_loop_read bytes into `buf` without ever waiting on the
// disk, so the loop itself can do it: openat2 with RESOLVE_CACHED fails with EAGAIN unless
// every path component is in the dentry cache, statx with AT_STATX_DONT_SYNC takes the
// attributes the kernel holds, and preadv2 with RWF_NOWAIT fails with EAGAIN unless the bytes
// are in the page cache. `must_wait` (that, another kind of file, a larger one, one that grew,
// a kernel without these flags, any other error): load_file() on the pool must do it, and
// reports any error exactly as before. `refused`: no such file (`error` says why).
cached_load load_cached(const std::filesystem::path& path, std::string& buf, std::size_t& size,
                        file_validators& validators, std::error_code& error) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;  // O_NONBLOCK: a FIFO must not block the open
    how.resolve = RESOLVE_CACHED;
    int fd = static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how));
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) return cached_load::must_wait;
        error = std::error_code(errno, std::generic_category());
        return cached_load::refused;
    }
    fd_closer guard{fd};
    struct statx sx{};
    constexpr unsigned wanted = STATX_TYPE | STATX_SIZE | STATX_MTIME;
    if (::statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, wanted, &sx) != 0 || (sx.stx_mask & wanted) != wanted ||
        !S_ISREG(sx.stx_mode) || sx.stx_size > max_loop_read)
        return cached_load::must_wait;
    const auto expected = static_cast<std::size_t>(sx.stx_size);
    if (buf.size() < expected + 1) buf.resize(expected + 1);  // + 1: notices a file that grew
    std::size_t got = 0;
    while (got < expected) {
        iovec iov{buf.data() + got, expected + 1 - got};
        ssize_t n = ::preadv2(fd, &iov, 1, static_cast<off_t>(got), RWF_NOWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return cached_load::must_wait;
        if (n == 0) break;  // the file shrank
        got += static_cast<std::size_t>(n);
    }
    if (got > expected) return cached_load::must_wait;
    size = got;
    validators = file_validators(sx.stx_size, sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec);
    return cached_load::loaded;
}

// What the parser callbacks fill in for one request.
struct parse_state {
    explicit parse_state(const server_options& o) : options(o) {}
    const server_options& options;
    request req;
    std::string field;
    bool in_value = false;
    bool started = false;
    bool complete = false;
    bool keep_alive = true;
    std::size_t head_bytes = 0;
    int refusal = 0;  // 431 or 413 when a limit was hit

    int count_head(std::size_t n) {
        head_bytes += n;
        if (head_bytes <= options.max_header_bytes) return 0;
        refusal = 431;
        return -1;
    }
    void flush_header() {
        if (in_value) {
            in_value = false;
            field.clear();
        }
    }
};

parse_state& state_of(http_parser* p) { return *static_cast<parse_state*>(p->data); }

const http_parser_settings& parser_settings() {
    static const http_parser_settings settings = [] {
        http_parser_settings s{};
        s.on_message_begin = [](http_parser* p) {
            state_of(p).started = true;
            return 0;
        };
        s.on_url = [](http_parser* p, const char* at, std::size_t n) {
            auto& st = state_of(p);
            st.req.target.append(at, n);
            return st.count_head(n);
        };
        s.on_header_field = [](http_parser* p, const char* at, std::size_t n) {
            auto& st = state_of(p);
            if (st.in_value) {
                st.in_value = false;
                st.field.clear();
            }
            st.field.append(at, n);
            return st.count_head(n);
        };
        s.on_header_value = [](http_parser* p, const char* at, std::size_t n) {
            auto& st = state_of(p);
            if (!st.in_value) {
                st.in_value = true;
                st.req.headers.add(st.field, {});
            }
            auto& last = *(st.req.headers.end() - 1);
            const_cast<std::string&>(last.second).append(at, n);
            return st.count_head(n);
        };
        s.on_headers_complete = [](http_parser* p) {
            auto& st = state_of(p);
            st.req.method = http_method_str(static_cast<http_method>(p->method));
            st.req.http_major = p->http_major;
            st.req.http_minor = p->http_minor;
            st.keep_alive = http_should_keep_alive(p) != 0;
            if ((p->flags & F_CONTENTLENGTH) && p->content_length > st.options.max_body_bytes) {
                st.refusal = 413;
                return -1;
            }
            http_parser_url u;
            http_parser_url_init(&u);
            const std::string& t = st.req.target;
            if (http_parser_parse_url(t.data(), t.size(), p->method == HTTP_CONNECT, &u) != 0) return -1;
            if (u.field_set & (1 << UF_PATH))
                st.req.path = weft::detail::percent_decode(std::string_view(t).substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len));
            else
                st.req.path.assign(1, '/');  // (not = "/": GCC 12 -O3 warns falsely, -Wrestrict)
            if (u.field_set & (1 << UF_QUERY))
                st.req.query = t.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
            return 0;
        };
        s.on_body = [](http_parser* p, const char* at, std::size_t n) {
            auto& st = state_of(p);
            if (st.req.body.size() + n > st.options.max_body_bytes) {
                st.refusal = 413;
                return -1;
            }
            st.req.body.append(at, n);
            return 0;
        };
        s.on_message_complete = [](http_parser* p) {
            state_of(p).complete = true;
            http_parser_pause(p, 1);  // stop here: pipelined bytes wait for the next round
            return 0;
        };
        return s;
    }();
    return settings;
}

// Parses "bytes=a-b" against a body of `size` bytes: the [first, last] range, or nullopt
// when the header is not a single byte range we serve (then the whole body is sent).
// `unsatisfiable` is set for a well-formed range outside the body.
std::optional<std::pair<std::size_t, std::size_t>> parse_range(std::string_view h, std::size_t size,
                                                               bool& unsatisfiable) {
    unsatisfiable = false;
    if (!h.starts_with("bytes=")) return std::nullopt;
    h.remove_prefix(6);
    if (h.find(',') != std::string_view::npos) return std::nullopt;
    auto dash = h.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto number = [](std::string_view s, std::size_t& v) {
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size() && !s.empty();
    };
    std::string_view a = h.substr(0, dash), b = h.substr(dash + 1);
    std::size_t first = 0, last = 0;
    if (a.empty()) {  // suffix: the last b bytes
        std::size_t n = 0;
        if (!number(b, n)) return std::nullopt;
        if (n == 0 || size == 0) {
            unsatisfiable = true;
            return std::nullopt;
        }
        n = std::min(n, size);
        return std::pair{size - n, size - 1};
    }
    if (!number(a, first)) return std::nullopt;
    if (b.empty()) last = size == 0 ? 0 : size - 1;
    else if (!number(b, last) || last < first) return std::nullopt;
    if (first >= size) {
        unsatisfiable = true;
        return std::nullopt;
    }
    return std::pair{first, std::min(last, size - 1)};
}

std::string error_page(int status, bool close) {
    std::string body = fmt::format("{} {}\n", status, reason_phrase(status));
    return fmt::format("HTTP/1.1 {} {}\r\nServer: weft\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: {}\r\n{}\r\n{}",
                       status, reason_phrase(status), body.size(), close ? "Connection: close\r\n" : "", body);
}

task<void> serve_connection(std::shared_ptr<detail::server_state> st, net::stream& s) {
    ++st->accepted;
    const auto& settings = parser_settings();
    std::string pending;  // bytes of the next (pipelined) request
    for (;;) {
        parse_state ps(st->options);
        http_parser parser;
        http_parser_init(&parser, HTTP_REQUEST);
        parser.data = &ps;
        int failure = 0;
        while (!ps.complete && failure == 0) {
            std::string chunk;
            if (!pending.empty()) {
                chunk = std::move(pending);
                pending.clear();
            } else {
                bool timed_out = false;
                try {
                    auto deadline = weft::timeout(ps.started ? st->options.request_timeout : st->options.keep_alive_timeout);
                    chunk = co_await s.read(64 * 1024);
                } catch (const timeout_error&) {
                    timed_out = true;
                }
                if (timed_out) {
                    if (!ps.started) co_return;  // idle keep-alive connection
                    failure = 408;
                    break;
                }
                if (chunk.empty()) co_return;  // the peer closed
            }
            std::size_t used = http_parser_execute(&parser, &settings, chunk.data(), chunk.size());
            if (ps.complete) {
                pending = chunk.substr(used);
                break;
            }
            auto err = HTTP_PARSER_ERRNO(&parser);
            if (err == HPE_HEADER_OVERFLOW) failure = 431;
            else if (err != HPE_OK) failure = ps.refusal ? ps.refusal : 400;
        }
        if (failure) {
            s.write(error_page(failure, true));
            co_return;  // the server flushes and closes
        }
        exchange ex(ps.req, s, *st);
        if (!ps.keep_alive) ex.close_connection();
        bool failed = false;
        try {
            co_await st->handle(ex);
        } catch (const std::exception&) {
            if (ex.responded()) throw;
            failed = true;
        }
        if (failed || !ex.responded()) {
            s.write(error_page(500, true));
            co_return;
        }
        ++st->served;
        if (ex.closing()) co_return;
    }
}

}  // namespace

void exchange::write_response(int status, std::string_view content_type,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string_view file_etag, std::string_view file_modified, std::string_view body) {
    if (responded_) throw invalid_state_error("http::exchange: a response was already sent");
    responded_ = true;
    const bool head = request_.method == "HEAD";
    const bool get_like = head || request_.method == "GET";
    const std::size_t full_size = body.size();
    std::optional<std::pair<std::size_t, std::size_t>> range;  // what a 206 sends
    bool unsatisfiable = false;                                 // a 416 for the request's Range
    std::string computed_etag;  // for a 200 body the handler gave no ETag
    if (status == 200 && get_like) {
        std::string_view etag = file_etag;
        if (etag.empty()) {
            if (const std::string* given = find_header(headers, "etag")) {
                etag = *given;
            } else {
                computed_etag = strong_etag(body);
                etag = computed_etag;
            }
        }
        std::string_view modified = file_modified;
        if (modified.empty())
            if (const std::string* given = find_header(headers, "last-modified")) modified = *given;
        auto h = request_.headers.get("range");
        if (h && if_range_holds(request_.headers.get("if-range"), etag, modified)) {
            range = parse_range(*h, full_size, unsatisfiable);
            if (range) {
                status = 206;
                body = body.substr(range->first, range->second - range->first + 1);
            } else if (unsatisfiable) {
                status = 416;
                body = {};
            }
        }
    }
    fmt::memory_buffer out;  // the head, on the stack unless it is long
    auto to = std::back_inserter(out);
    fmt::format_to(to, "HTTP/1.1 {} {}\r\nServer: weft\r\nContent-Length: {}\r\n", status, reason_phrase(status),
                   body.size());
    if (!content_type.empty() && status != 416) fmt::format_to(to, "Content-Type: {}\r\n", content_type);
    if (get_like && (status == 200 || status == 206)) fmt::format_to(to, "Accept-Ranges: bytes\r\n");
    if (range) fmt::format_to(to, "Content-Range: bytes {}-{}/{}\r\n", range->first, range->second, full_size);
    if (unsatisfiable) fmt::format_to(to, "Content-Range: bytes */{}\r\n", full_size);
    if (!computed_etag.empty() && status != 416) fmt::format_to(to, "ETag: {}\r\n", computed_etag);
    for (auto& [name, value] : headers) fmt::format_to(to, "{}: {}\r\n", name, value);
    if (!file_etag.empty()) fmt::format_to(to, "ETag: {}\r\nLast-Modified: {}\r\n", file_etag, file_modified);
    if (close_) fmt::format_to(to, "Connection: close\r\n");
    else if (request_.http_major == 1 && request_.http_minor == 0) fmt::format_to(to, "Connection: keep-alive\r\n");
    fmt::format_to(to, "\r\n");
    std::array<std::string_view, 2> parts{std::string_view(out.data(), out.size()), head ? std::string_view() : body};
    stream_.writelines(parts);
}

task<void> exchange::respond(reply r) {
    write_response(r.status, r.content_type, r.headers, {}, {}, r.body);
    co_await stream_.drain();
}

task<void> exchange::send_file(std::filesystem::path file) {
    if (responded_) throw invalid_state_error("http::exchange: a response was already sent");
    auto refuse = [this](int status) {
        write_response(status, "text/plain; charset=utf-8", {}, {}, {},
                       fmt::format("{} {}\n", status, reason_phrase(status)));
    };
    {
        // The loop thread's own buffer (at most max_loop_read + 1 bytes): the bytes go out, or
        // into the stream's buffer, before this block ends, with no suspension in between, so
        // one buffer serves every connection.
        thread_local std::string scratch;
        std::size_t size = 0;
        file_validators validators;
        std::error_code error;
        switch (load_cached(file, scratch, size, validators, error)) {
        case cached_load::loaded:
            write_response(200, mime_type_of(file), {}, validators.etag(), validators.last_modified(),
                           std::string_view(scratch.data(), size));
            break;
        case cached_load::refused: refuse(status_for(error)); break;
        case cached_load::must_wait: break;
        }
    }
    if (!responded_) {
        loaded_file loaded;
        int status = 0;
        try {
            auto job = [file] { return load_file(file); };  // named: see src/fs/file.cpp on GCC 12
            loaded = co_await to_thread(std::move(job));
        } catch (const std::filesystem::filesystem_error& e) {
            status = status_for(e.code());
        }
        if (status) {
            refuse(status);
        } else {
            write_response(200, mime_type_of(file), {}, loaded.validators.etag(), loaded.validators.last_modified(),
                           loaded.data);
        }
    }
    co_await stream_.drain();
}

void exchange::reset() noexcept {
    close_ = true;
    int fd = stream_.native_handle();
    if (fd >= 0) {
        linger l{1, 0};  // close() now sends RST instead of FIN
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    stream_.abort();
}

handler static_files(std::filesystem::path root) {
    return [root = std::move(root)](exchange& ex) -> task<void> {
        const request& req = ex.request();
        if (req.method != "GET" && req.method != "HEAD") {
            reply r{.status = 405, .body = "405 Method Not Allowed\n"};
            r.headers.emplace_back("Allow", "GET, HEAD");
            co_await ex.respond(std::move(r));
            co_return;
        }
        std::filesystem::path rel = std::filesystem::path(req.path).relative_path();
        for (auto& part : rel) {
            if (part == "..") {
                {
                    reply answer{.status = 403, .body = "403 Forbidden\n"};
                    co_await ex.respond(std::move(answer));
                }
                co_return;
            }
        }
        if (req.path.ends_with('/') || rel.empty()) rel /= "index.html";
        co_await ex.send_file(root / rel);
    };
}

server::server() noexcept = default;
server::server(server&&) noexcept = default;
server& server::operator=(server&&) noexcept = default;
server::~server() = default;

task<server> server::start(handler h, std::string host, std::uint16_t port, server_options options) {
    auto st = std::make_shared<detail::server_state>(std::move(h), options);
    net::server_options net_options;
    net_options.max_connections = options.max_connections;
    net::connection_handler serve = [st](net::stream& s) { return serve_connection(st, s); };
    auto net = co_await net::start_server(std::move(serve), std::move(host), port, net_options);
    server srv;
    srv.state_ = std::move(st);
    srv.net_ = std::move(net);
    co_return srv;
}

std::uint16_t server::port() const { return net_.port(); }
std::string server::url() const {
    auto sockets = net_.sockets();
    if (sockets.empty()) throw invalid_state_error("http::server: not listening");
    return "http://" + sockets.front().to_string();
}
std::uint64_t server::connections_accepted() const noexcept { return state_ ? state_->accepted : 0; }
std::uint64_t server::requests_served() const noexcept { return state_ ? state_->served : 0; }

void server::close() {
    net_.close();
    net_.cancel_connections();
}
task<void> server::wait_closed() { return net_.wait_closed(); }
task<void> server::serve_forever() { return net_.serve_forever(); }

}  // namespace weft::http
