#pragma once
/// \file
/// `weft::crawl::robots_rules`: what a site's robots.txt lets a crawler fetch (RFC 9309, plus
/// the common `Crawl-delay` extension).
///
/// Example:
/// \code
///   auto rules = weft::crawl::robots_rules::parse(body, "weft");     // 2xx robots.txt
///   // 4xx: robots_rules::allow_all(); 5xx or unreachable: robots_rules::disallow_all()
///   if (!rules.allowed("/gallery/a.jpg?size=big")) skip("robots");
///   auto delay = rules.crawl_delay().value_or(0ms);
/// \endcode
///
/// *Throws:* nothing but `std::bad_alloc`.
/// *Cancellation:* plain CPU work on a string; nothing suspends.
/// *Thread-safety:* a plain value: const members may be called from several threads at once.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::crawl {

/// The Allow/Disallow rules of one robots.txt for one crawler (see the file comment). A plain
/// value (copyable, movable); a default-constructed one allows everything.
///
/// Matching (RFC 9309 §2.2.2): a rule's pattern matches a path when it matches a prefix of it;
/// `*` matches any run of characters and a final `$` anchors the pattern at the path's end. Of
/// all matching rules the one with the longest pattern (in octets, after normalization) wins;
/// when an Allow and a Disallow pattern are equally long, Allow wins; no matching rule: allowed.
/// Percent-encoding: patterns and paths are both normalized before comparing — `%XX` of an
/// unreserved character (`A-Z a-z 0-9 - . _ ~`) is decoded, any other `%xx` has its hex digits
/// upper-cased, and octets outside ASCII are percent-encoded; so `/%7Ea` matches `/~a` and
/// `/ツ` matches `/%E3%83%84`, while `%2F` never matches `/`.
///
/// Example: `weft::crawl::robots_rules rules;  // allows everything, no crawl delay`
class robots_rules {
public:
    /// Allows everything (no rules), like `allow_all()`.
    ///
    /// Example: `std::map<std::string, weft::crawl::robots_rules> by_host;  // default: allowed`
    robots_rules() = default;

    /// Parses robots.txt `text` for the crawler whose product token is `user_agent` (e.g.
    /// "weft"; anything from the first character outside `A-Z a-z _ -` on is ignored, so
    /// "weft/0.1" works too). The rules are those of every group whose `User-agent` line names
    /// the token (compared case-insensitively, on the line's leading token; groups for the same
    /// agent merge); if there is none, those of every `User-agent: *` group; if there is none
    /// either, everything is allowed. An empty `Disallow:` (or `Allow:`) is no rule.
    /// `Crawl-delay` (seconds, may be fractional; the largest one of the chosen groups; capped at
    /// one day) is remembered. Tolerated: unknown lines (`Sitemap`, typos), rules before any
    /// `User-agent`, comments, a UTF-8 BOM, CR, LF or CRLF line ends, garbage. Only the first
    /// 500 KiB are read (RFC 9309 §2.5); a line cut there is dropped.
    ///
    /// Example: `auto rules = weft::crawl::robots_rules::parse("User-agent: *\nDisallow: /private/\n", "weft");`
    static robots_rules parse(std::string_view text, std::string_view user_agent);

    /// Allows everything: robots.txt answered 4xx or is missing (RFC 9309 §2.3.1.3).
    ///
    /// Example: `if (status >= 400 && status < 500) rules = weft::crawl::robots_rules::allow_all();`
    static robots_rules allow_all();

    /// Disallows everything but "/robots.txt": robots.txt answered 5xx or was unreachable
    /// (RFC 9309 §2.3.1.4).
    ///
    /// Example: `if (status >= 500) rules = weft::crawl::robots_rules::disallow_all();`
    static robots_rules disallow_all();

    /// Whether a URL may be fetched. `path` is the URL's path plus "?query" if it has one ("" is
    /// taken as "/"). "/robots.txt" is always allowed.
    ///
    /// Example: `bool ok = rules.allowed("/search?q=cats");`
    bool allowed(std::string_view path) const;

    /// The Crawl-delay of the chosen group(s), if one was given.
    ///
    /// Example: `if (auto d = rules.crawl_delay()) per_host_delay = std::max(per_host_delay, *d);`
    std::optional<std::chrono::milliseconds> crawl_delay() const;

private:
    struct rule {
        std::string pattern;  // normalized; a trailing '$' kept
        bool allow = false;
    };

    std::vector<rule> rules_;
    std::optional<std::chrono::milliseconds> crawl_delay_;
};

}  // namespace weft::crawl
