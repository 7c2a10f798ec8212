// `weft load upper`: a load generator for the uppercase protocol. One process, one event
// loop, -c connections each keeping --pipeline requests in flight; every reply is checked
// byte for byte. Bounded by -n requests or -d seconds (both capped). Loopback only.
#include "command.hpp"
#include "upper_protocol.hpp"

#include <weft/errors.hpp>
#include <weft/net/stream.hpp>
#include <weft/run.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>

#include <fmt/core.h>

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace net = weft::net;
using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t max_requests = 100'000'000;
constexpr double max_duration = 600;
constexpr std::size_t max_message = 1 << 20;

struct load_options {
    std::string program;
    std::string host = "127.0.0.1";
    std::uint16_t port = 8899;
    std::size_t connections = 64;
    std::size_t size = 64;
    std::size_t pipeline = 1;
    std::uint64_t requests = 0;
    double duration = 0;
    bool json = false;
};

// Latencies in nanoseconds, in log-linear buckets (64 per power of two: < 1.6% error).
class latency_histogram {
public:
    void record(std::uint64_t ns) {
        ++counts_[index(ns)];
        ++total_;
        max_ = std::max(max_, ns);
    }
    std::uint64_t percentile(double p) const {
        if (total_ == 0) return 0;
        auto wanted = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(total_) + 0.5);
        wanted = std::clamp<std::uint64_t>(wanted, 1, total_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= wanted) return std::min(value(i), max_);
        }
        return max_;
    }
    std::uint64_t max() const { return max_; }

private:
    static std::size_t index(std::uint64_t v) {
        int msb = 63 - std::countl_zero(v | 1);
        if (msb < 7) return static_cast<std::size_t>(v);
        int shift = msb - 6;
        return static_cast<std::size_t>(shift) * 64 + static_cast<std::size_t>(v >> shift);
    }
    static std::uint64_t value(std::size_t i) {  // the middle of bucket i
        if (i < 128) return i;
        std::size_t shift = i / 64 - 1;
        return ((i % 64 + 64) << shift) + ((std::uint64_t{1} << shift) >> 1);
    }
    std::array<std::uint64_t, 64 * 66> counts_{};
    std::uint64_t total_ = 0, max_ = 0;
};

struct shared_state {
    std::uint64_t to_issue = 0;                                  // requests not yet sent (the -n budget)
    clock_type::time_point stop_at = clock_type::time_point::max();  // no new requests after this (-d)
    std::uint64_t completed = 0, errors = 0, mismatches = 0;
    latency_histogram latencies;
    std::string first_error;

    bool may_issue(clock_type::time_point now) {
        if (to_issue == 0 || now >= stop_at) return false;
        --to_issue;
        return true;
    }
};

// The messages: printable bytes without 'q' (no chunk can ever read "quit"), different per
// connection. Each is a window, at an offset chosen by the connection, into one periodic
// pattern, and its expected reply the same window into the pattern upper-cased: a thousand
// connections share two buffers that stay in cache instead of holding two strings each.
class message_pattern {
public:
    explicit message_pattern(std::size_t size) : size_(size), plain_(size + period, ' ') {
        for (std::size_t i = 0; i < plain_.size(); ++i) plain_[i] = alphabet[i * 7 % period];
        upper_ = plain_;
        weft::cli::upper::to_upper_ascii(upper_.data(), upper_.size());
    }
    std::string_view message(std::size_t seed) const { return {plain_.data() + seed % period, size_}; }
    std::string_view reply(std::size_t seed) const { return {upper_.data() + seed % period, size_}; }

private:
    static constexpr char alphabet[] = "abcdefghijklmnoprstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-";
    static constexpr std::size_t period = sizeof alphabet - 1;
    std::size_t size_;
    std::string plain_, upper_;
};

// The send times of one connection's requests in flight, oldest first: a ring of --pipeline
// slots, inside the connection's coroutine frame (already in cache when a reply arrives, where
// a std::deque's node on the heap was a cache miss per reply at C = 1000) up to 8 of them.
class send_times {
public:
    explicit send_times(std::size_t capacity)
        : capacity_(capacity), heap_(capacity > inline_slots ? capacity : 0),
          slots_(capacity > inline_slots ? heap_.data() : inline_.data()) {}
    send_times(const send_times&) = delete;
    send_times& operator=(const send_times&) = delete;
    bool empty() const { return count_ == 0; }
    bool full() const { return count_ == capacity_; }
    void push(clock_type::time_point t) {
        std::size_t at = head_ + count_;
        slots_[at >= capacity_ ? at - capacity_ : at] = t;
        ++count_;
    }
    clock_type::time_point pop() {
        clock_type::time_point t = slots_[head_];
        head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
        --count_;
        return t;
    }

private:
    static constexpr std::size_t inline_slots = 8;
    std::size_t capacity_, head_ = 0, count_ = 0;
    std::array<clock_type::time_point, inline_slots> inline_;
    std::vector<clock_type::time_point> heap_;
    clock_type::time_point* slots_;
};

weft::task<void> drive(net::stream& s, std::size_t seed, const load_options& o, const message_pattern& pattern,
                       shared_state& st) {
    const std::string_view message = pattern.message(seed);
    const std::string_view expected = pattern.reply(seed);
    send_times in_flight(o.pipeline);
    std::size_t position = 0;  // bytes of the oldest in-flight reply received so far
    bool message_ok = true;
    try {
        for (auto now = clock_type::now(); !in_flight.full() && st.may_issue(now); now = clock_type::now()) {
            s.write(message);
            in_flight.push(now);
        }
        while (!in_flight.empty()) {
            std::string chunk = co_await s.read(256 * 1024);
            if (chunk.empty()) throw std::runtime_error("server closed the connection with requests in flight");
            std::string_view rest = chunk;
            while (!rest.empty()) {
                if (in_flight.empty()) throw std::runtime_error("server sent more bytes than requested");
                std::size_t n = std::min(rest.size(), o.size - position);
                if (std::memcmp(rest.data(), expected.data() + position, n) != 0) message_ok = false;
                rest.remove_prefix(n);
                position += n;
                if (position < o.size) break;
                auto now = clock_type::now();
                st.latencies.record(static_cast<std::uint64_t>((now - in_flight.pop()).count()));
                ++st.completed;
                st.mismatches += !message_ok;
                position = 0;
                message_ok = true;
                if (st.may_issue(now)) {
                    s.write(message);
                    in_flight.push(now);
                }
            }
            co_await s.drain();
        }
    } catch (const std::exception& e) {
        ++st.errors;
        if (st.first_error.empty()) st.first_error = e.what();
    }
}

struct load_result {
    double seconds = 0;
    std::size_t connected = 0;
};

weft::task<load_result> run_load(const load_options& o, shared_state& st) {
    auto addresses = co_await net::resolve(o.host, o.port);
    for (auto& a : addresses) {
        if (!a.is_loopback()) {
            throw std::invalid_argument(
                fmt::format("weft load only targets loopback addresses; '{}' is {}", o.host, a.to_string()));
        }
    }
    const message_pattern pattern(o.size);  // like the streams, outlives every driver's last step
    std::vector<net::stream> streams;
    streams.reserve(o.connections);
    {
        auto deadline = weft::timeout(std::chrono::seconds(60));
        for (std::size_t i = 0; i < o.connections; ++i) {
            try {
                streams.push_back(co_await net::open_connection(o.host, o.port));
            } catch (const std::system_error& e) {
                ++st.errors;
                if (st.first_error.empty()) st.first_error = e.what();
                break;
            }
        }
    }
    load_result result;
    result.connected = streams.size();
    auto started = clock_type::now();
    st.stop_at = o.duration > 0 ? started + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.duration))
                                : clock_type::time_point::max();
    {
        // Replies still owed after the budget ends get at most this long.
        double limit = (o.duration > 0 ? o.duration : max_duration) + 30;
        auto deadline = weft::timeout(std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(limit)));
        std::vector<weft::task_handle<void>> drivers;
        drivers.reserve(streams.size());
        for (std::size_t i = 0; i < streams.size(); ++i) {
            drivers.push_back(weft::create_task(drive(streams[i], i, o, pattern, st)));
        }
        try {
            for (auto& d : drivers) co_await d;
        } catch (const weft::timeout_error&) {
            ++st.errors;
            if (st.first_error.empty()) st.first_error = "replies still missing when the time limit passed";
        }
    }
    result.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    for (auto& s : streams) s.abort();
    co_return result;
}

void raise_fd_limit(std::size_t connections) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    rlim_t wanted = static_cast<rlim_t>(connections) + 64;
    if (limit.rlim_cur >= wanted) return;
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
}

int run_load_command(load_options o) {
    if (o.requests == 0 && o.duration == 0) o.requests = 100'000;
    if (o.requests == 0) o.requests = max_requests;
    raise_fd_limit(o.connections);
    shared_state st;
    st.to_issue = o.requests;
    load_result r = weft::run(run_load(o, st));
    double rate = r.seconds > 0 ? static_cast<double>(st.completed) / r.seconds : 0;
    double mb = rate * static_cast<double>(o.size) / 1e6;
    auto us = [&](double p) { return static_cast<double>(st.latencies.percentile(p)) / 1000.0; };
    if (o.json) {
        fmt::print("{{\"host\": \"{}\", \"port\": {}, \"connections\": {}, \"message_size\": {}, \"pipeline\": {}, "
                   "\"requests\": {}, \"seconds\": {:.3f}, \"req_per_s\": {:.1f}, \"mb_per_s\": {:.3f}, "
                   "\"p50_us\": {:.1f}, \"p90_us\": {:.1f}, \"p99_us\": {:.1f}, \"p999_us\": {:.1f}, \"max_us\": {:.1f}, "
                   "\"errors\": {}, \"mismatches\": {}}}\n",
                   o.host, o.port, r.connected, o.size, o.pipeline, st.completed, r.seconds, rate, mb, us(50), us(90),
                   us(99), us(99.9), static_cast<double>(st.latencies.max()) / 1000.0, st.errors, st.mismatches);
    } else {
        fmt::print("weft load upper: {}:{}, {} connections, {}-byte messages, pipeline {}\n", o.host, o.port, r.connected,
                   o.size, o.pipeline);
        fmt::print("  requests  {} in {:.3f} s: {:.0f} req/s, {:.2f} MB/s each way\n", st.completed, r.seconds, rate, mb);
        fmt::print("  latency   p50 {:.1f} us  p90 {:.1f} us  p99 {:.1f} us  p99.9 {:.1f} us  max {:.1f} us\n", us(50),
                   us(90), us(99), us(99.9), static_cast<double>(st.latencies.max()) / 1000.0);
        fmt::print("  errors    {}  mismatches {}\n", st.errors, st.mismatches);
    }
    if (!st.first_error.empty()) fmt::print(stderr, "weft load: first error: {}\n", st.first_error);
    return st.errors || st.mismatches ? 1 : 0;
}

weft::cli::command_registration load_command{
    "load", "Load-test a server on loopback: `weft load upper -c 64 -s 64 -d 10`", [](CLI::App& app) {
        auto o = std::make_shared<load_options>();
        app.add_option("program", o->program, "Which protocol (upper)")->required()->check(CLI::IsMember({"upper"}));
        app.add_option("--host", o->host, "Server address (loopback only)")->capture_default_str();
        app.add_option("--port,-p", o->port, "Server port")->capture_default_str();
        app.add_option("--connections,-c", o->connections, "Concurrent connections")
            ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
            ->capture_default_str();
        app.add_option("--size,-s", o->size, "Message size in bytes")->check(CLI::Range(std::size_t{1}, max_message))->capture_default_str();
        app.add_option("--pipeline", o->pipeline, "Requests in flight per connection")
            ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
            ->capture_default_str();
        app.add_option("--requests,-n", o->requests, "Total requests (default 100000 when -d is not given)")
            ->check(CLI::Range(std::uint64_t{1}, max_requests));
        app.add_option("--duration,-d", o->duration, "Seconds to send requests for")->check(CLI::Range(0.001, max_duration));
        app.add_flag("--json", o->json, "Print one JSON object");
        return [o] { return run_load_command(*o); };
    }};

}  // namespace
