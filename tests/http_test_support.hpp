#pragma once
// Helpers shared by the HTTP and crawler tests.
#include <weft/errors.hpp>
#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

namespace weft_test {

// Expects `t` to throw http::error with `why`; returns the error's message.
template <class T>
weft::task<std::string> expect_error(weft::task<T> t, weft::http::error::reason why) {
    try {
        co_await std::move(t);
    } catch (const weft::http::error& e) {
        EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(why)) << e.what();
        co_return std::string(e.what());
    }
    ADD_FAILURE() << "no http::error thrown";
    co_return std::string();
}

// Cancels `h` and awaits it; true if it ended with weft::cancelled_error.
template <class T>
weft::task<bool> cancel_and_await(weft::task_handle<T>& h) {
    h.cancel();
    try {
        co_await h;
    } catch (const weft::cancelled_error&) {
        co_return true;
    }
    co_return false;
}

// The SHA-256 of `data` in lower-case hex (as the demo site's manifest writes it).
inline std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += digits[md[i] >> 4];
        out += digits[md[i] & 15];
    }
    return out;
}

}  // namespace weft_test
