#pragma once
/// \file
/// `weft::mp::queue<T>`: a bounded FIFO queue shared between processes (Python's
/// `multiprocessing.Queue`, with `weft::queue`'s blocking semantics and exceptions).
///
/// Items are copied into shared memory: byte-wise for trivially copyable `T`, serialized with
/// cereal otherwise (then each item may take at most `max_item_bytes`). `put` blocks while the
/// queue is full, `get` while it is empty; with `block = false`, or when the timeout passes,
/// they throw `weft::queue_full` / `weft::queue_empty` (as Python's `Full`/`Empty`).
///
/// Example:
/// \code
///   weft::mp::queue<std::string> q{64};
///   weft::mp::process p([](weft::mp::queue<std::string> q) { q.put("hello from the child"); }, q);
///   p.start();
///   std::string s = q.get(std::chrono::seconds(5));
///   p.join();
/// \endcode
///
/// *Throws:* `queue_full`, `queue_empty`; `std::length_error` for an item larger than
/// `max_item_bytes`; `std::invalid_argument` for a `maxsize` of 0.
/// *Cancellation:* the timed forms give up after the timeout (and throw as above).
/// *Thread-safety:* any thread of any process of the program's family.

#include <weft/errors.hpp>
#include <weft/mp/detail/shared_memory.hpp>
#include <weft/mp/detail/wire.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace weft::mp {

namespace detail {
struct queue_block {
    queue_block(std::uint32_t maxsize, std::uint32_t slot_bytes) : maxsize(maxsize), slot_bytes(slot_bytes) {}
    /// Waits until there is room (false: timed out / would block).
    bool wait_room(bool block, const clock::time_point* deadline);
    /// Waits until there is an item (false: timed out / would block).
    bool wait_item(bool block, const clock::time_point* deadline);
    unsigned char* slot(std::uint32_t i) noexcept {
        return reinterpret_cast<unsigned char*>(this + 1) + std::size_t{i} * (slot_bytes + sizeof(std::uint32_t));
    }
    robust_mutex mutex;
    shared_cond not_empty;
    shared_cond not_full;
    std::uint32_t maxsize;
    std::uint32_t slot_bytes;
    std::uint32_t head = 0;
    std::uint32_t count = 0;
};
}  // namespace detail

/// A bounded queue shared between processes. See the file comment.
///
/// Example: `weft::mp::queue<int> q{8}; q.put(1); int x = q.get();`
template <class T>
class queue {
    static constexpr bool raw = std::is_trivially_copyable_v<T>;

public:
    using duration = detail::clock::duration;

    /// A queue holding at most `maxsize` items, each at most `max_item_bytes` once serialized
    /// (ignored for trivially copyable T, stored as `sizeof(T)` bytes).
    explicit queue(std::size_t maxsize, std::size_t max_item_bytes = 1024)
        : block_(make_block(maxsize, raw ? sizeof(T) : max_item_bytes)) {}

    /// Adds `item`, waiting for room (at most `timeout` if given). Throws `queue_full` if
    /// `block` is false and the queue is full, or when the timeout passes.
    /// Example: `q.put(job, true, std::chrono::milliseconds(100));`
    void put(const T& item, bool block = true, std::optional<duration> timeout = std::nullopt) {
        std::string bytes;
        if constexpr (!raw) {
            detail::writer w(bytes);
            w(item);
            if (bytes.size() > block_->slot_bytes)
                throw std::length_error("weft::mp::queue item of " + std::to_string(bytes.size()) +
                                        " bytes exceeds max_item_bytes (" + std::to_string(block_->slot_bytes) + ")");
        }
        auto deadline = timeout ? std::optional(detail::deadline_after(*timeout)) : std::nullopt;
        auto& b = *block_;
        if (!b.wait_room(block, deadline ? &*deadline : nullptr)) throw queue_full();
        unsigned char* s = b.slot((b.head + b.count) % b.maxsize);
        std::uint32_t size;
        if constexpr (raw) {
            size = sizeof(T);
            std::memcpy(s + sizeof size, &item, sizeof(T));
        } else {
            size = static_cast<std::uint32_t>(bytes.size());
            std::memcpy(s + sizeof size, bytes.data(), bytes.size());
        }
        std::memcpy(s, &size, sizeof size);
        ++b.count;
        b.not_empty.notify_one();
        b.mutex.unlock();
    }
    /// `put(item, true, timeout)`.
    template <class Rep, class Period>
    void put(const T& item, std::chrono::duration<Rep, Period> timeout) {
        put(item, true, std::chrono::ceil<duration>(timeout));
    }
    /// `put(item, false)`: throws `queue_full` if there is no room.
    void put_nowait(const T& item) { put(item, false); }

    /// Removes and returns the oldest item, waiting for one (at most `timeout` if given).
    /// Throws `queue_empty` if `block` is false and the queue is empty, or when the timeout passes.
    /// Example: `auto item = q.get(true, std::chrono::seconds(1));`
    T get(bool block = true, std::optional<duration> timeout = std::nullopt) {
        auto deadline = timeout ? std::optional(detail::deadline_after(*timeout)) : std::nullopt;
        auto& b = *block_;
        if (!b.wait_item(block, deadline ? &*deadline : nullptr)) throw queue_empty();
        unsigned char* s = b.slot(b.head);
        std::uint32_t size;
        std::memcpy(&size, s, sizeof size);
        std::string bytes(reinterpret_cast<const char*>(s + sizeof size), size);
        b.head = (b.head + 1) % b.maxsize;
        --b.count;
        b.not_full.notify_one();
        b.mutex.unlock();
        if constexpr (raw) {
            T item;
            std::memcpy(static_cast<void*>(&item), bytes.data(), sizeof(T));
            return item;
        } else {
            detail::reader r(bytes);
            return r.read<T>();
        }
    }
    /// `get(true, timeout)`. Example: `auto item = q.get(std::chrono::milliseconds(100));`
    template <class Rep, class Period>
    T get(std::chrono::duration<Rep, Period> timeout) {
        return get(true, std::chrono::ceil<duration>(timeout));
    }
    /// `get(false)`: throws `queue_empty` if there is no item.
    T get_nowait() { return get(false); }

    /// The number of items now (may be stale at once).
    std::size_t qsize() const {
        detail::robust_guard g(block_->mutex);
        return block_->count;
    }
    bool empty() const { return qsize() == 0; }
    bool full() const { return qsize() == block_->maxsize; }
    std::size_t maxsize() const noexcept { return block_->maxsize; }

    /// An empty handle, for cereal to load into (internal).
    explicit queue(detail::unbound_t) noexcept {}

    template <class Archive>
    void serialize(Archive& ar) {
        ar(block_);
    }

private:
    static detail::shared_object<detail::queue_block> make_block(std::size_t maxsize, std::size_t slot_bytes) {
        if (maxsize == 0 || maxsize > UINT32_MAX)
            throw std::invalid_argument("weft::mp::queue needs 0 < maxsize < 2^32, got " + std::to_string(maxsize));
        if (slot_bytes > UINT32_MAX) throw std::invalid_argument("weft::mp::queue: max_item_bytes too large");
        std::size_t extra = maxsize * (slot_bytes + sizeof(std::uint32_t));
        return detail::shared_object<detail::queue_block>::make_with_extra(
            extra, static_cast<std::uint32_t>(maxsize), static_cast<std::uint32_t>(slot_bytes));
    }
    detail::shared_object<detail::queue_block> block_;
};

}  // namespace weft::mp
