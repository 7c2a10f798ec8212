#pragma once
/// \file
/// `weft::http::response` (what a `client_session` request yields) and the charset helpers
/// behind `response::text()`.
///
/// Example:
/// \code
///   auto r = co_await session.get("http://127.0.0.1:8000/4kmeinv/index_2.html");
///   r.raise_for_status();
///   std::string html = r.text();      // GBK page, decoded to UTF-8
/// \endcode

#include <weft/errors.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::http {

/// Response headers in arrival order (names as sent; look-ups ignore case).
///
/// Example: `auto type = r.headers().get("content-type").value_or("");`
class header_list {
public:
    /// Adds a header (duplicates are kept, as Set-Cookie needs).
    void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
    /// The first value of `name` (case-insensitive), or nullopt.
    std::optional<std::string> get(std::string_view name) const;
    /// Every value of `name` (case-insensitive), in order.
    std::vector<std::string> get_all(std::string_view name) const;
    bool contains(std::string_view name) const { return get(name).has_value(); }
    std::size_t size() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }
    void clear() noexcept { items_.clear(); }
    auto begin() const noexcept { return items_.begin(); }
    auto end() const noexcept { return items_.end(); }

private:
    std::vector<std::pair<std::string, std::string>> items_;
};

/// A finished HTTP exchange: status, headers of the final response, final URL (after
/// redirects) and the body. A plain value (copyable, movable).
///
/// *Thread-safety:* a plain value.
/// Example: `if (r.status() == 200) save(r.body());`
class response {
public:
    response() = default;
    response(long status, header_list headers, std::string url, std::string body)
        : status_(status), headers_(std::move(headers)), url_(std::move(url)), body_(std::move(body)) {}

    /// The HTTP status code of the final response (200, 404, ...).
    long status() const noexcept { return status_; }
    /// True for 2xx statuses.
    bool ok() const noexcept { return status_ >= 200 && status_ < 300; }
    /// The final response's headers.
    const header_list& headers() const noexcept { return headers_; }
    /// The URL after redirects.
    const std::string& url() const noexcept { return url_; }
    /// The raw body bytes (empty for HEAD).
    const std::string& body() const noexcept { return body_; }
    /// Moves the body out (for large bodies).
    std::string take_body() noexcept { return std::move(body_); }

    /// The body decoded to UTF-8 using, in order: the Content-Type charset, a byte-order mark,
    /// a `<meta charset>` / `<meta http-equiv>` declaration, then UTF-8. Labels map per the
    /// WHATWG Encoding standard (gb2312 → GBK, latin1 → windows-1252, ...); undecodable bytes
    /// become U+FFFD. *Throws:* `http::error` naming the charset when iconv does not know it.
    /// Example: `std::string html = r.text();`
    std::string text() const;
    /// The charset `text()` would use (WHATWG canonical name, e.g. "GBK", "UTF-8").
    std::string charset() const;

    /// Throws `http::error` (reason `status`) when the status is 400 or above.
    /// Example: `r.raise_for_status();`
    void raise_for_status() const;

private:
    long status_ = 0;
    header_list headers_;
    std::string url_;
    std::string body_;
};

/// The encoding of an HTML/text document: the `charset=` of `content_type`, else a BOM, else
/// a `<meta>` declaration in the first 4 KiB, else "UTF-8"; WHATWG canonical name.
/// Example: `weft::http::detect_charset(bytes, "text/html; charset=gb2312") == "GBK"`
std::string detect_charset(std::string_view body, std::string_view content_type);

/// Maps an encoding label to its WHATWG canonical name ("gb2312" → "GBK", "latin1" →
/// "windows-1252", "utf8" → "UTF-8"); unknown labels are returned upper-cased.
/// Example: `weft::http::canonical_charset(" GB2312 ") == "GBK"`
std::string canonical_charset(std::string_view label);

/// Converts `bytes` in `charset` to UTF-8 (iconv); bad sequences become U+FFFD, a leading BOM
/// is dropped. *Throws:* `http::error` (reason `other`) for a charset iconv does not know.
/// Example: `auto utf8 = weft::http::decode_to_utf8(gbk_bytes, "GBK");`
std::string decode_to_utf8(std::string_view bytes, std::string_view charset);

}  // namespace weft::http
