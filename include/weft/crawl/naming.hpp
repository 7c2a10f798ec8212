#pragma once
/// \file
/// Local file names for downloaded URLs: sanitized, confined to the output directory, made
/// unique by numbering.
///
/// Example:
/// \code
///   auto rel = weft::crawl::local_name("http://h/img/%E5%9B%BE.jpg?w=1", weft::crawl::layout::flat);
///   // rel == "图.jpg"; on a collision try numbered_name(rel, 1) == "图-1.jpg", ...
///   if (!weft::crawl::is_confined(rel)) throw std::logic_error("refusing to write outside DIR");
///   save(out_dir / rel);
/// \endcode

#include <filesystem>
#include <string_view>

namespace weft::crawl {

/// How `local_name` lays files out under the output directory.
///
/// Example: `local_name(url, layout::host_path)`
enum class layout {
    /// Only the URL's last path segment: `http://h/a/b.jpg` → `b.jpg`.
    flat,
    /// Host (with a non-default port), then every path segment: `http://h:8080/a/b.jpg` →
    /// `h_8080/a/b.jpg`.
    host_path,
};

/// A relative path for saving the content of `absolute_url`. Each segment is
/// percent-decoded (valid UTF-8 kept as is, each byte of invalid UTF-8 → `_`), then
/// sanitized: control characters (0x00–0x1F, 0x7F), `/` and `\` (also when they were
/// `%2F`/`%5C`, so `a%2F..%2Fb` is the one segment `a_.._b`) become `_`; a segment that is
/// empty, `.` or `..` becomes `_`; a segment longer than 200 bytes is cut to 200 bytes at a
/// UTF-8 boundary, keeping its extension (up to 16 bytes after the last dot). An empty last
/// segment (a URL ending in `/`) is named `index`. The query and fragment are not part of
/// the name (resolve collisions with `numbered_name`). The result is never empty, never
/// absolute and never has a `..` component.
///
/// *Throws:* `std::invalid_argument` naming the URL when libcurl cannot parse it.
/// *Thread-safety:* safe to call from any thread.
/// Example:
/// \code
///   local_name("http://h/a/%2Fetc%2Fpasswd", layout::flat)        // "_etc_passwd"
///   local_name("http://H:8080/a/b/", layout::host_path)            // "h_8080/a/b/index"
/// \endcode
std::filesystem::path local_name(std::string_view absolute_url, layout how);

/// The `k`-th alternative name for `relative`: `k == 0` gives it unchanged, `k >= 1` gives
/// "stem-k.ext" in the same directory.
///
/// *Throws:* `std::invalid_argument` when `k` is negative.
/// *Thread-safety:* safe to call from any thread.
/// Example: `numbered_name("a/b.jpg", 2) == "a/b-2.jpg"`, `numbered_name("noext", 1) == "noext-1"`
std::filesystem::path numbered_name(const std::filesystem::path& relative, int k);

/// True iff `relative` is non-empty, has no root (neither `/` nor a root name) and no `..`
/// component: the guard a writer checks before every write under its output directory.
///
/// *Throws:* nothing.
/// *Thread-safety:* safe to call from any thread.
/// Example: `is_confined("a/b.jpg") && !is_confined("../x") && !is_confined("/etc/passwd")`
bool is_confined(const std::filesystem::path& relative) noexcept;

}  // namespace weft::crawl
