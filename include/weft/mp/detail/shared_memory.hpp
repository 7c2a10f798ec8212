#pragma once
// Internal: the shared arena behind weft::mp's objects, and the process-shared pthread
// primitives they are made of.
//
// The arena is one anonymous MAP_SHARED mapping (no /dev/shm name, nothing to leak) created
// before the forkserver, so every process of the program's family maps it at the same address:
// a pointer into it is valid everywhere, and an object "crosses" to another process as its
// offset. Objects are reference counted in the arena; the memory goes away with the last
// process of the family.

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace weft::mp::detail {

using clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC on Linux

/// Allocates `bytes` in the arena (creating it if needed) with a reference count of 1.
/// `destroy` runs in whichever process drops the last reference. Throws std::bad_alloc.
void* shared_allocate(std::size_t bytes, void (*destroy)(void*) noexcept);
void shared_retain(void* object) noexcept;
void shared_release(void* object) noexcept;
/// The offset of an arena object (what is serialized), and back. Throws invalid_state_error
/// if the offset does not name an object of this process family's arena.
std::uint64_t shared_offset(const void* object);
void* shared_at(std::uint64_t offset);
/// Creates the arena if it does not exist yet.
void ensure_arena();

/// Tag of the constructors that make an empty handle, to be filled by cereal's `load`
/// (so that receiving an object does not create a new one first).
struct unbound_t {
    explicit unbound_t() = default;
};
inline constexpr unbound_t unbound{};

/// A counted reference to a `Block` constructed in the arena.
template <class Block>
class shared_object {
    static_assert(alignof(Block) <= 16, "arena objects are 16-byte aligned");

public:
    shared_object() noexcept = default;
    /// Constructs a Block (plus `extra` trailing bytes) in the arena.
    template <class... Args>
    static shared_object make_with_extra(std::size_t extra, Args&&... args) {
        void* p = shared_allocate(sizeof(Block) + extra, &destroy);
        try {
            new (p) Block(std::forward<Args>(args)...);
        } catch (...) {
            shared_release_raw(p);
            throw;
        }
        return shared_object(static_cast<Block*>(p));
    }
    template <class... Args>
    static shared_object make(Args&&... args) {
        return make_with_extra(0, std::forward<Args>(args)...);
    }
    /// A new reference to the object at `offset` (as received from another process).
    static shared_object from_offset(std::uint64_t offset) {
        auto* p = static_cast<Block*>(shared_at(offset));
        shared_retain(p);
        return shared_object(p);
    }

    shared_object(const shared_object& o) noexcept : p_(o.p_) {
        if (p_) shared_retain(p_);
    }
    shared_object(shared_object&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    shared_object& operator=(shared_object o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~shared_object() {
        if (p_) shared_release(p_);
    }

    Block* get() const noexcept { return p_; }
    Block* operator->() const noexcept { return p_; }
    Block& operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    std::uint64_t offset() const { return shared_offset(p_); }

    // cereal: an arena object crosses to another process as its place (offset) in the arena.
    template <class Archive>
    void save(Archive& ar) const {
        ar(offset());
    }
    template <class Archive>
    void load(Archive& ar) {
        std::uint64_t at = 0;
        ar(at);
        *this = from_offset(at);
    }

private:
    explicit shared_object(Block* p) noexcept : p_(p) {}
    static void destroy(void* p) noexcept { static_cast<Block*>(p)->~Block(); }
    // Frees a block whose constructor threw (its destructor must not run).
    static void shared_release_raw(void* p) noexcept;

    Block* p_ = nullptr;
};

/// Frees without destroying (see shared_object::shared_release_raw).
void shared_free_unconstructed(void* object) noexcept;

template <class Block>
void shared_object<Block>::shared_release_raw(void* p) noexcept {
    shared_free_unconstructed(p);
}

/// A process-shared, robust mutex: if its holder dies, the next locker gets it, marks it
/// consistent, counts the event in `owner_deaths` and logs a warning.
struct robust_mutex {
    explicit robust_mutex(bool recursive = false);
    ~robust_mutex();
    robust_mutex(const robust_mutex&) = delete;
    robust_mutex& operator=(const robust_mutex&) = delete;

    /// Locks, waiting at most until `deadline` (nullptr: forever); false on timeout.
    bool lock_until(const clock::time_point* deadline);
    bool try_lock();
    /// Throws release_error if the caller does not hold the mutex.
    void unlock();
    /// Called after a lock call returned EOWNERDEAD: recovers the mutex.
    void recover();

    pthread_mutex_t native;
    std::atomic<std::uint32_t> owner_deaths{0};
};

/// A process-shared condition variable on CLOCK_MONOTONIC.
struct shared_cond {
    shared_cond();
    ~shared_cond();
    shared_cond(const shared_cond&) = delete;
    shared_cond& operator=(const shared_cond&) = delete;

    /// Waits (the mutex is held); false if `deadline` passed. May wake spuriously.
    bool wait_until(robust_mutex& m, const clock::time_point* deadline);
    void notify_one() noexcept;
    void notify_all() noexcept;

    pthread_cond_t native;
};

/// Holds a robust_mutex for a scope.
class robust_guard {
public:
    explicit robust_guard(robust_mutex& m) : m_(m) { m_.lock_until(nullptr); }
    ~robust_guard() { m_.unlock(); }
    robust_guard(const robust_guard&) = delete;
    robust_guard& operator=(const robust_guard&) = delete;

private:
    robust_mutex& m_;
};

/// now + d, saturating (for "timeout" parameters).
inline clock::time_point deadline_after(clock::duration d) noexcept {
    auto now = clock::now();
    if (d > clock::time_point::max() - now) return clock::time_point::max();
    return now + d;
}

}  // namespace weft::mp::detail
