// weft::http::response and charset detection / decoding (iconv from glibc).
#include <weft/http/response.hpp>

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <string>

namespace weft::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    const char* ws = " \t\r\n\f\"'";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

// The value of `charset=` in a Content-Type-like string ("" if none).
std::string_view charset_param(std::string_view value) {
    std::string low = lower(value);
    auto at = low.find("charset");
    if (at == std::string::npos) return {};
    auto eq = value.find_first_not_of(" \t", at + 7);
    if (eq == std::string_view::npos || value[eq] != '=') return {};
    std::string_view rest = value.substr(eq + 1);
    rest = rest.substr(0, rest.find_first_of(";,>/ \t\r\n", rest.find_first_not_of(" \t\"'")));
    return trim(rest);
}

// WHATWG prescan, simplified: the first <meta charset=...> or <meta ... content="...charset=...">.
std::string_view meta_charset(std::string_view body) {
    std::string head = lower(body.substr(0, 4096));
    for (std::size_t at = head.find("<meta"); at != std::string::npos; at = head.find("<meta", at + 5)) {
        auto end = head.find('>', at);
        if (end == std::string::npos) return {};
        std::string_view tag = std::string_view(body).substr(at, end - at);
        std::string_view found = charset_param(tag);
        if (!found.empty()) return found;
    }
    return {};
}

}  // namespace

std::optional<std::string> header_list::get(std::string_view name) const {
    for (auto& [n, v] : items_)
        if (iequals(n, name)) return v;
    return std::nullopt;
}

std::vector<std::string> header_list::get_all(std::string_view name) const {
    std::vector<std::string> out;
    for (auto& [n, v] : items_)
        if (iequals(n, name)) out.push_back(v);
    return out;
}

std::string canonical_charset(std::string_view label) {
    std::string l = lower(trim(label));
    static constexpr std::string_view gbk[] = {"chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312",
                                               "gb_2312-80", "gbk", "iso-ir-58", "x-gbk"};
    static constexpr std::string_view latin1[] = {"ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1",
                                                  "ibm819", "iso-8859-1", "iso-ir-100", "iso8859-1", "iso88591",
                                                  "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii",
                                                  "windows-1252", "x-cp1252"};
    static constexpr std::string_view utf8[] = {"unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8",
                                                "utf8", "x-unicode20utf8"};
    auto in = [&](const auto& list) { return std::find(std::begin(list), std::end(list), l) != std::end(list); };
    if (in(gbk)) return "GBK";
    if (in(latin1)) return "windows-1252";
    if (in(utf8)) return "UTF-8";
    if (l == "gb18030") return "GB18030";
    if (l == "big5" || l == "big5-hkscs" || l == "cn-big5" || l == "csbig5" || l == "x-x-big5") return "Big5";
    if (l == "shift_jis" || l == "sjis" || l == "ms_kanji" || l == "windows-31j" || l == "x-sjis") return "Shift_JIS";
    if (l == "euc-jp" || l == "x-euc-jp") return "EUC-JP";
    if (l == "euc-kr" || l == "ks_c_5601-1987" || l == "windows-949") return "EUC-KR";
    if (l == "utf-16le" || l == "utf-16") return "UTF-16LE";
    if (l == "utf-16be") return "UTF-16BE";
    std::string upper = l;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return upper;
}

std::string detect_charset(std::string_view body, std::string_view content_type) {
    if (auto p = charset_param(content_type); !p.empty()) return canonical_charset(p);
    if (body.starts_with("\xEF\xBB\xBF")) return "UTF-8";
    if (body.starts_with("\xFF\xFE")) return "UTF-16LE";
    if (body.starts_with("\xFE\xFF")) return "UTF-16BE";
    if (auto m = meta_charset(body); !m.empty()) return canonical_charset(m);
    return "UTF-8";
}

std::string decode_to_utf8(std::string_view bytes, std::string_view charset) {
    std::string cs = canonical_charset(charset);
    if (cs == "UTF-8" && bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
    else if (cs == "UTF-16LE" && bytes.starts_with("\xFF\xFE")) bytes.remove_prefix(2);
    else if (cs == "UTF-16BE" && bytes.starts_with("\xFE\xFF")) bytes.remove_prefix(2);
    // glibc names windows-1252 "CP1252".
    std::string from = cs == "windows-1252" ? "CP1252" : cs;
    iconv_t cd = ::iconv_open("UTF-8", from.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1))
        throw error(error::reason::other, "", "unknown charset '" + std::string(charset) + "'");
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 2);
    char* in = const_cast<char*>(bytes.data());
    std::size_t in_left = bytes.size();
    char buffer[8192];
    while (in_left > 0) {
        char* o = buffer;
        std::size_t o_left = sizeof buffer;
        std::size_t rc = ::iconv(cd, &in, &in_left, &o, &o_left);
        out.append(buffer, static_cast<std::size_t>(o - buffer));
        if (rc != static_cast<std::size_t>(-1)) continue;
        if (errno == E2BIG) continue;
        // EILSEQ or EINVAL (truncated at the end): one replacement character, skip a byte.
        out += "\xEF\xBF\xBD";
        ++in;
        --in_left;
        ::iconv(cd, nullptr, nullptr, nullptr, nullptr);
    }
    char* o = buffer;
    std::size_t o_left = sizeof buffer;
    ::iconv(cd, nullptr, nullptr, &o, &o_left);
    out.append(buffer, static_cast<std::size_t>(o - buffer));
    ::iconv_close(cd);
    return out;
}

std::string response::charset() const { return detect_charset(body_, headers_.get("content-type").value_or("")); }

std::string response::text() const {
    try {
        return decode_to_utf8(body_, charset());
    } catch (const error&) {
        throw error(error::reason::other, url_, "unknown charset '" + charset() + "'");
    }
}

void response::raise_for_status() const {
    if (status_ >= 400) throw error(error::reason::status, url_, "HTTP status " + std::to_string(status_), 0, status_);
}

}  // namespace weft::http
