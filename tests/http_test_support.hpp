#pragma once
// Helpers shared by the HTTP tests.
#include <weft/errors.hpp>
#include <weft/task.hpp>

#include <gtest/gtest.h>

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

}  // namespace weft_test
