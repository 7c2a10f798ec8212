#pragma once
/// \file
/// URL building blocks of the crawler: resolving references found in pages, the dedup key,
/// the host, and curl's URL globbing. Parsing and resolution are libcurl's (`curl_url`).
///
/// Example:
/// \code
///   auto img = weft::crawl::resolve_url("http://h/gallery/index.html", "../img/a b.jpg");
///   // *img == "http://h/img/a%20b.jpg"
///   for (auto& page : weft::crawl::expand_url_glob("http://h/index_[2-5].html")) crawl(page);
/// \endcode

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::crawl {

/// Resolves a reference as found in a page (`src`, `href`, a regex capture) against the
/// absolute URL `base`, the way a browser does for http(s) pages: leading and trailing
/// whitespace and control characters are trimmed and tabs and newlines inside removed;
/// relative (`a.jpg`, `../x.jpg`), root-relative (`/x.jpg`), protocol-relative
/// (`//host/x.jpg`) and absolute references are accepted; backslashes before the query are
/// read as slashes; spaces, control characters, `"`, `<`, `>` and non-ASCII (UTF-8) bytes
/// are percent-encoded (existing `%XX` escapes are kept as they are, a lone `%` becomes
/// `%25`; `&` and `=` in the query are kept). The fragment is dropped.
///
/// Returns nullopt for an empty or fragment-only reference, for a result that is not http
/// or https (`javascript:`, `data:`, `mailto:`, `ftp:`), and for anything libcurl rejects
/// (including a base that is not an absolute URL).
///
/// *Throws:* only `std::bad_alloc`.
/// *Thread-safety:* safe to call from any thread.
/// Example:
/// \code
///   resolve_url("http://h/a/page.html", "//cdn.h/x.jpg#top")  // "http://cdn.h/x.jpg"
///   resolve_url("http://h/a/page.html", "javascript:void(0)")  // nullopt
/// \endcode
std::optional<std::string> resolve_url(std::string_view base, std::string_view ref);

/// The dedup key of an absolute URL: scheme and host lower-cased, a default port dropped,
/// the fragment dropped, an empty path made "/", percent-escapes of unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) decoded and the hex digits of the other escapes upper-cased,
/// dot segments removed. The query is kept verbatim (its order matters).
///
/// *Throws:* `std::invalid_argument` naming the URL when libcurl cannot parse it (a relative
/// reference included).
/// *Thread-safety:* safe to call from any thread.
/// Example:
/// \code
///   normalize_url("HTTP://Example.COM:80/a/./%7euser/%2fx?b=1&a=2#top")
///   // "http://example.com/a/~user/%2Fx?b=1&a=2"
/// \endcode
std::string normalize_url(std::string_view absolute_url);

/// The lower-cased host of an absolute URL; "" when it has none or cannot be parsed.
/// An IPv6 host keeps its brackets ("[::1]").
///
/// *Throws:* only `std::bad_alloc`.
/// *Thread-safety:* safe to call from any thread.
/// Example: `url_host("https://CDN.Example.org:8443/x.jpg") == "cdn.example.org"`
std::string url_host(std::string_view absolute_url);

/// An absolute URL cut where robots.txt and politeness need it: the origin
/// ("scheme://host:port", port always written) and the path with its query.
///
/// Example: `split_origin("http://a.org/x/y.jpg?s=1")` gives `{"http://a.org:80", "/x/y.jpg?s=1"}`
struct url_split {
    std::string origin{};
    std::string path_and_query{};
};

/// Splits an absolute http(s) URL (see `url_split`); both parts empty when it cannot be parsed.
/// *Throws:* only `std::bad_alloc`. *Thread-safety:* safe to call from any thread.
/// Example: `auto [origin, path] = weft::crawl::split_origin(url);`
url_split split_origin(std::string_view absolute_url);

/// Expands curl's URL globbing (curl(1), "URL globbing"): numeric ranges `[1-10]`,
/// zero-padded ranges `[001-100]` (padded to the width of the first number when it starts
/// with 0), letter ranges `[a-z]` / `[A-Z]`, a step `[1-100:10]` / `[a-z:2]`, sets
/// `{one,two,three}` (`\,` `\}` escape inside a set; empty elements are allowed, `{}` is
/// not). Several globs give every combination in curl's order: the leftmost glob varies
/// slowest. `\[`, `\]`, `\{`, `\}` stand for the literal character, and a bracketed IPv6
/// address (`http://[::1]:8080/`) is left as it is. A pattern without globs gives itself.
/// A step larger than the range gives the first value alone.
///
/// *Throws:* `std::invalid_argument` naming the pattern and the 1-based column for an
/// unclosed `[` or `{`, an unmatched `]` or `}`, a nested glob, a reversed range, an empty
/// set, a range mixing letters and numbers (or cases), a step of 0, a number too large, any
/// other malformed range, and more than `max_urls` results (checked before any is built).
/// *Thread-safety:* safe to call from any thread.
/// Example:
/// \code
///   expand_url_glob("http://h/{a,b}/img[01-03].jpg")
///   // http://h/a/img01.jpg http://h/a/img02.jpg http://h/a/img03.jpg http://h/b/img01.jpg ...
/// \endcode
std::vector<std::string> expand_url_glob(std::string_view pattern, std::size_t max_urls = 100000);

}  // namespace weft::crawl
