#pragma once
/// \file
/// Pulling URLs out of pages: HTML parsed by libxml2 (what lxml and Scrapy stand on) and
/// queried with XPath, or — the tutorial's way — a regular expression over the raw text.
///
/// Example:
/// \code
///   weft::crawl::xpath images("//img/@src");                  // compile once, reuse
///   weft::crawl::html_document page(response.text(), response.url());
///   for (const std::string& url : page.links(images)) frontier.push(url);
/// \endcode

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace weft::crawl {

/// A compiled XPath 1.0 expression (libxml2). Move-only; owns the compiled form.
///
/// *Throws:* the constructor throws `std::invalid_argument("bad XPath '<expr>': <reason>")`
/// when the expression does not compile; libxml2 prints nothing.
/// *Thread-safety:* one object must not be used by two threads at once (libxml2 caches
/// function look-ups inside a compiled expression while evaluating it); compile one per
/// thread, e.g. `xpath copy(shared.text());`.
/// Example:
/// \code
///   weft::crawl::xpath src("//img/@src | //img/@data-src");
///   auto urls = page.links(src);
/// \endcode
class xpath {
public:
    /// Compiles `expression`.
    /// Example: `weft::crawl::xpath next("//a[@rel='next']/@href");`
    explicit xpath(std::string expression);
    ~xpath();
    xpath(xpath&& other) noexcept;
    xpath& operator=(xpath&& other) noexcept;
    xpath(const xpath&) = delete;
    xpath& operator=(const xpath&) = delete;

    /// The expression as written.
    /// Example: `std::cout << x.text();`
    const std::string& text() const noexcept { return text_; }

private:
    friend class html_document;
    struct compiled;
    std::string text_;
    std::unique_ptr<compiled> compiled_;
};

/// An HTML page parsed by libxml2's HTML parser, tolerant of broken markup (unclosed tags,
/// stray end tags, unquoted or upper-case attributes: element and attribute names are
/// lower-cased, so `//img/@src` finds `<IMG SRC=x.jpg>`). The input must already be UTF-8
/// (see `weft::http::response::text()`); a `<meta charset>` inside it is ignored, never used
/// to decode again. Entities are decoded (`&amp;` → `&`). Nothing is fetched (no network).
/// Move-only.
///
/// *Throws:* the constructor throws `std::invalid_argument` for a page over 2 GiB and
/// `std::bad_alloc`; `select`/`links` throw `std::invalid_argument("bad XPath ...")` when
/// evaluating the expression fails (an unknown function, a type error).
/// *Thread-safety:* thread-compatible: distinct documents may be used on different threads
/// at once; one document must not be used by two threads at once.
/// Example:
/// \code
///   weft::crawl::html_document page("<base href='/g/'><img src='a.jpg'>", "http://h/x/p.html");
///   page.links(weft::crawl::xpath("//img/@src"));   // {"http://h/g/a.jpg"}
/// \endcode
class html_document {
public:
    /// Parses `utf8_html`, the page fetched from `url` (an absolute URL).
    /// Example: `weft::crawl::html_document page(r.text(), r.url());`
    html_document(std::string_view utf8_html, std::string url);
    ~html_document();
    html_document(html_document&& other) noexcept;
    html_document& operator=(html_document&& other) noexcept;
    html_document(const html_document&) = delete;
    html_document& operator=(const html_document&) = delete;

    /// The URL relative references resolve against: the first `<base href>` resolved against
    /// the page URL, else the page URL.
    /// Example: `auto next = weft::crawl::resolve_url(page.base_url(), "index_3.html");`
    const std::string& base_url() const noexcept { return base_url_; }

    /// The values `expression` selects, in document order: an attribute gives its value, a
    /// text node its text, an element its text content, a string, number or boolean result
    /// one value. Values are trimmed of ASCII whitespace and empty ones dropped. An
    /// attribute named `srcset` or ending in `-srcset` (`data-srcset`; any case) is split
    /// into its candidate URLs, descriptors (`2x`, `640w`) dropped, as the HTML standard
    /// parses it (a comma inside a URL is kept unless it ends the URL).
    /// Example: `page.select(xpath("//img/@srcset"))  // {"a.jpg", "a@2x.jpg"}`
    std::vector<std::string> select(const xpath& expression) const;

    /// `select`, each value resolved against `base_url()` (`resolve_url`; unusable ones such
    /// as `javascript:` or `data:` dropped), duplicates by `normalize_url` dropped keeping the
    /// first seen.
    /// Example: `for (auto& img : page.links(xpath("//img/@src"))) fetch(img);`
    std::vector<std::string> links(const xpath& expression) const;

private:
    struct parsed;
    std::unique_ptr<parsed> doc_;
    std::string url_;
    std::string base_url_;
};

/// Compiles `pattern` as an ECMAScript regular expression. With libstdc++ the regex uses its
/// breadth-first matcher, so a match over a very long line cannot exhaust the stack; a
/// pattern with back-references (`\1`) needs the default, recursive matcher and gets it.
///
/// *Throws:* `std::invalid_argument("bad regex '<pattern>': <what>")` when it is malformed.
/// *Thread-safety:* safe to call from any thread.
/// Example: `auto re = weft::crawl::compile_regex(R"re(<img src="(.*?)" alt)re");`
std::regex compile_regex(std::string_view pattern);

/// The tutorial's extraction (`re.findall(r'<img src="(.*?)" alt', html)`): for each match of
/// `pattern` in `text`, its capture group 1 (the whole match when the pattern has no group;
/// a match whose group 1 did not take part is skipped), used verbatim (no entity decoding),
/// resolved against `base` and de-duplicated as `html_document::links` does.
///
/// *Throws:* `std::regex_error` when the regex engine reports one (`error_complexity`).
/// *Thread-safety:* safe to call from any thread (a `std::regex` may be shared for matching).
/// Example:
/// \code
///   auto re = weft::crawl::compile_regex(R"re(<img src="(.*?)" alt)re");
///   auto urls = weft::crawl::regex_links(html, re, "http://h/4kmeinv/index_2.html");
/// \endcode
std::vector<std::string> regex_links(std::string_view text, const std::regex& pattern, std::string_view base);

}  // namespace weft::crawl
