// weft::http::client_session: libcurl's multi-socket interface driven by the weft loop.
//
// The rules libcurl documents for multi_socket_action, and how they are kept here:
// - CURLMOPT_SOCKETFUNCTION says which sockets to watch for what; each becomes a level-
//   triggered loop watch (one io_callback per direction, owned here and kept per fd number).
//   CURL_POLL_REMOVE only means "stop watching": libcurl may keep the socket, so it is never
//   closed here; removing an fd that libcurl already closed is harmless (the reactor ignores
//   EBADF/ENOENT on removal).
// - CURLMOPT_TIMERFUNCTION keeps ONE one-shot timer, replaced on every call; -1 deletes it and
//   0 means "as soon as possible" — it is armed for now, so libcurl is called back from the
//   loop's timer phase, never from inside its own callback.
// - After every curl_multi_socket_action, curl_multi_info_read is drained and each finished
//   transfer is removed from the multi handle and its task resumed.
// - curl_multi_remove_handle (cancellation) and curl_easy_pause (download backpressure) are
//   only ever called from task code, never from inside a libcurl callback: the callbacks only
//   buffer bytes and schedule tasks.
#include <weft/aio/semaphore.hpp>
#include <weft/detail/task_state.hpp>
#include <weft/event_loop.hpp>
#include <weft/http/client_session.hpp>
#include <weft/to_thread.hpp>

#include "common/sha256.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace weft::http {

namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool curl_has_http2() {
    static const bool has = (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_HTTP2) != 0;
    return has;
}

error::reason reason_of(CURLcode code) {
    switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return error::reason::invalid_url;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return error::reason::connect;
    case CURLE_OPERATION_TIMEDOUT: return error::reason::timeout;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM: return error::reason::tls;
    case CURLE_TOO_MANY_REDIRECTS: return error::reason::too_many_redirects;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_WEIRD_SERVER_REPLY: return error::reason::transfer;
    default: return error::reason::other;
    }
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::string validator_of(const header_list& headers) {
    if (auto etag = headers.get("etag"); etag && !etag->empty() && !etag->starts_with("W/")) return *etag;
    return headers.get("last-modified").value_or("");
}

std::string validate_url(const std::string& url) {
    global_init();
    CURLU* u = curl_url();
    if (!u) throw std::bad_alloc();
    struct guard {
        CURLU* u;
        ~guard() { curl_url_cleanup(u); }
    } g{u};
    auto fail = [&](const std::string& why) -> error {
        return error(error::reason::invalid_url, url, "invalid URL: " + why);
    };
    if (CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK) throw fail(curl_url_strerror(rc));
    auto part = [&](CURLUPart which, unsigned flags) {
        char* text = nullptr;
        std::string out;
        if (curl_url_get(u, which, &text, flags) == CURLUE_OK && text) out = text;
        curl_free(text);
        return out;
    };
    std::string scheme = part(CURLUPART_SCHEME, 0);
    if (scheme != "http" && scheme != "https") throw fail("scheme '" + scheme + "' is not http or https");
    std::string host = part(CURLUPART_HOST, 0);
    if (host.empty()) throw fail("no host");
    return host + ":" + part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
}

namespace detail {

struct session_impl;

// One libcurl easy handle, from start to finish.
struct transfer {
    // The task waiting for this transfer.
    class waiter {
    public:
        virtual void wake() noexcept = 0;

    protected:
        ~waiter() = default;
    };

    transfer(std::shared_ptr<session_impl> session, std::string url, bool streaming);
    transfer(const transfer&) = delete;
    transfer& operator=(const transfer&) = delete;
    ~transfer();

    void configure(const std::string& method, const std::string& body, const std::string& content_type,
                   const request_options& o);
    void start();
    void stop() noexcept;
    void finish(CURLcode code) noexcept;
    void wake() noexcept {
        if (auto* w = std::exchange(waiting, nullptr)) w->wake();
    }
    [[noreturn]] void throw_error() const {
        std::string message = curl_easy_strerror(result);
        if (errbuf[0]) message += std::string(": ") + errbuf;
        throw error(reason_of(result), url, message, static_cast<int>(result));
    }
    long status_now() const {
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        return code;
    }
    std::string take_chunk() {
        std::string chunk = std::move(body);
        body.clear();
        seen = 0;
        if (paused && running) {
            paused = false;
            curl_easy_pause(easy, CURLPAUSE_CONT);
        }
        return chunk;
    }

    static size_t on_write(char* data, size_t size, size_t count, void* self);
    static size_t on_header(char* data, size_t size, size_t count, void* self);

    std::shared_ptr<session_impl> session;
    CURL* easy = nullptr;
    std::string url;
    std::string body;
    header_list headers;
    curl_slist* request_headers = nullptr;
    char errbuf[CURL_ERROR_SIZE] = {};
    bool streaming;
    std::size_t seen = 0;  // streaming: bytes of `body` the task has already counted
    bool paused = false;
    bool running = false;
    bool done = false;
    CURLcode result = CURLE_OK;
    long status = 0;
    std::string final_url;
    waiter* waiting = nullptr;
};

struct session_impl final : weft::detail::timer_node {
    // Level-triggered watches of one socket libcurl asked for.
    struct socket_watch {
        struct direction final : weft::detail::io_callback {
            session_impl* session = nullptr;
            int fd = -1;
            int flag = 0;
            // Must not touch `this` after the call: libcurl may drop the watch meanwhile.
            void on_io_ready() override { session->socket_action(fd, flag); }
        };
        direction in, out;
        bool reading = false;
        bool writing = false;
    };
    struct host_slots {
        explicit host_slots(std::size_t n) : slots(static_cast<std::ptrdiff_t>(n)) {}
        aio::semaphore slots;
        std::size_t users = 0;
    };

    explicit session_impl(session_options o) : options(std::move(o)) {
        global_init();
        multi = curl_multi_init();
        if (!multi) throw std::bad_alloc();
        curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &session_impl::on_socket);
        curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &session_impl::on_timer);
        curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
        if (options.limit > 0) {
            curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(options.limit));
            total.emplace(static_cast<std::ptrdiff_t>(options.limit));
        }
        if (options.cookies) {
            share = curl_share_init();
            curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
        }
    }
    session_impl(const session_impl&) = delete;
    session_impl& operator=(const session_impl&) = delete;

    ~session_impl() {
        // No transfer is left (each holds a reference). Stop watching before libcurl closes
        // its cached connections, and keep it from calling back into a dying object.
        if (loop) {
            if (armed()) loop->disarm(this);
            for (auto& [fd, w] : sockets) {
                if (w->reading) loop->unwatch_readable(fd);
                if (w->writing) loop->unwatch_writable(fd);
            }
        }
        curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, nullptr);
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, nullptr);
        for (CURL* e : spare) curl_easy_cleanup(e);
        curl_multi_cleanup(multi);
        if (share) curl_share_cleanup(share);
    }

    void bind_to_current_loop() {
        event_loop* current = event_loop::current();
        if (!current) throw invalid_state_error("http::client_session used with no running event loop");
        if (loop && loop != current)
            throw invalid_state_error("http::client_session used from a loop other than its own");
        loop = current;
    }

    CURL* take_easy() {
        if (!spare.empty()) {
            CURL* e = spare.back();
            spare.pop_back();
            return e;
        }
        CURL* e = curl_easy_init();
        if (!e) throw std::bad_alloc();
        return e;
    }
    void give_back_easy(CURL* e) noexcept {
        // With cookies on, libcurl 7.88 leaks the CURLOPT_COOKIEFILE list of a handle that is
        // reset and reused, so those handles are not pooled (connections are, in the multi).
        if (!share && spare.size() < 256) {
            curl_easy_reset(e);
            spare.push_back(e);
        } else {
            curl_easy_cleanup(e);
        }
    }

    // Called by the loop: a watched socket is ready, or the timer expired.
    void socket_action(int fd, int flags) {
        int running = 0;
        curl_multi_socket_action(multi, fd, flags, &running);
        drain_finished();
    }
    void fire() override { socket_action(CURL_SOCKET_TIMEOUT, 0); }

    void drain_finished() {
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
            if (m->msg != CURLMSG_DONE) continue;
            CURL* easy = m->easy_handle;
            CURLcode code = m->data.result;  // m is invalid once the handle is removed
            transfer* t = nullptr;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
            if (t) t->finish(code);
        }
    }

    void update_watch(int fd, int what) {
        auto& slot = sockets[fd];
        if (!slot) {
            slot = std::make_unique<socket_watch>();
            slot->in = {};
            slot->in.session = slot->out.session = this;
            slot->in.fd = slot->out.fd = fd;
            slot->in.flag = CURL_CSELECT_IN;
            slot->out.flag = CURL_CSELECT_OUT;
        }
        socket_watch& w = *slot;
        bool want_in = what == CURL_POLL_IN || what == CURL_POLL_INOUT;
        bool want_out = what == CURL_POLL_OUT || what == CURL_POLL_INOUT;
        if (want_in && !w.reading) loop->watch_readable(fd, &w.in);
        if (!want_in && w.reading) loop->unwatch_readable(fd);
        w.reading = want_in;
        if (want_out && !w.writing) loop->watch_writable(fd, &w.out);
        if (!want_out && w.writing) loop->unwatch_writable(fd);
        w.writing = want_out;
    }

    static int on_socket(CURL*, curl_socket_t fd, int what, void* self, void*) {
        try {
            static_cast<session_impl*>(self)->update_watch(fd, what);
            return 0;
        } catch (...) {
            return -1;  // libcurl fails the transfers of this socket
        }
    }

    static int on_timer(CURLM*, long timeout_ms, void* self) {
        auto* s = static_cast<session_impl*>(self);
        if (s->armed()) s->loop->disarm(s);
        if (timeout_ms < 0) return 0;
        try {
            s->loop->arm(s, s->loop->time() + std::chrono::milliseconds(timeout_ms));
            return 0;
        } catch (...) {
            return -1;
        }
    }

    host_slots& host(const std::string& key) {
        auto& h = hosts[key];
        if (!h) h = std::make_unique<host_slots>(options.limit_per_host);
        return *h;
    }
    void leave_host(const std::string& key) noexcept {
        auto it = hosts.find(key);
        if (it != hosts.end() && --it->second->users == 0) hosts.erase(it);
    }

    session_options options;
    event_loop* loop = nullptr;
    CURLM* multi = nullptr;
    CURLSH* share = nullptr;
    std::vector<CURL*> spare;
    std::unordered_map<int, std::unique_ptr<socket_watch>> sockets;
    std::optional<aio::semaphore> total;
    std::unordered_map<std::string, std::unique_ptr<host_slots>> hosts;
    std::size_t active = 0;
};

transfer::transfer(std::shared_ptr<session_impl> s, std::string u, bool stream)
    : session(std::move(s)), url(std::move(u)), streaming(stream) {
    easy = session->take_easy();
}

transfer::~transfer() {
    stop();
    curl_slist_free_all(request_headers);
    session->give_back_easy(easy);
}

void transfer::start() {
    if (CURLMcode rc = curl_multi_add_handle(session->multi, easy); rc != CURLM_OK)
        throw error(error::reason::other, url, curl_multi_strerror(rc));
    running = true;
    ++session->active;
}

void transfer::stop() noexcept {
    if (!running) return;
    running = false;
    --session->active;
    curl_multi_remove_handle(session->multi, easy);
}

void transfer::finish(CURLcode code) noexcept {
    result = code;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    char* effective = nullptr;
    curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective);
    try {
        final_url = effective ? effective : url;
    } catch (...) {
        // keep final_url empty: out of memory here only loses the redirect target
    }
    stop();
    done = true;
    wake();
}

// The most a transfer reserves ahead from the Content-Length (a length is a claim, not bytes).
constexpr std::size_t reserve_limit = 1024 * 1024;

size_t transfer::on_write(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<transfer*>(self);
    std::size_t n = size * count;
    if (t->streaming && t->body.size() >= 1024 * 1024) {
        t->paused = true;  // resumed by take_chunk once the task has taken the bytes
        return CURL_WRITEFUNC_PAUSE;
    }
    try {
        if (t->body.empty()) {
            // One allocation for a small body (or a batch of a large download): no regrowing.
            curl_off_t length = -1;
            curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
            if (length > 0) t->body.reserve(std::min<std::size_t>(static_cast<std::size_t>(length), reserve_limit));
        }
        t->body.append(data, n);
    } catch (...) {
        return 0;  // libcurl fails the transfer with CURLE_WRITE_ERROR
    }
    if (t->streaming) t->wake();
    return n;
}

size_t transfer::on_header(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<transfer*>(self);
    std::size_t n = size * count;
    std::string_view line = trim(std::string_view(data, n));
    try {
        if (line.starts_with("HTTP/")) {
            t->headers.clear();  // a new response (after a redirect or a 100 Continue)
        } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
            t->headers.add(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
        }
    } catch (...) {
        return 0;
    }
    return n;
}

void transfer::configure(const std::string& method, const std::string& data, const std::string& content_type,
                         const request_options& o) {
    const session_options& so = session->options;
    CURL* e = easy;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, this);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &transfer::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &transfer::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
    // A download saves the body as sent, so that lengths and ranges count the file's bytes.
    if (!streaming) curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    if (streaming) curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 64L * 1024);  // fewer reads and wake-ups per file
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, o.follow_redirects.value_or(so.follow_redirects) ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, so.max_redirects);
    curl_easy_setopt(e, CURLOPT_AUTOREFERER, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(so.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout.value_or(so.timeout).count()));
    if (so.low_speed_limit > 0 && so.low_speed_time.count() > 0) {
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, so.low_speed_limit);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(so.low_speed_time.count()));
    }
    if (!so.user_agent.empty()) curl_easy_setopt(e, CURLOPT_USERAGENT, so.user_agent.c_str());
    if (!o.referer.empty()) curl_easy_setopt(e, CURLOPT_REFERER, o.referer.c_str());
    auto add_header = [&](const std::string& name, const std::string& value) {
        std::string line = name + ": " + value;
        curl_slist* grown = curl_slist_append(request_headers, line.c_str());
        if (!grown) throw std::bad_alloc();
        request_headers = grown;
    };
    for (auto& [name, value] : so.headers) add_header(name, value);
    for (auto& [name, value] : o.headers) add_header(name, value);
    if (method == "POST") {
        if (!content_type.empty()) add_header("Content-Type", content_type);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(data.size()));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, data.c_str());
    } else if (method == "HEAD") {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    }
    if (request_headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, request_headers);
    if (!o.range.empty()) curl_easy_setopt(e, CURLOPT_RANGE, o.range.c_str());
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, so.verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, so.verify ? 2L : 0L);
    if (!so.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, so.ca_file.c_str());
    if (!so.proxy.empty()) curl_easy_setopt(e, CURLOPT_PROXY, so.proxy.c_str());
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     so.http2 && curl_has_http2() ? long{CURL_HTTP_VERSION_2TLS} : long{CURL_HTTP_VERSION_1_1});
    if (session->share) {
        curl_easy_setopt(e, CURLOPT_SHARE, session->share);
        curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");  // turns the cookie engine on (shared jar)
    }
}

namespace {

// `co_await`: until the transfer is done (or, streaming, until new bytes or the end arrive).
class transfer_awaiter final : public weft::detail::suspension, public transfer::waiter {
public:
    explicit transfer_awaiter(transfer& t) noexcept : t_(t) {}
    transfer_awaiter(const transfer_awaiter&) = delete;
    ~transfer_awaiter() {
        if (t_.waiting == this) t_.waiting = nullptr;
    }

    bool await_ready() const noexcept { return t_.done || (t_.streaming && t_.body.size() > t_.seen); }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;
        t_.waiting = this;
        return true;
    }
    void await_resume() const { throw_if_interrupted(); }
    void wake() noexcept override { resume_owner(); }
    void interrupt(weft::detail::interruption why) override {
        interrupted = why;
        t_.waiting = nullptr;
        t_.stop();  // libcurl lets go of the handle now (we are not inside a libcurl call)
        resume_owner();
    }

private:
    transfer& t_;
};

// Holds a request's slots (its host's, then the session's) until destroyed.
class admission {
public:
    admission(session_impl& s, std::string host) : s_(&s), host_(std::move(host)) {
        if (s.options.limit_per_host > 0) ++s.host(host_).users;
    }
    admission(admission&& other) noexcept
        : s_(std::exchange(other.s_, nullptr)), host_(std::move(other.host_)),
          host_unit_(std::move(other.host_unit_)), total_unit_(std::move(other.total_unit_)) {}
    admission& operator=(admission&&) = delete;
    ~admission() { release(); }

    // Gives the slots back now (a download's transfer is over; the rest is disk work).
    void release() noexcept {
        total_unit_.release();
        host_unit_.release();
        if (s_ && s_->options.limit_per_host > 0) s_->leave_host(host_);
        s_ = nullptr;
    }

    task<void> acquire() {
        if (s_->options.limit_per_host > 0) host_unit_ = co_await s_->host(host_).slots.scoped();
        if (s_->total) total_unit_ = co_await s_->total->scoped();
    }

private:
    session_impl* s_;
    std::string host_;
    aio::semaphore::guard host_unit_;
    aio::semaphore::guard total_unit_;
};

struct request_spec {
    std::string method;
    std::string url;
    std::string body;
    std::string content_type;
    request_options options;
};

// The spec travels on the heap: GCC 12 copies an aggregate coroutine parameter bitwise into
// the frame, which breaks its std::string members.
task<response> perform(std::shared_ptr<session_impl> s, std::unique_ptr<request_spec> owned) {
    request_spec& spec = *owned;
    std::string host = validate_url(spec.url);
    s->bind_to_current_loop();
    admission slots(*s, std::move(host));
    co_await slots.acquire();
    transfer t(s, spec.url, false);
    t.configure(spec.method, spec.body, spec.content_type, spec.options);
    t.start();
    co_await transfer_awaiter(t);
    if (t.result != CURLE_OK) t.throw_error();
    co_return response(t.status, std::move(t.headers), std::move(t.final_url), std::move(t.body));
}

}  // namespace

struct download_spec {
    std::string url;
    std::filesystem::path path;
    request_options request;
    download_options download;
};

task<download_result> download_to(std::shared_ptr<session_impl> s, std::unique_ptr<download_spec> spec);

}  // namespace detail

client_session::client_session(session_options options)
    : impl_(std::make_shared<detail::session_impl>(std::move(options))) {}
client_session::client_session(client_session&&) noexcept = default;
client_session& client_session::operator=(client_session&&) noexcept = default;
client_session::~client_session() = default;

std::size_t client_session::active() const noexcept { return impl_ ? impl_->active : 0; }
const session_options& client_session::options() const noexcept { return impl_->options; }

task<response> client_session::get(std::string url, request_options options) {
    return detail::perform(impl_, std::make_unique<detail::request_spec>(
                                      detail::request_spec{"GET", std::move(url), {}, {}, std::move(options)}));
}

task<response> client_session::get(std::string url) { return get(std::move(url), request_options()); }
task<response> client_session::head(std::string url) { return head(std::move(url), request_options()); }
task<response> client_session::post(std::string url, std::string body, std::string content_type) {
    return post(std::move(url), std::move(body), std::move(content_type), request_options());
}
task<download_result> client_session::download(std::string url, std::filesystem::path path) {
    return download(std::move(url), std::move(path), request_options(), download_options());
}
task<download_result> client_session::download(std::string url, std::filesystem::path path, request_options options) {
    return download(std::move(url), std::move(path), std::move(options), download_options());
}
task<download_result> client_session::download(std::string url, std::filesystem::path path, download_options download) {
    return this->download(std::move(url), std::move(path), request_options(), std::move(download));
}

task<response> client_session::head(std::string url, request_options options) {
    return detail::perform(impl_, std::make_unique<detail::request_spec>(
                                      detail::request_spec{"HEAD", std::move(url), {}, {}, std::move(options)}));
}

task<response> client_session::post(std::string url, std::string body, std::string content_type,
                                    request_options options) {
    return detail::perform(impl_, std::make_unique<detail::request_spec>(detail::request_spec{
                                      "POST", std::move(url), std::move(body), std::move(content_type), std::move(options)}));
}

task<download_result> client_session::download(std::string url, std::filesystem::path path, request_options options,
                                               download_options download) {
    return detail::download_to(impl_, std::make_unique<detail::download_spec>(detail::download_spec{
                                          std::move(url), std::move(path), std::move(options), std::move(download)}));
}

namespace detail {

namespace {

// The size of `part` (0 when missing), asked on a pool thread.
task<std::uint64_t> size_of(std::filesystem::path part) {
    auto job = [part = std::move(part)] {  // named: see src/fs/file.cpp on GCC 12
        std::error_code ec;
        auto n = std::filesystem::file_size(part, ec);
        return ec ? std::uint64_t{0} : static_cast<std::uint64_t>(n);
    };
    co_return co_await to_thread(std::move(job));
}

std::optional<std::uint64_t> parse_size(std::string_view s) {
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return n;
}

std::optional<std::uint64_t> content_length(const header_list& h) {
    auto v = h.get("content-length");
    return v ? parse_size(*v) : std::nullopt;
}

// "bytes FIRST-LAST/TOTAL" (TOTAL may be "*").
struct content_range {
    std::uint64_t first = 0;
    std::optional<std::uint64_t> total;
};

std::optional<content_range> parse_content_range(const header_list& h) {
    auto v = h.get("content-range");
    if (!v) return std::nullopt;
    std::string_view s = *v;
    if (!s.starts_with("bytes ")) return std::nullopt;
    s.remove_prefix(6);
    auto dash = s.find('-'), slash = s.find('/');
    if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) return std::nullopt;
    auto first = parse_size(s.substr(0, dash));
    if (!first || !parse_size(s.substr(dash + 1, slash - dash - 1))) return std::nullopt;
    content_range r{*first, std::nullopt};
    if (std::string_view total = s.substr(slash + 1); total != "*") {
        r.total = parse_size(total);
        if (!r.total) return std::nullopt;
    }
    return r;
}

// Bytes a download buffers before handing them to the pool in one write (a small file is
// opened, written, hashed, closed and renamed in one pool job).
constexpr std::size_t part_batch_bytes = 256 * 1024;

// The ".part" file of one download, written by pool jobs one at a time (the task awaits each).
// The jobs share it, so one still running after its task gave up (cancelled, timed out) never
// sees the descriptor closed under it; `abandon` and the job in flight agree under a mutex on
// who removes ".part" (when it is not kept) and that nothing is renamed any more.
class part_file {
public:
    part_file(std::filesystem::path path, bool hashing) : path_(std::move(path)), hashing_(hashing) {}
    part_file(const part_file&) = delete;
    part_file& operator=(const part_file&) = delete;
    ~part_file() {
        if (fd_ >= 0) ::close(fd_);
    }

    // On a pool thread: writes `bytes` (opening ".part" on the first call; `append`: after its
    // kept bytes, which are hashed first), then with a `final_path` closes and renames it,
    // yielding the SHA-256 when hashing. Once the download was abandoned it renames nothing,
    // and writes only if ".part" is kept (the bytes are a valid prefix for a resume).
    std::string write(bool append, std::string_view bytes, const std::optional<std::filesystem::path>& final_path) {
        {
            std::lock_guard lock(mutex_);
            if (abandoned_ && !keep_) return {};
            busy_ = true;
        }
        struct settle {
            part_file& f;
            ~settle() { f.job_ended(); }
        } on_exit{*this};
        if (fd_ < 0) open(append);
        if (hash_) hash_->update(bytes);
        while (!bytes.empty()) {
            ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) fail("write");
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        if (!final_path) return {};
        int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0 && errno != EINTR) fail("close");
        std::lock_guard lock(mutex_);
        if (abandoned_) return {};  // given up meanwhile: no final file
        std::filesystem::rename(path_, *final_path);
        renamed_ = true;
        return hash_ ? hash_->hex() : std::string();
    }

    // On the loop, when the download fails: no job renames from now on, nor writes unless
    // `keep`; ".part" is removed (unless `keep`) now, or by the job in flight when it ends.
    void abandon(bool keep) noexcept {
        std::lock_guard lock(mutex_);
        abandoned_ = true;
        keep_ = keep;
        if (!busy_) drop_unless_kept();
    }

private:
    void job_ended() noexcept {
        std::lock_guard lock(mutex_);
        busy_ = false;
        if (abandoned_) drop_unless_kept();
    }
    void drop_unless_kept() noexcept {
        if (keep_ || renamed_) return;
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    void open(bool append) {
        if (hashing_) hash_.emplace();
        if (append && hash_) {
            int in = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
            if (in < 0) fail("open");
            std::string buffer(part_batch_bytes, '\0');
            for (;;) {
                ssize_t n = ::read(in, buffer.data(), buffer.size());
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) {
                    int e = errno;
                    ::close(in);
                    errno = e;
                    fail("read");
                }
                if (n == 0) break;
                hash_->update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
            }
            ::close(in);
        }
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
        if (fd_ < 0) fail("open");
    }
    [[noreturn]] void fail(const char* what) const {
        throw std::filesystem::filesystem_error(what, path_, std::error_code(errno, std::generic_category()));
    }

    const std::filesystem::path path_;
    const bool hashing_;
    int fd_ = -1;  // the jobs' own (one at a time)
    std::optional<weft::detail::sha256> hash_;
    std::mutex mutex_;  // guards the flags below
    bool busy_ = false;
    bool abandoned_ = false;
    bool keep_ = false;
    bool renamed_ = false;
};

// Writes `bytes` to `file` on a pool thread (see part_file::write). The job owns everything it
// touches. Callers name the task before awaiting it: GCC 12 may destroy a temporary argument
// inside a co_await full-expression twice.
task<std::string> write_part(std::shared_ptr<part_file> file, bool append, std::string bytes,
                             std::optional<std::filesystem::path> final_path) {
    auto job = [file = std::move(file), append, bytes = std::move(bytes), final_path = std::move(final_path)] {
        return file->write(append, bytes, final_path);
    };  // named: see src/fs/file.cpp on GCC 12
    co_return co_await to_thread(std::move(job));
}

[[noreturn]] void throw_too_large(const std::string& url, const std::string& what, std::uint64_t limit) {
    throw error(error::reason::too_large, url, what + " exceeds the limit of " + std::to_string(limit) + " bytes");
}

}  // namespace

task<download_result> download_to(std::shared_ptr<session_impl> s, std::unique_ptr<download_spec> spec) {
    const std::string& url = spec->url;
    const download_options& dl = spec->download;
    std::string host = validate_url(url);
    s->bind_to_current_loop();
    std::filesystem::path part = spec->path;
    part += ".part";
    std::uint64_t have = 0;  // bytes of ".part" to keep, asked for with Range
    if (dl.resume && !dl.if_range.empty()) have = co_await size_of(part);
    admission slots(*s, std::move(host));
    co_await slots.acquire();

    download_result result;
    auto file = std::make_shared<part_file>(part, dl.sha256);
    std::exception_ptr failure;
    bool corrupt = false;  // ".part" contradicts the response: never keep it
    try {
        for (;;) {  // twice at most: a refused resume (416, a range elsewhere) asks again without Range
            request_options o = spec->request;
            if (dl.resume) o.range.clear();
            if (have > 0) {
                o.range = std::to_string(have) + "-";
                o.headers.emplace_back("If-Range", dl.if_range);
            }
            transfer t(s, url, true);
            t.configure("GET", {}, {}, o);
            t.start();
            std::optional<std::uint64_t> expected;  // the final file's size, when the response says
            std::uint64_t size = 0;                 // of ".part" once the bytes received are written
            bool headers_seen = false, append = false, again = false;
            for (;;) {
                co_await transfer_awaiter(t);
                const bool failed = t.done && t.result != CURLE_OK;
                if (!headers_seen) {
                    // The final response's headers are known and nothing is written yet.
                    if (failed && !(dl.keep_partial && !t.body.empty())) t.throw_error();
                    long status = t.status_now();
                    if (have > 0 && status == 206) {
                        auto range = parse_content_range(t.headers);
                        append = range && range->first == have;
                        if (append) expected = range->total;
                        else again = true;
                    } else if (have > 0 && status == 416) {
                        again = true;
                    }
                    if (again && failed) t.throw_error();
                    if (again) break;
                    if (status >= 400)
                        throw error(error::reason::status, url, "HTTP status " + std::to_string(status), 0, status);
                    auto length = content_length(t.headers);
                    if (!expected && length) expected = append ? have + *length : *length;
                    if (dl.max_bytes > 0 && expected && *expected > dl.max_bytes)
                        throw_too_large(url, "a length of " + std::to_string(*expected) + " bytes", dl.max_bytes);
                    size = append ? have : 0;
                    result.resumed_from = size;
                    if (dl.on_headers) dl.on_headers(status, t.headers);
                    headers_seen = true;
                }
                if (std::size_t fresh = t.body.size() - t.seen; fresh > 0) {
                    size += fresh;
                    t.seen = t.body.size();
                    if (dl.max_bytes > 0 && size > dl.max_bytes) throw_too_large(url, "the body", dl.max_bytes);
                    if (dl.on_progress) dl.on_progress(fresh);
                }
                // (Each write_part task is named before its co_await: see write_part.)
                if (failed) {
                    // What arrived before the failure is a valid prefix: keep it for a resume.
                    if (dl.keep_partial) {
                        auto kept = write_part(file, append, t.take_chunk(), std::nullopt);
                        co_await std::move(kept);
                    }
                    t.throw_error();
                }
                if (t.done) break;
                if (t.body.size() >= part_batch_bytes) {
                    auto batch = write_part(file, append, t.take_chunk(), std::nullopt);
                    co_await std::move(batch);
                }
            }
            if (again) {
                have = 0;
                continue;
            }
            if (expected && size != *expected) {
                corrupt = true;
                throw error(error::reason::transfer, url,
                            "truncated: got " + std::to_string(size) + " of " + std::to_string(*expected) + " bytes");
            }
            slots.release();  // the connection is free for the next request; the rest is disk work
            auto last = write_part(file, append, t.take_chunk(), spec->path);
            result.sha256 = co_await std::move(last);
            result.status = t.status;
            result.url = t.final_url;
            result.headers = std::move(t.headers);
            result.bytes = size;
            break;
        }
    } catch (const error& e) {
        failure = std::current_exception();
        corrupt = corrupt || e.kind() == error::reason::status || e.kind() == error::reason::too_large;
    } catch (...) {
        failure = std::current_exception();  // cancellation, a weft timeout, a file error
    }
    if (failure) {
        // The error path does not suspend (the task may be cancelled): ".part" is removed now
        // unless kept, or by a write still in flight on the pool when it ends.
        file->abandon(dl.keep_partial && !corrupt);
        std::rethrow_exception(failure);
    }
    result.path = spec->path;
    co_return result;
}

}  // namespace detail

}  // namespace weft::http
