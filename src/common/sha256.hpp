// SHA-256 (OpenSSL's EVP), for the demo site's manifest, downloads and the crawler's
// content dedup. Internal to the weft library.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace weft::detail {

// An incremental SHA-256: update() with the bytes in order, then hex().
// Example: `sha256 h; h.update("abc"); h.hex() == "ba7816bf..."`
class sha256 {
public:
    sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
            throw std::runtime_error("SHA-256 unavailable");
    }
    void update(std::string_view bytes) {
        if (EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) != 1) throw std::runtime_error("SHA-256 failed");
    }
    // The digest in lower-case hex; ends the computation.
    std::string hex() {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) throw std::runtime_error("SHA-256 failed");
        static constexpr char digits[] = "0123456789abcdef";
        std::string out;
        out.reserve(2 * len);
        for (unsigned i = 0; i < len; ++i) {
            out += digits[md[i] >> 4];
            out += digits[md[i] & 15];
        }
        return out;
    }

private:
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

// Example: `sha256_hex("abc") == "ba7816bf..."`
inline std::string sha256_hex(std::string_view bytes) {
    sha256 h;
    h.update(bytes);
    return h.hex();
}

}  // namespace weft::detail
