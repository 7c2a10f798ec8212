#pragma once
/// \file
/// `weft::mp::value<T>` and `weft::mp::array<T>`: plain data in shared memory, each with its
/// own recursive lock (Python's `multiprocessing.Value` / `Array`).
///
/// `load`/`store` take the lock for one access; to make a read-modify-write atomic, hold
/// `get_lock()` around it (the lock is recursive, so `load`/`store` still work inside).
/// `T` must be trivially copyable (numbers, PODs): the bytes live in shared memory.
///
/// Example:
/// \code
///   weft::mp::value<long> total{0};
///   weft::mp::array<double> samples(100);
///   auto add = [](weft::mp::value<long> t, long x) {
///       weft::mp::hold h(t.get_lock());
///       t.store(t.load() + x);
///   };
/// \endcode
///
/// *Throws:* `std::out_of_range` from `array::at`; `std::bad_alloc` if the arena is full.
/// *Thread-safety:* `load`/`store`/`at` are safe from any thread of any process of the family;
/// `operator[]` and `data()` give unsynchronized access (hold the lock).

#include <weft/mp/detail/shared_memory.hpp>
#include <weft/mp/lock.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace weft::mp {

namespace detail {
template <class T>
struct value_block {
    explicit value_block(const T& v) : value(v) {}
    T value;
};
template <class T>
struct array_block {
    explicit array_block(std::size_t n) : size(n) {
        std::memset(static_cast<void*>(data()), 0, n * sizeof(T));
    }
    T* data() noexcept { return reinterpret_cast<T*>(reinterpret_cast<unsigned char*>(this) + offset()); }
    static constexpr std::size_t offset() noexcept { return (sizeof(array_block) + alignof(T) - 1) / alignof(T) * alignof(T); }
    std::size_t size;
};
}  // namespace detail

/// One `T` in shared memory with its lock. See the file comment.
///
/// Example: `weft::mp::value<int> v{5}; v.store(v.load() * 2);`
template <class T>
class value {
    static_assert(std::is_trivially_copyable_v<T>, "weft::mp::value<T> needs a trivially copyable T");

public:
    /// A shared value initialized to `initial`.
    explicit value(const T& initial = T{}) : block_(detail::shared_object<detail::value_block<T>>::make(initial)) {}

    /// Reads the value under the lock.
    T load() const {
        hold_lock h(lock_);
        return block_->value;
    }
    /// Writes the value under the lock.
    void store(const T& v) {
        hold_lock h(lock_);
        block_->value = v;
    }
    /// The lock guarding the value (recursive).
    rlock& get_lock() noexcept { return lock_; }
    /// Unsynchronized access to the shared value (hold `get_lock()`).
    T& get_obj() const noexcept { return block_->value; }

    /// An empty handle, for cereal to load into (internal).
    explicit value(detail::unbound_t) noexcept : lock_(detail::unbound) {}

    template <class Archive>
    void serialize(Archive& ar) {
        ar(lock_, block_);
    }

private:
    struct hold_lock {
        explicit hold_lock(const rlock& l) : l(const_cast<rlock&>(l)) { this->l.acquire(); }
        ~hold_lock() { l.release(); }
        rlock& l;
    };
    rlock lock_;
    detail::shared_object<detail::value_block<T>> block_;
};

/// A fixed-size array of `T` in shared memory (zero-initialized) with its lock.
///
/// Example: `weft::mp::array<int> a(10); a.store(3, 42); assert(a.at(3) == 42);`
template <class T>
class array {
    static_assert(std::is_trivially_copyable_v<T>, "weft::mp::array<T> needs a trivially copyable T");
    static_assert(alignof(T) <= 16, "weft::mp::array<T> supports alignments up to 16");

public:
    /// `size` zero-initialized elements.
    explicit array(std::size_t size = 0)
        : block_(detail::shared_object<detail::array_block<T>>::make_with_extra(
              detail::array_block<T>::offset() - sizeof(detail::array_block<T>) + size * sizeof(T), size)) {}
    /// Copies `items` into a new shared array.
    explicit array(const std::vector<T>& items) : array(items.size()) {
        std::memcpy(static_cast<void*>(data()), items.data(), items.size() * sizeof(T));
    }

    std::size_t size() const noexcept { return block_->size; }
    /// Reads element `i` under the lock. Throws `std::out_of_range`.
    T at(std::size_t i) const {
        check(i);
        hold_lock h(lock_);
        return data()[i];
    }
    /// Writes element `i` under the lock. Throws `std::out_of_range`.
    void store(std::size_t i, const T& v) {
        check(i);
        hold_lock h(lock_);
        data()[i] = v;
    }
    /// A copy of all elements, taken under the lock.
    std::vector<T> to_vector() const {
        hold_lock h(lock_);
        return std::vector<T>(data(), data() + size());
    }
    /// Unsynchronized access (hold `get_lock()`).
    T& operator[](std::size_t i) const noexcept { return data()[i]; }
    T* data() const noexcept { return block_->data(); }
    /// The lock guarding the array (recursive).
    rlock& get_lock() noexcept { return lock_; }

    /// An empty handle, for cereal to load into (internal).
    explicit array(detail::unbound_t) noexcept : lock_(detail::unbound) {}

    template <class Archive>
    void serialize(Archive& ar) {
        ar(lock_, block_);
    }

private:
    struct hold_lock {
        explicit hold_lock(const rlock& l) : l(const_cast<rlock&>(l)) { this->l.acquire(); }
        ~hold_lock() { l.release(); }
        rlock& l;
    };
    void check(std::size_t i) const {
        if (i >= size())
            throw std::out_of_range("weft::mp::array index " + std::to_string(i) + " out of range (size " +
                                    std::to_string(size()) + ")");
    }
    rlock lock_;
    detail::shared_object<detail::array_block<T>> block_;
};

}  // namespace weft::mp
