// robots.txt per RFC 9309: group selection, percent-encoding normalization, '*'/'$' patterns,
// longest match with Allow winning ties.
#include <weft/crawl/robots.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <initializer_list>

namespace weft::crawl {

namespace {

constexpr std::size_t max_robots_bytes = 500 * 1024;  // RFC 9309 §2.5: parse at least 500 KiB
constexpr double max_crawl_delay_seconds = 24 * 60 * 60;

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

std::string_view trim(std::string_view s) noexcept {
    constexpr std::string_view space = " \t\f\v";
    auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

// The product token at the start of a user-agent value: letters, '_' and '-' (RFC 9309 §2.2.1).
std::string_view product_token(std::string_view value) noexcept {
    std::size_t n = 0;
    while (n < value.size()) {
        char c = value[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-')) break;
        ++n;
    }
    return value.substr(0, n);
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unreserved(unsigned char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

void append_escaped(std::string& out, unsigned char c) {
    constexpr char digits[] = "0123456789ABCDEF";
    out += '%';
    out += digits[c >> 4];
    out += digits[c & 0xF];
}

// RFC 9309 §2.2.2: decode %XX of unreserved characters, keep other escapes (hex upper-cased),
// escape octets outside ASCII. Applied to patterns and paths alike, so they compare as equals.
std::string normalize(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            auto decoded = static_cast<unsigned char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            if (unreserved(decoded))
                out += static_cast<char>(decoded);
            else
                append_escaped(out, decoded);
            i += 2;
        } else if (c >= 0x80) {
            append_escaped(out, c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

// Whether `pattern` ('*' wildcards, optional final '$') matches `path` from its start.
bool matches(std::string_view pattern, std::string_view path) noexcept {
    bool anchored = !pattern.empty() && pattern.back() == '$';
    if (anchored) pattern.remove_suffix(1);
    auto star = pattern.find('*');
    if (star == std::string_view::npos) return anchored ? path == pattern : path.starts_with(pattern);

    // prefix '*' middle '*' ... '*' last: the prefix at 0, each middle part at its earliest place
    // (earliest leaves the most room for the rest), the last part anywhere after (or at the end).
    if (!path.starts_with(pattern.substr(0, star))) return false;
    std::size_t pos = star;
    pattern.remove_prefix(star + 1);
    for (star = pattern.find('*'); star != std::string_view::npos; star = pattern.find('*')) {
        auto part = pattern.substr(0, star);
        auto found = path.find(part, pos);
        if (found == std::string_view::npos) return false;
        pos = found + part.size();
        pattern.remove_prefix(star + 1);
    }
    if (anchored) return path.size() - pos >= pattern.size() && path.ends_with(pattern);
    return path.find(pattern, pos) != std::string_view::npos;
}

std::optional<double> parse_seconds(std::string_view value) {
    double seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc{} || end != value.data() + value.size() || !std::isfinite(seconds) || seconds < 0)
        return std::nullopt;
    return std::min(seconds, max_crawl_delay_seconds);
}

}  // namespace

robots_rules robots_rules::parse(std::string_view text, std::string_view user_agent) {
    if (text.size() > max_robots_bytes) {
        text = text.substr(0, max_robots_bytes);
        auto last_end = text.find_last_of("\r\n");
        text = last_end == std::string_view::npos ? std::string_view{} : text.substr(0, last_end + 1);
    }
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    const std::string_view agent = product_token(user_agent);

    // Rules for our agent and for '*', collected from every group naming them.
    robots_rules specific;
    robots_rules global;
    bool saw_specific = false;
    bool in_agent_lines = false;  // a run of User-agent lines opens a group; a rule line ends the run
    bool group_is_specific = false;
    bool group_is_global = false;

    auto add_delay = [](robots_rules& to, double seconds) {
        auto ms = std::chrono::milliseconds(std::llround(seconds * 1000));
        if (!to.crawl_delay_ || *to.crawl_delay_ < ms) to.crawl_delay_ = ms;
    };

    while (!text.empty()) {
        auto line_end = text.find_first_of("\r\n");
        std::string_view line = text.substr(0, line_end);
        text.remove_prefix(line_end == std::string_view::npos ? text.size() : line_end + 1);

        line = line.substr(0, line.find('#'));
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view key = trim(line.substr(0, colon));
        std::string_view value = trim(line.substr(colon + 1));

        if (equal_ignoring_case(key, "user-agent")) {
            if (!in_agent_lines) {
                in_agent_lines = true;
                group_is_specific = group_is_global = false;
            }
            if (value.starts_with('*')) {
                group_is_global = true;
            } else if (auto token = product_token(value); !token.empty() && equal_ignoring_case(token, agent)) {
                group_is_specific = saw_specific = true;
            }
            continue;
        }

        bool allow = equal_ignoring_case(key, "allow");
        bool disallow = equal_ignoring_case(key, "disallow");
        bool delay = equal_ignoring_case(key, "crawl-delay");
        if (!allow && !disallow && !delay) continue;  // Sitemap, unknown records: ignored
        in_agent_lines = false;
        if (!group_is_specific && !group_is_global) continue;
        for (robots_rules* to : {group_is_specific ? &specific : nullptr, group_is_global ? &global : nullptr}) {
            if (!to) continue;
            if (delay) {
                if (auto seconds = parse_seconds(value)) add_delay(*to, *seconds);
            } else if (!value.empty()) {
                to->rules_.push_back(rule{normalize(value), allow});
            }
        }
    }
    return saw_specific ? specific : global;
}

robots_rules robots_rules::allow_all() {
    return robots_rules{};
}

robots_rules robots_rules::disallow_all() {
    robots_rules r;
    r.rules_.push_back(rule{"*", false});
    return r;
}

bool robots_rules::allowed(std::string_view path) const {
    if (path.empty()) path = "/";
    if (path == "/robots.txt") return true;
    const std::string normalized = normalize(path);
    const rule* best = nullptr;
    for (const rule& r : rules_) {
        if (!matches(r.pattern, normalized)) continue;
        if (!best || r.pattern.size() > best->pattern.size() ||
            (r.pattern.size() == best->pattern.size() && r.allow))
            best = &r;
    }
    return !best || best->allow;
}

std::optional<std::chrono::milliseconds> robots_rules::crawl_delay() const {
    return crawl_delay_;
}

}  // namespace weft::crawl
