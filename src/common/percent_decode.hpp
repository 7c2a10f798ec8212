// %XX escapes → bytes, by libcurl's decoder (an invalid escape stays as it is). Internal to the
// weft library: the HTTP server's request paths, the demo site's request keys and the
// crawler's file names.
#pragma once

#include <curl/curl.h>

#include <climits>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

namespace weft::detail {

// Example: `percent_decode("a%20b") == "a b"`
inline std::string percent_decode(std::string_view s) {
    if (s.empty()) return {};  // curl_easy_unescape reads a length of 0 as "up to the NUL"
    if (s.size() > static_cast<std::size_t>(INT_MAX)) throw std::length_error("percent_decode: text too long");
    int length = 0;
    char* out = curl_easy_unescape(nullptr, s.data(), static_cast<int>(s.size()), &length);
    if (out == nullptr) throw std::bad_alloc();
    std::string decoded(out, static_cast<std::size_t>(length));
    curl_free(out);
    return decoded;
}

}  // namespace weft::detail
