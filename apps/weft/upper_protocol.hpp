#pragma once
// The tutorial's uppercase protocol, shared by `weft serve upper`, `weft load upper` and
// `weft client upper`: each chunk a client sends comes back with ASCII letters upper-cased
// and every other byte unchanged (so UTF-8 split across reads is never corrupted); a chunk
// "quit" (optionally followed by \r?\n) or end of stream ends the connection.

#include <cstddef>
#include <string_view>

namespace weft::cli::upper {

/// The largest chunk the server reads (and so answers) at once.
inline constexpr std::size_t chunk_size = 1024;

/// Upper-cases ASCII letters in place; other bytes (UTF-8 included) stay as they are.
inline void to_upper_ascii(char* data, std::size_t size) noexcept {
    for (std::size_t i = 0; i < size; ++i) {
        char c = data[i];
        if (c >= 'a' && c <= 'z') data[i] = static_cast<char>(c - 'a' + 'A');
    }
}

/// True for "quit", "quit\n" and "quit\r\n".
inline bool is_quit(std::string_view chunk) noexcept {
    return chunk == "quit" || chunk == "quit\n" || chunk == "quit\r\n";
}

}  // namespace weft::cli::upper
