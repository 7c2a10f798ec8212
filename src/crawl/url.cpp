// weft::crawl URL helpers: resolution and normalization on libcurl's curl_url API, and
// curl's URL globbing.
#include <weft/crawl/url.hpp>

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>

namespace weft::crawl {

namespace {

struct url_deleter {
    void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};
using url_handle = std::unique_ptr<CURLU, url_deleter>;

url_handle new_url() {
    CURLU* u = curl_url();
    if (u == nullptr) throw std::bad_alloc();
    return url_handle(u);
}

// One part of a parsed URL, or nullopt when it is absent.
std::optional<std::string> get_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
    char* out = nullptr;
    CURLUcode rc = curl_url_get(u, part, &out, flags);
    if (rc == CURLUE_OUT_OF_MEMORY) throw std::bad_alloc();
    if (rc != CURLUE_OK || out == nullptr) return std::nullopt;
    std::string value(out);
    curl_free(out);
    return value;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

std::string lowered(std::string s) {
    for (char& c : s) c = lower(c);
    return s;
}

bool is_http(std::string_view scheme) { return scheme == "http" || scheme == "https"; }

void append_escape(std::string& out, unsigned char byte) {
    static constexpr char digits[] = "0123456789ABCDEF";
    out += '%';
    out += digits[byte >> 4];
    out += digits[byte & 0xF];
}

// WHATWG's "strip leading and trailing C0 control or space, remove tab and newline".
std::string clean_reference(std::string_view ref) {
    auto is_c0_or_space = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
    while (!ref.empty() && is_c0_or_space(ref.front())) ref.remove_prefix(1);
    while (!ref.empty() && is_c0_or_space(ref.back())) ref.remove_suffix(1);
    std::string out;
    out.reserve(ref.size());
    for (char c : ref)
        if (c != '\t' && c != '\n' && c != '\r') out += c;
    return out;
}

// The lower-cased scheme of a reference ("" if it has none): ALPHA *(ALPHA / DIGIT / + - .) ":".
std::string scheme_of(std::string_view ref) {
    if (ref.empty() || !is_alpha(ref[0])) return {};
    for (std::size_t i = 1; i < ref.size(); ++i) {
        char c = ref[i];
        if (c == ':') return lowered(std::string(ref.substr(0, i)));
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return {};
    }
    return {};
}

// Makes a reference acceptable to curl_url as a browser would read it: backslashes before the
// query become slashes, and bytes a browser percent-encodes are encoded after the authority
// (the host is left alone for IDN). Existing %XX escapes are kept; a lone '%' becomes %25.
std::string encode_reference(std::string ref) {
    std::size_t query = ref.find_first_of("?#");
    std::replace(ref.begin(), query == std::string::npos ? ref.end() : ref.begin() + static_cast<std::ptrdiff_t>(query),
                 '\\', '/');

    std::size_t start = 0;  // where encoding begins: after "scheme://authority" or "//authority"
    std::string scheme = scheme_of(ref);
    std::size_t after_scheme = scheme.empty() ? 0 : scheme.size() + 1;
    if (ref.compare(after_scheme, 2, "//") == 0) {
        start = ref.find_first_of("/?#", after_scheme + 2);
        if (start == std::string::npos) start = ref.size();
    }

    std::string out = ref.substr(0, start);
    bool in_path = true;
    for (std::size_t i = start; i < ref.size(); ++i) {
        auto byte = static_cast<unsigned char>(ref[i]);
        char c = ref[i];
        if (c == '?' || c == '#') in_path = false;
        if (c == '%') {
            if (i + 2 < ref.size() && is_hex(ref[i + 1]) && is_hex(ref[i + 2]))
                out += c;
            else
                out += "%25";
        } else if (byte <= 0x20 || byte >= 0x7F || c == '"' || c == '<' || c == '>' ||
                   (in_path && (c == '`' || c == '{' || c == '}'))) {
            append_escape(out, byte);
        } else {
            out += c;
        }
    }
    return out;
}

[[noreturn]] void throw_bad_url(std::string_view url, CURLUcode rc) {
    throw std::invalid_argument("bad URL '" + std::string(url) + "': " + curl_url_strerror(rc));
}

// Parses an absolute URL of any scheme; throws std::invalid_argument naming it.
url_handle parse_absolute(std::string_view url) {
    url_handle u = new_url();
    CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, std::string(url).c_str(), CURLU_NON_SUPPORT_SCHEME);
    if (rc == CURLUE_OUT_OF_MEMORY) throw std::bad_alloc();
    if (rc != CURLUE_OK) throw_bad_url(url, rc);
    return u;
}

bool is_unreserved(char c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    return lower(c) - 'a' + 10;
}

// Decodes escapes of unreserved characters and upper-cases the hex digits of the others.
std::string normalize_escapes(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '%' && i + 2 < path.size() && is_hex(path[i + 1]) && is_hex(path[i + 2])) {
            char decoded = static_cast<char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2]));
            if (is_unreserved(decoded)) {
                out += decoded;
            } else {
                out += '%';
                out += upper(path[i + 1]);
                out += upper(path[i + 2]);
            }
            i += 2;
        } else {
            out += path[i];
        }
    }
    return out;
}

}  // namespace

std::optional<std::string> resolve_url(std::string_view base, std::string_view ref) {
    std::string r = clean_reference(ref);
    if (r.empty() || r.front() == '#') return std::nullopt;

    url_handle u = new_url();
    if (curl_url_set(u.get(), CURLUPART_URL, std::string(base).c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        return std::nullopt;

    if (std::string scheme = scheme_of(r); !scheme.empty()) {
        if (!is_http(scheme)) return std::nullopt;
        std::string rest = r.substr(scheme.size() + 1);
        if (!rest.starts_with("//") && !rest.starts_with("\\\\") && !rest.starts_with("/\\") &&
            !rest.starts_with("\\/")) {
            // "http:x.jpg" is relative when the base has the same scheme (WHATWG); else unusable.
            if (get_part(u.get(), CURLUPART_SCHEME) != scheme || rest.empty()) return std::nullopt;
            r = std::move(rest);
        }
    }

    std::string encoded = encode_reference(std::move(r));
    if (curl_url_set(u.get(), CURLUPART_URL, encoded.c_str(), 0) != CURLUE_OK) return std::nullopt;
    curl_url_set(u.get(), CURLUPART_FRAGMENT, nullptr, 0);
    auto scheme = get_part(u.get(), CURLUPART_SCHEME);
    auto host = get_part(u.get(), CURLUPART_HOST);
    if (!scheme || !is_http(*scheme) || !host || host->empty()) return std::nullopt;
    return get_part(u.get(), CURLUPART_URL);
}

std::string normalize_url(std::string_view absolute_url) {
    url_handle u = parse_absolute(absolute_url);
    curl_url_set(u.get(), CURLUPART_FRAGMENT, nullptr, 0);
    if (auto host = get_part(u.get(), CURLUPART_HOST); host && !host->empty())
        if (CURLUcode rc = curl_url_set(u.get(), CURLUPART_HOST, lowered(*host).c_str(), 0); rc != CURLUE_OK)
            throw_bad_url(absolute_url, rc);
    std::optional<std::string> url = get_part(u.get(), CURLUPART_URL, CURLU_NO_DEFAULT_PORT);
    std::string path = get_part(u.get(), CURLUPART_PATH).value_or("");
    std::optional<std::string> query = get_part(u.get(), CURLUPART_QUERY);
    std::string tail = query ? path + "?" + *query : path;
    if (!url || !url->ends_with(tail)) throw_bad_url(absolute_url, CURLUE_MALFORMED_INPUT);
    // The path is rewritten in the URL text (setting CURLUPART_PATH would lower-case the
    // escapes); parsing again removes the dot segments decoding may make ("%2e%2e" → "..").
    std::string rewritten = url->substr(0, url->size() - tail.size()) + normalize_escapes(path) +
                            (query ? "?" + *query : std::string());
    url_handle again = parse_absolute(rewritten);
    std::optional<std::string> out = get_part(again.get(), CURLUPART_URL, CURLU_NO_DEFAULT_PORT);
    if (!out) throw_bad_url(absolute_url, CURLUE_MALFORMED_INPUT);
    return *out;
}

std::string url_host(std::string_view absolute_url) {
    url_handle u = new_url();
    if (curl_url_set(u.get(), CURLUPART_URL, std::string(absolute_url).c_str(), CURLU_NON_SUPPORT_SCHEME) !=
        CURLUE_OK)
        return {};
    return lowered(get_part(u.get(), CURLUPART_HOST).value_or(""));
}

url_split split_origin(std::string_view absolute_url) {
    url_handle u = new_url();
    if (curl_url_set(u.get(), CURLUPART_URL, std::string(absolute_url).c_str(), 0) != CURLUE_OK) return {};
    url_split out;
    out.origin = get_part(u.get(), CURLUPART_SCHEME).value_or("") + "://" +
                 lowered(get_part(u.get(), CURLUPART_HOST).value_or("")) + ":" +
                 get_part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT).value_or("");
    out.path_and_query = get_part(u.get(), CURLUPART_PATH).value_or("/");
    if (auto query = get_part(u.get(), CURLUPART_QUERY); query && !query->empty()) out.path_and_query += "?" + *query;
    return out;
}

namespace {

// curl's URL globbing, parsed into a sequence of alternatives (a literal is one alternative).
class glob_parser {
public:
    glob_parser(std::string_view pattern, std::size_t max_urls) : p_(pattern), max_(max_urls) {}

    std::vector<std::string> expand() {
        parse();
        std::vector<std::string> out;
        out.reserve(total_);
        std::vector<std::size_t> index(parts_.size(), 0);
        for (std::size_t n = 0; n < total_; ++n) {
            std::string url;
            for (std::size_t i = 0; i < parts_.size(); ++i) url += parts_[i][index[i]];
            out.push_back(std::move(url));
            // Odometer: the rightmost glob varies fastest.
            for (std::size_t i = parts_.size(); i-- > 0;) {
                if (++index[i] < parts_[i].size()) break;
                index[i] = 0;
            }
        }
        return out;
    }

private:
    [[noreturn]] void fail(const std::string& what, std::size_t at) const {
        throw std::invalid_argument("bad URL glob '" + std::string(p_) + "': " + what + " at column " +
                                    std::to_string(at + 1));
    }

    void flush_literal() {
        if (!literal_.empty()) parts_.push_back({std::move(literal_)});
        literal_.clear();
    }

    // Accounts for a glob of `count` alternatives starting at `at`, before building it.
    void account(std::uint64_t count, std::size_t at) {
        if (count > max_ || total_ > max_ / count) fail("more than " + std::to_string(max_) + " URLs", at);
        total_ *= static_cast<std::size_t>(count);
    }

    void parse() {
        for (std::size_t i = 0; i < p_.size();) {
            char c = p_[i];
            if (c == '\\' && i + 1 < p_.size() && std::string_view("[]{}").find(p_[i + 1]) != std::string_view::npos) {
                literal_ += p_[i + 1];
                i += 2;
            } else if (c == '{') {
                flush_literal();
                i = parse_set(i);
            } else if (c == '[') {
                if (std::size_t end = ipv6_end(i)) {
                    literal_ += p_.substr(i, end - i);
                    i = end;
                } else {
                    flush_literal();
                    i = parse_range(i);
                }
            } else if (c == ']' || c == '}') {
                fail(std::string("unmatched '") + c + "'", i);
            } else {
                literal_ += c;
                ++i;
            }
        }
        flush_literal();
        if (total_ > max_) fail("more than " + std::to_string(max_) + " URLs", 0);
    }

    // If a bracketed IPv6 address starts at `open`, the index just past its ']'; else 0.
    std::size_t ipv6_end(std::size_t open) const {
        std::size_t close = p_.find(']', open);
        if (close == std::string_view::npos) return 0;
        std::string_view inside = p_.substr(open + 1, close - open - 1);
        if (std::count(inside.begin(), inside.end(), ':') < 2) return 0;
        for (char c : inside)
            if (!is_hex(c) && c != ':' && c != '.') return 0;
        return close + 1;
    }

    std::size_t parse_set(std::size_t open) {
        std::vector<std::string> items;
        std::string item;
        for (std::size_t i = open + 1; i < p_.size(); ++i) {
            char c = p_[i];
            if (c == '}') {
                items.push_back(std::move(item));
                if (items.size() == 1 && items.front().empty()) fail("empty set '{}'", open);
                account(items.size(), open);
                parts_.push_back(std::move(items));
                return i + 1;
            }
            if (c == ',') {
                items.push_back(std::move(item));
                item.clear();
            } else if (c == '{' || c == '[') {
                fail(std::string("nested '") + c + "' inside a set", i);
            } else if (c == ']') {
                fail("unmatched ']' inside a set", i);
            } else if (c == '\\' && i + 1 < p_.size()) {
                item += p_[++i];
            } else {
                item += c;
            }
        }
        fail("unmatched '{'", open);
    }

    // Reads digits at `i` as an unsigned number; advances `i`.
    std::uint64_t read_number(std::string_view s, std::size_t& i, std::size_t at) const {
        std::uint64_t n = 0;
        for (; i < s.size() && is_digit(s[i]); ++i) {
            auto digit = static_cast<std::uint64_t>(s[i] - '0');
            if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) fail("number too large", at);
            n = n * 10 + digit;
        }
        return n;
    }

    std::size_t parse_range(std::size_t open) {
        std::size_t close = p_.find(']', open);
        if (close == std::string_view::npos) fail("unmatched '['", open);
        std::string_view spec = p_.substr(open + 1, close - open - 1);
        std::size_t dash = spec.find('-');
        if (dash == std::string_view::npos || dash == 0 || dash + 1 >= spec.size())
            fail("bad range '[" + std::string(spec) + "]' (expected [first-last] or [first-last:step])", open);
        std::size_t colon = spec.find(':', dash);
        std::string_view first = spec.substr(0, dash);
        std::string_view last = spec.substr(dash + 1, colon == std::string_view::npos ? std::string_view::npos
                                                                                          : colon - dash - 1);
        std::uint64_t step = 1;
        if (colon != std::string_view::npos) {
            std::string_view step_text = spec.substr(colon + 1);
            std::size_t i = 0;
            step = read_number(step_text, i, open);
            if (step_text.empty() || i != step_text.size()) fail("bad step in '[" + std::string(spec) + "]'", open);
            if (step == 0) fail("step 0 in '[" + std::string(spec) + "]'", open);
        }
        auto all_digits = [](std::string_view s) {
            return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c); });
        };
        auto one_letter = [](std::string_view s) { return s.size() == 1 && is_alpha(s[0]); };

        std::vector<std::string> values;
        if (one_letter(first) && one_letter(last)) {
            char a = first[0], b = last[0];
            bool lower_case = (a >= 'a') == (b >= 'a');
            if (!lower_case) fail("range mixes upper- and lower-case letters in '[" + std::string(spec) + "]'", open);
            if (a > b) fail("reversed range '[" + std::string(spec) + "]'", open);
            std::uint64_t count = static_cast<std::uint64_t>(b - a) / step + 1;
            account(count, open);
            for (std::uint64_t k = 0; k < count; ++k) values.emplace_back(1, static_cast<char>(a + k * step));
        } else if (all_digits(first) && all_digits(last)) {
            std::size_t i = 0, j = 0;
            std::uint64_t a = read_number(first, i, open), b = read_number(last, j, open);
            if (a > b) fail("reversed range '[" + std::string(spec) + "]'", open);
            std::size_t width = (first.size() > 1 && first[0] == '0') ? first.size() : 0;
            std::uint64_t steps = (b - a) / step;  // count - 1, which cannot overflow
            if (steps >= max_) fail("more than " + std::to_string(max_) + " URLs", open);
            std::uint64_t count = steps + 1;
            account(count, open);
            for (std::uint64_t k = 0; k < count; ++k) {
                std::string digits = std::to_string(a + k * step);
                if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
                values.push_back(std::move(digits));
            }
        } else if ((all_digits(first) && one_letter(last)) || (one_letter(first) && all_digits(last))) {
            fail("range mixes letters and numbers in '[" + std::string(spec) + "]'", open);
        } else {
            fail("bad range '[" + std::string(spec) + "]' (expected [first-last] or [first-last:step])", open);
        }
        parts_.push_back(std::move(values));
        return close + 1;
    }

    std::string_view p_;
    std::size_t max_;
    std::vector<std::vector<std::string>> parts_;
    std::string literal_;
    std::size_t total_ = 1;
};

}  // namespace

std::vector<std::string> expand_url_glob(std::string_view pattern, std::size_t max_urls) {
    return glob_parser(pattern, max_urls).expand();
}

}  // namespace weft::crawl
