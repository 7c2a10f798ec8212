#pragma once
// Internal: how functions and values cross a process boundary.
//
// Values go through cereal's binary archives. A function crosses as what it is in every
// process of the program's family (forked children and the forkserver's children run the
// same binary at the same addresses): a function pointer as its address, a captureless
// lambda or empty functor as nothing at all (it is default-constructed on the other side).

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/vector.hpp>

#include <weft/mp/detail/shared_memory.hpp>

#include <cstdint>
#include <cstring>
#include <functional>
#include <istream>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace weft::mp::detail {

/// A streambuf appending to a std::string (cheaper than std::ostringstream).
class string_sink final : public std::streambuf {
public:
    explicit string_sink(std::string& out) : out_(out) {}

protected:
    int_type overflow(int_type ch) override {
        if (ch != traits_type::eof()) out_.push_back(static_cast<char>(ch));
        return ch;
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        out_.append(s, static_cast<std::size_t>(n));
        return n;
    }

private:
    std::string& out_;
};

/// A streambuf reading a byte range in place.
class view_source final : public std::streambuf {
public:
    explicit view_source(std::string_view in) {
        char* p = const_cast<char*>(in.data());
        setg(p, p, p + in.size());
    }
};

/// Writes values with cereal into a string.
class writer {
public:
    explicit writer(std::string& out) : sink_(out), stream_(&sink_), archive_(stream_) {}
    template <class... T>
    void operator()(T&&... values) {
        archive_(std::forward<T>(values)...);
    }

private:
    string_sink sink_;
    std::ostream stream_;
    cereal::BinaryOutputArchive archive_;
};

/// Reads values with cereal from a byte range.
class reader {
public:
    explicit reader(std::string_view in) : source_(in), stream_(&source_), archive_(stream_) {}
    template <class... T>
    void operator()(T&... values) {
        archive_(values...);
    }
    template <class T>
    T read() {
        T value{};
        archive_(value);
        return value;
    }

private:
    view_source source_;
    std::istream stream_;
    cereal::BinaryInputArchive archive_;
};

template <class T>
inline constexpr bool serializable_v =
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value &&
    cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value;

template <class F>
inline constexpr bool is_function_pointer_v = std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>;

/// True if a callable of type F can be named in another process of the family.
template <class F>
inline constexpr bool transferable_function_v =
    is_function_pointer_v<F> || (std::is_empty_v<F> && std::is_default_constructible_v<F>);

/// Writes what identifies `f` in another process.
template <class F>
void write_function(writer& w, const F& f) {
    if constexpr (is_function_pointer_v<F>) w(reinterpret_cast<std::uint64_t>(f));
}

/// Rebuilds the callable written by write_function.
template <class F>
F read_function(reader& r) {
    if constexpr (is_function_pointer_v<F>) return reinterpret_cast<F>(r.read<std::uint64_t>());
    else return F{};
}

/// Serializes a tuple of arguments element by element.
template <class Tuple>
void write_arguments(writer& w, const Tuple& args) {
    if constexpr (std::tuple_size_v<Tuple> > 0) std::apply([&](const auto&... a) { w(a...); }, args);
}
/// A value to load into: `T{}`, or the empty handle of a weft::mp object.
template <class T>
T make_for_load() {
    if constexpr (std::is_constructible_v<T, unbound_t>) return T(unbound);
    else return T{};
}
template <class T>
inline constexpr bool loadable_v = std::is_constructible_v<T, unbound_t> || std::is_default_constructible_v<T>;

template <class Tuple, std::size_t... I>
Tuple make_tuple_for_load(std::index_sequence<I...>) {
    return Tuple(make_for_load<std::tuple_element_t<I, Tuple>>()...);
}

template <class Tuple>
Tuple read_arguments(reader& r) {
    Tuple args = make_tuple_for_load<Tuple>(std::make_index_sequence<std::tuple_size_v<Tuple>>{});
    if constexpr (std::tuple_size_v<Tuple> > 0) std::apply([&](auto&... a) { r(a...); }, args);
    return args;
}

}  // namespace weft::mp::detail
