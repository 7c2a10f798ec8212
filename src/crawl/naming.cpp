// weft::crawl file naming: URL → sanitized relative path, numbering, confinement check.
#include <weft/crawl/naming.hpp>

#include "common/percent_decode.hpp"

#include <curl/curl.h>

#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace weft::crawl {

namespace {

constexpr std::size_t max_name_bytes = 200;
constexpr std::size_t max_extension_bytes = 16;

struct url_deleter {
    void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};

std::string get_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
    char* out = nullptr;
    CURLUcode rc = curl_url_get(u, part, &out, flags);
    if (rc == CURLUE_OUT_OF_MEMORY) throw std::bad_alloc();
    if (rc != CURLUE_OK || out == nullptr) return {};
    std::string value(out);
    curl_free(out);
    return value;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char b = at(i);
    if (b < 0x80) return 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0) lo = 0xA0;   // no overlongs
        if (b == 0xED) hi = 0x9F;   // no surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0) lo = 0x90;   // no overlongs
        if (b == 0xF4) hi = 0x8F;   // nothing above U+10FFFF
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    if (at(i + 1) < lo || at(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
    return n;
}

// Cuts `name` to max_name_bytes at a UTF-8 boundary, keeping a short extension.
std::string shorten(std::string name) {
    if (name.size() <= max_name_bytes) return name;
    std::string extension;
    std::size_t dot = name.rfind('.');
    if (dot != std::string::npos && dot > 0 && name.size() - dot - 1 <= max_extension_bytes) {
        extension = name.substr(dot);
        name.resize(dot);
    }
    std::size_t keep = max_name_bytes - extension.size();
    // Back off continuation bytes so that no character is split (the name is valid UTF-8).
    while (keep > 0 && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80) --keep;
    name.resize(keep);
    return name + extension;
}

// One decoded, sanitized path component (never "", "." or "..").
std::string sanitize_segment(std::string_view raw) {
    std::string decoded = weft::detail::percent_decode(raw);
    std::string out;
    out.reserve(decoded.size());
    for (std::size_t i = 0; i < decoded.size();) {
        std::size_t n = utf8_sequence(decoded, i);
        if (n == 0) {
            out += '_';
            ++i;
            continue;
        }
        if (n == 1) {
            auto c = static_cast<unsigned char>(decoded[i]);
            out += (c < 0x20 || c == 0x7F || c == '/' || c == '\\') ? '_' : decoded[i];
        } else {
            out.append(decoded, i, n);
        }
        i += n;
    }
    if (out.empty() || out == "." || out == "..") return "_";
    return shorten(std::move(out));
}

std::string lowered(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

}  // namespace

std::filesystem::path local_name(std::string_view absolute_url, layout how) {
    std::unique_ptr<CURLU, url_deleter> u(curl_url());
    if (!u) throw std::bad_alloc();
    CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, std::string(absolute_url).c_str(), CURLU_NON_SUPPORT_SCHEME);
    if (rc == CURLUE_OUT_OF_MEMORY) throw std::bad_alloc();
    if (rc != CURLUE_OK)
        throw std::invalid_argument("bad URL '" + std::string(absolute_url) + "': " + curl_url_strerror(rc));

    std::string path = get_part(u.get(), CURLUPART_PATH);
    std::string_view rest(path);
    if (rest.starts_with('/')) rest.remove_prefix(1);

    std::filesystem::path out;
    if (how == layout::host_path) {
        std::string host = lowered(get_part(u.get(), CURLUPART_HOST));
        std::string port = get_part(u.get(), CURLUPART_PORT, CURLU_NO_DEFAULT_PORT);
        out = sanitize_segment(port.empty() ? host : host + "_" + port);
        for (std::size_t slash; (slash = rest.find('/')) != std::string_view::npos; rest.remove_prefix(slash + 1))
            out /= sanitize_segment(rest.substr(0, slash));
    } else if (std::size_t slash = rest.rfind('/'); slash != std::string_view::npos) {
        rest.remove_prefix(slash + 1);
    }
    out /= rest.empty() ? std::string("index") : sanitize_segment(rest);
    return out;
}

std::filesystem::path numbered_name(const std::filesystem::path& relative, int k) {
    if (k < 0) throw std::invalid_argument("numbered_name: k must be 0 or more, got " + std::to_string(k));
    if (k == 0) return relative;
    return relative.parent_path() /
           (relative.stem().native() + "-" + std::to_string(k) + relative.extension().native());
}

bool is_confined(const std::filesystem::path& relative) noexcept {
    if (relative.empty() || relative.has_root_path()) return false;
    for (const auto& part : relative)
        if (part.native() == "..") return false;
    return true;
}

}  // namespace weft::crawl
