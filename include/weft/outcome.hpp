#pragma once
/// \file
/// `weft::outcome<T>`: a value or the exception that took its place — what
/// `gather(weft::return_exceptions, ...)` yields for each awaitable.
///
/// Example:
/// \code
///   auto [a, b] = co_await weft::gather(weft::return_exceptions, ok(), fails());
///   if (!b) spdlog::warn("b failed: {}", weft::describe(b.error()));
///   int x = a.value();   // rethrows if `a` holds an exception
/// \endcode

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace weft {

/// Result or exception of one awaited computation. `outcome<void>` holds `std::monostate`.
template <class T>
class outcome {
public:
    using value_type = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

    outcome(value_type value) : state_(std::in_place_index<0>, std::move(value)) {}
    outcome(std::exception_ptr error) : state_(std::in_place_index<1>, std::move(error)) {}

    /// True if it holds a value.
    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    /// The value; rethrows the exception if there is one.
    value_type& value() & {
        if (!has_value()) std::rethrow_exception(std::get<1>(state_));
        return std::get<0>(state_);
    }
    value_type&& value() && { return std::move(value()); }
    /// The exception, or nullptr if it holds a value.
    std::exception_ptr error() const noexcept { return has_value() ? nullptr : std::get<1>(state_); }

private:
    std::variant<value_type, std::exception_ptr> state_;
};

}  // namespace weft
