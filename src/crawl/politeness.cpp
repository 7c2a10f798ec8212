#include <weft/crawl/politeness.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace weft::crawl {

using std::chrono::milliseconds;

milliseconds backoff_delay(milliseconds base, milliseconds cap, int retry, double unit_random) {
    double d = static_cast<double>(base.count()) * std::ldexp(1.0, std::clamp(retry, 1, 40) - 1);
    d = std::min(d, static_cast<double>(cap.count()));
    double r = std::clamp(unit_random, 0.0, 1.0);
    return milliseconds(static_cast<milliseconds::rep>(d / 2 + d / 2 * r));
}

std::optional<milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r')) value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        long long seconds = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec != std::errc() || end != value.data() + value.size()) return milliseconds(86'400'000);  // absurdly large: a day
        return milliseconds(std::min<long long>(seconds, 86'400) * 1000);
    }
    std::string date(value);
    time_t when = curl_getdate(date.c_str(), nullptr);  // RFC 1123 and the two obsolete HTTP-date forms
    if (when < 0) return std::nullopt;
    auto delta = std::chrono::system_clock::from_time_t(when) - now;
    if (delta.count() <= 0) return milliseconds(0);
    return std::chrono::duration_cast<milliseconds>(delta);
}

host_pacer::time_point host_pacer::book(time_point now, double unit_random) noexcept {
    time_point start = std::max({now, next_, paused_until_});
    if (current_.count() > 0) {
        double factor = 0.5 + std::clamp(unit_random, 0.0, 1.0);
        next_ = start + milliseconds(static_cast<milliseconds::rep>(static_cast<double>(current_.count()) * factor));
    } else {
        next_ = start;
    }
    return start;
}

void host_pacer::throttled(time_point now, std::optional<milliseconds> retry_after) noexcept {
    current_ = std::min(max_, std::max(min_backoff_, current_ * 2));
    if (retry_after) paused_until_ = std::max(paused_until_, now + *retry_after);
}

void host_pacer::succeeded() noexcept {
    if (current_ <= configured_) return;
    current_ = std::max(configured_, current_ - (current_ - configured_) / 2);
    if (current_ - configured_ < milliseconds(10)) current_ = configured_;
}

}  // namespace weft::crawl
