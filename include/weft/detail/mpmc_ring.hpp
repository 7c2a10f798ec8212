#pragma once
/// \file
/// The engine of `weft::queue<T>` (FIFO) for items that move without throwing: a lock-free
/// multi-producer/multi-consumer FIFO built from Vyukov-style rings (a sequence number per
/// slot says whether it is free for the put of a position or full for its get). Producers
/// meet only on the ring's enqueue position and consumers only on its dequeue position, so a
/// put and a get never wait for each other's critical section as they do behind one mutex.
///
/// - Positions are global (they keep counting across rings), so the number of puts so far is
///   the tail ring's enqueue position: `task_done`/`join` need no counter of their own on the
///   put path (they work under a mutex, as in Python).
/// - Bounded (`maxsize` <= exact_ring_limit): one ring of exactly `maxsize` slots (2 for maxsize 1), never grown.
///   Otherwise the queue starts with a small ring; a producer that finds it full *closes* it
///   (a flag bit in its enqueue position, so no later put can land in it) and links a ring of
///   twice the size whose positions continue where the closed one stopped. Consumers drain a
///   closed ring up to its last position, then move on. Rings are freed with the queue (stale
///   pointers to a closed ring stay safe), so an unbounded queue keeps memory for its
///   high-water mark, at most twice over, like a `std::vector`. A bounded queue larger than
///   exact_ring_limit also counts (enqueue position - dequeue position) against `maxsize`.
/// - `shutdown()` closes the tail ring too: a put that has not reserved its position by then
///   throws; gets drain every reserved position, then throw.
/// - An item that may throw while being built from the put's argument (a copy, a
///   conversion) is built before a position is reserved, so a failed put leaves no trace.
/// - Waiting: a getter yields the CPU a few times, then registers in `waiting_getters_` and
///   sleeps on a condition variable; a put wakes it only if the count is non-zero (putters
///   waiting for room likewise, woken by gets). The register-then-recheck / publish-then-check pairs
///   are seq_cst on both sides, so one of them always sees the other (no lost wake-up); a
///   waker takes the parking mutex once so its notify cannot fall between a waiter's recheck
///   and its wait.

#include <weft/detail/cpu_relax.hpp>
#include <weft/errors.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft::detail {

/// A thread-safe FIFO with `weft::queue`'s semantics (see the file comment for the design).
/// `T` must move and destroy without throwing (`weft::queue` uses a locked deque otherwise).
template <class T>
class mpmc_ring {
    static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>);

public:
    using clock = std::chrono::steady_clock;

    /// Bounded queues up to this size get one ring of exactly `maxsize` slots.
    static constexpr std::size_t exact_ring_limit = 1 << 16;

    explicit mpmc_ring(std::size_t maxsize)
        : maxsize_(maxsize), growable_(maxsize == 0 || maxsize > exact_ring_limit),
          counted_(maxsize > 0 && (growable_ || maxsize < 2)) {
        // A ring needs two slots at least (one slot's "full" would read as "free" for the next
        // lap), so maxsize 1 counts its items as a large bounded queue does.
        auto first = std::make_unique<ring>(0, growable_ ? first_growable_capacity : std::max<std::size_t>(maxsize, 2));
        head_.store(first.get(), std::memory_order_relaxed);
        tail_.store(first.get(), std::memory_order_relaxed);
        rings_.push_back(std::move(first));
    }
    mpmc_ring(const mpmc_ring&) = delete;
    mpmc_ring& operator=(const mpmc_ring&) = delete;
    ~mpmc_ring() {
        for (ring* r = head_.load(std::memory_order_relaxed); r; r = r->next.load(std::memory_order_relaxed)) {
            std::uint64_t end = r->enqueue_pos.load(std::memory_order_relaxed) & ~closed_bit;
            for (std::uint64_t pos = r->dequeue_pos.load(std::memory_order_relaxed); pos < end; ++pos) {
                r->at(pos).item()->~T();
            }
        }
    }

    template <class U>
    void put(U&& item, bool block, std::optional<clock::duration> timeout) {
        if constexpr (std::is_same_v<std::remove_cvref_t<U>, T> && !std::is_lvalue_reference_v<U>) {
            put_value(item, block, timeout);
        } else {
            T value(std::forward<U>(item));  // a copy or conversion that throws leaves no trace
            put_value(value, block, timeout);
        }
    }

    T get(bool block, std::optional<clock::duration> timeout) {
        outcome o = outcome::full_or_empty;
        claim c = try_claim(o);
        if (!c.s) c = get_slow(o, block, timeout);
        T item(std::move(*c.s->item()));
        release(c);
        return item;
    }

    void task_done() {
        std::lock_guard lock(mutex_);
        std::uint64_t puts = puts_total();
        if (settled_ >= puts) throw invalid_state_error("task_done() called too many times");
        if (++settled_ == puts) all_done_.notify_all();
    }

    void join() {
        std::unique_lock lock(mutex_);
        all_done_.wait(lock, [this] { return settled_ >= puts_total(); });
    }

    void shutdown(bool immediate) {
        {
            std::lock_guard lock(mutex_);
            shut_down_.store(true, std::memory_order_seq_cst);
            tail_.load(std::memory_order_relaxed)->enqueue_pos.fetch_or(closed_bit, std::memory_order_seq_cst);
            if (immediate) {
                std::uint64_t dropped = 0;
                outcome o = outcome::full_or_empty;
                for (claim c; (c = try_claim(o)).s;) {
                    ++dropped;
                    release(c);
                }
                std::uint64_t unfinished = puts_total() - settled_;
                settled_ += std::min(dropped, unfinished);
                all_done_.notify_all();
            }
        }
        { std::lock_guard park(park_mutex_); }
        not_empty_.notify_all();
        not_full_.notify_all();
    }

    std::size_t qsize() const noexcept {
        std::uint64_t d = dequeued_total();
        std::uint64_t e = puts_total();
        return e > d ? static_cast<std::size_t>(e - d) : 0;
    }
    bool full() const noexcept { return maxsize_ > 0 && qsize() >= maxsize_; }
    std::size_t maxsize() const noexcept { return maxsize_; }
    bool is_shut_down() const noexcept { return shut_down_.load(std::memory_order_acquire); }

private:
    static constexpr std::uint64_t closed_bit = std::uint64_t{1} << 63;  // in enqueue_pos
    static constexpr std::size_t first_growable_capacity = 256;
    static constexpr int get_yield_rounds = 16;
    static constexpr int put_yield_rounds = 16;

    enum class outcome { done, full_or_empty, closed };

    struct slot {
        std::atomic<std::uint64_t> seq{0};
        alignas(T) unsigned char storage[sizeof(T)];
        T* item() noexcept { return std::launder(reinterpret_cast<T*>(storage)); }
    };

    struct ring {
        ring(std::uint64_t first_pos, std::size_t cap)
            : base(first_pos), capacity(cap), mask(std::has_single_bit(cap) ? cap - 1 : 0),
              slots(new slot[cap]) {
            for (std::size_t i = 0; i < cap; ++i) slots[i].seq.store(first_pos + i, std::memory_order_relaxed);
            enqueue_pos.store(first_pos, std::memory_order_relaxed);
            dequeue_pos.store(first_pos, std::memory_order_relaxed);
        }
        slot& at(std::uint64_t pos) noexcept {
            std::uint64_t off = pos - base;
            return slots[mask ? (off & mask) : (off % capacity)];
        }

        alignas(64) std::atomic<std::uint64_t> enqueue_pos;  // producers' line
        alignas(64) std::atomic<std::uint64_t> dequeue_pos;  // consumers' line
        alignas(64) const std::uint64_t base;                // read-only from here on
        const std::size_t capacity;
        const std::size_t mask;  // capacity - 1 if a power of two, else 0
        const std::unique_ptr<slot[]> slots;
        std::atomic<ring*> next{nullptr};
    };

    struct claim {
        slot* s = nullptr;
        std::uint64_t free_seq = 0;  // the slot's seq once emptied: free for position + capacity
    };

    // The number of positions ever reserved by puts.
    std::uint64_t puts_total() const noexcept {
        ring* r = tail_.load(std::memory_order_acquire);
        for (;;) {
            std::uint64_t e = r->enqueue_pos.load(std::memory_order_seq_cst);
            ring* n = (e & closed_bit) ? r->next.load(std::memory_order_seq_cst) : nullptr;
            if (!n) return e & ~closed_bit;
            r = n;
        }
    }
    // The number of positions ever claimed by gets.
    std::uint64_t dequeued_total() const noexcept {
        ring* r = head_.load(std::memory_order_acquire);
        for (;;) {
            std::uint64_t d = r->dequeue_pos.load(std::memory_order_seq_cst);
            std::uint64_t e = r->enqueue_pos.load(std::memory_order_seq_cst);
            ring* n = (e & closed_bit) && d == (e & ~closed_bit) ? r->next.load(std::memory_order_seq_cst) : nullptr;
            if (!n) return d;
            r = n;
        }
    }

    // Moves `item` in (it is left untouched when that fails).
    void put_value(T& item, bool block, std::optional<clock::duration> timeout) {
        outcome o = try_put(item);
        if (o != outcome::done) put_slow(item, o, block, timeout);
        if (waiting_getters_.load(std::memory_order_seq_cst) > 0) wake_one(not_empty_);
    }

    // One attempt to put without waiting: done, full_or_empty (no room) or closed (shut down).
    outcome try_put(T& item) {
        ring* r = tail_.load(std::memory_order_acquire);
        std::uint64_t pos = r->enqueue_pos.load(std::memory_order_relaxed);
        for (int busy = 0;;) {
            if (pos & closed_bit) {
                r = next_ring_for_put(r);
                if (!r) return outcome::closed;
                pos = r->enqueue_pos.load(std::memory_order_relaxed);
                continue;
            }
            slot& s = r->at(pos);
            std::uint64_t seq = s.seq.load(std::memory_order_acquire);
            auto dif = static_cast<std::int64_t>(seq - pos);
            if (dif == 0) {
                if (counted_ && pos - dequeued_total() >= maxsize_) return outcome::full_or_empty;
                if (r->enqueue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                                         std::memory_order_relaxed)) {
                    publish(s, pos, std::move(item));
                    return outcome::done;
                }
            } else if (dif < 0) {
                // The slot still holds the item of position - capacity: full, unless a getter
                // has claimed it and is moving it out right now.
                if (pos - r->capacity < r->dequeue_pos.load(std::memory_order_seq_cst)) {
                    back_off(busy);
                } else if (!growable_) {
                    return outcome::full_or_empty;
                } else if (r->enqueue_pos.compare_exchange_strong(pos, pos | closed_bit, std::memory_order_seq_cst,
                                                                  std::memory_order_relaxed)) {
                    pos |= closed_bit;
                    continue;
                } else {
                    continue;  // pos reloaded by the failed exchange
                }
                pos = r->enqueue_pos.load(std::memory_order_relaxed);
            } else {
                pos = r->enqueue_pos.load(std::memory_order_relaxed);
            }
        }
    }

    void publish(slot& s, std::uint64_t pos, T&& item) noexcept {
        ::new (static_cast<void*>(s.storage)) T(std::move(item));
        s.seq.store(pos + 1, std::memory_order_release);
    }

    // The ring after closed `r` for a put: links a new one if needed; nullptr once shut down.
    ring* next_ring_for_put(ring* r) {
        if (ring* n = r->next.load(std::memory_order_seq_cst)) return n;
        std::lock_guard lock(mutex_);
        if (shut_down_.load(std::memory_order_relaxed)) return nullptr;
        if (ring* n = r->next.load(std::memory_order_relaxed)) return n;
        std::uint64_t first_pos = r->enqueue_pos.load(std::memory_order_relaxed) & ~closed_bit;
        auto owned = std::make_unique<ring>(first_pos, r->capacity * 2);
        ring* n = owned.get();
        rings_.push_back(std::move(owned));
        r->next.store(n, std::memory_order_seq_cst);
        tail_.store(n, std::memory_order_release);
        return n;
    }

    // One attempt to claim the next item: a claimed slot, or nullptr with `o` set to
    // full_or_empty (nothing now) or closed (shut down and drained, or a ring being grown).
    claim try_claim(outcome& o) noexcept {
        ring* r = head_.load(std::memory_order_acquire);
        std::uint64_t pos = r->dequeue_pos.load(std::memory_order_relaxed);
        for (int busy = 0;;) {
            slot& s = r->at(pos);
            std::uint64_t seq = s.seq.load(std::memory_order_acquire);
            auto dif = static_cast<std::int64_t>(seq - (pos + 1));
            if (dif == 0) {
                if (r->dequeue_pos.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                                         std::memory_order_relaxed)) {
                    return claim{&s, pos + r->capacity};
                }
            } else if (dif < 0) {
                std::uint64_t e = r->enqueue_pos.load(std::memory_order_seq_cst);
                if ((e & ~closed_bit) > pos) {
                    back_off(busy);  // a put reserved this position and is writing its item
                } else if (!(e & closed_bit)) {
                    o = outcome::full_or_empty;
                    return {};
                } else if (ring* n = r->next.load(std::memory_order_seq_cst)) {
                    head_.compare_exchange_strong(r, n, std::memory_order_acq_rel, std::memory_order_acquire);
                    r = head_.load(std::memory_order_acquire);
                } else {
                    o = outcome::closed;
                    return {};
                }
                pos = r->dequeue_pos.load(std::memory_order_relaxed);
            } else {
                pos = r->dequeue_pos.load(std::memory_order_relaxed);
            }
        }
    }

    // Empties a claimed slot (its item already moved out) and wakes a putter
    // waiting for room if there is one.
    void release(claim c) noexcept {
        c.s->item()->~T();
        c.s->seq.store(c.free_seq, std::memory_order_release);
        if (waiting_putters_.load(std::memory_order_seq_cst) > 0) wake_one(not_full_);
    }

    static void back_off(int& busy) noexcept {
        if (++busy < 64) cpu_relax();
        else std::this_thread::yield();
    }

    void wake_one(std::condition_variable& cv) noexcept {
        { std::lock_guard park(park_mutex_); }
        cv.notify_one();
    }

    static std::optional<clock::time_point> deadline_of(std::optional<clock::duration> timeout) {
        if (!timeout) return std::nullopt;
        if (*timeout < clock::duration::zero()) {
            throw std::invalid_argument("queue: 'timeout' must be a non-negative duration");
        }
        return clock::now() + *timeout;
    }

    bool shut_and_drained(outcome o) const noexcept {
        return o == outcome::closed && shut_down_.load(std::memory_order_seq_cst);
    }

    // True if a put may find room now (or must throw): the check a putter makes, registered
    // as waiting, before it sleeps. Reads the positions seq_cst (see the file comment).
    bool room_or_closed() const noexcept {
        for (;;) {
            ring* r = tail_.load(std::memory_order_acquire);
            std::uint64_t e = r->enqueue_pos.load(std::memory_order_seq_cst);
            if (e & closed_bit) return true;
            if (counted_) return e - dequeued_total() < maxsize_;
            if (growable_) return true;
            auto dif = static_cast<std::int64_t>(r->at(e).seq.load(std::memory_order_acquire) - e);
            if (dif == 0) return true;
            if (dif < 0) return e - r->capacity < r->dequeue_pos.load(std::memory_order_seq_cst);
            // dif > 0: another put took position e meanwhile; look again.
        }
    }
    // True if a get may find an item now (or must throw): a getter's check before it sleeps.
    bool item_or_closed() const noexcept {
        ring* r = head_.load(std::memory_order_acquire);
        std::uint64_t d = r->dequeue_pos.load(std::memory_order_seq_cst);
        std::uint64_t e = r->enqueue_pos.load(std::memory_order_seq_cst);
        if ((e & ~closed_bit) > d) return true;
        if (!(e & closed_bit)) return false;
        return r->next.load(std::memory_order_seq_cst) != nullptr || shut_down_.load(std::memory_order_seq_cst);
    }

    // Sleeps on `cv` until `ready()` or the deadline (true: timed out), registered in `waiters`
    // meanwhile. A put or get that makes `ready()` true after we looked sees the count and
    // wakes us: it takes park_mutex_ first, which we hold until the wait releases it.
    template <class Ready>
    bool park(std::atomic<std::uint32_t>& waiters, std::condition_variable& cv, Ready ready,
              const std::optional<clock::time_point>& deadline) {
        std::unique_lock lock(park_mutex_);
        waiters.fetch_add(1, std::memory_order_seq_cst);
        bool timed_out = false;
        if (!ready()) {
            if (deadline) timed_out = cv.wait_until(lock, *deadline) == std::cv_status::timeout;
            else cv.wait(lock);
        }
        waiters.fetch_sub(1, std::memory_order_seq_cst);
        return timed_out;
    }

    [[gnu::noinline]] void put_slow(T& item, outcome o, bool block, std::optional<clock::duration> timeout) {
        if (o == outcome::closed) throw queue_shut_down();
        if (!block) throw queue_full();
        auto deadline = deadline_of(timeout);
        // Full: let the getters run (on this CPU too) before sleeping, which would cost every
        // get a wake-up call from then on.
        for (int i = 0; i < put_yield_rounds; ++i) {
            std::this_thread::yield();
            o = try_put(item);
            if (o == outcome::done) return;
            if (o == outcome::closed) throw queue_shut_down();
            if (deadline && clock::now() >= *deadline) break;
        }
        for (;;) {
            bool timed_out = park(waiting_putters_, not_full_, [this] { return room_or_closed(); }, deadline);
            o = try_put(item);
            if (o == outcome::done) return;
            if (o == outcome::closed) throw queue_shut_down();
            if (timed_out) throw queue_full();
        }
    }

    [[gnu::noinline]] claim get_slow(outcome o, bool block, std::optional<clock::duration> timeout) {
        if (shut_and_drained(o)) throw queue_shut_down();
        if (!block) throw queue_empty();
        auto deadline = deadline_of(timeout);
        // Empty: yield the CPU a few times before sleeping. A producer is often runnable and
        // about to put (on 2 CPUs and 4 threads it may be waiting for this very CPU); spinning
        // with pause instead measured several times slower there.
        for (int i = 0; i < get_yield_rounds; ++i) {
            std::this_thread::yield();
            if (claim c = try_claim(o); c.s) return c;
            if (shut_and_drained(o)) throw queue_shut_down();
            if (deadline && clock::now() >= *deadline) break;
        }
        for (;;) {
            bool timed_out = park(waiting_getters_, not_empty_, [this] { return item_or_closed(); }, deadline);
            if (claim c = try_claim(o); c.s) return c;
            if (shut_and_drained(o)) throw queue_shut_down();
            if (timed_out) throw queue_empty();
        }
    }

    alignas(64) std::atomic<ring*> head_{nullptr};  // consumers start here
    alignas(64) std::atomic<ring*> tail_{nullptr};  // producers start here
    alignas(64) std::atomic<std::uint32_t> waiting_getters_{0};
    alignas(64) std::atomic<std::uint32_t> waiting_putters_{0};
    alignas(64) std::atomic<bool> shut_down_{false};
    const std::size_t maxsize_;
    const bool growable_;  // unbounded, or bounded above exact_ring_limit: rings grow
    const bool counted_;   // bounded, but not by the ring's size: put compares the positions
    std::mutex park_mutex_;  // sleeping getters and putters
    std::condition_variable not_empty_;
    std::condition_variable not_full_;
    std::mutex mutex_;  // growth, shutdown, task accounting
    std::condition_variable all_done_;
    std::uint64_t settled_ = 0;  // task_done calls + items dropped by an immediate shutdown
    std::vector<std::unique_ptr<ring>> rings_;
};

}  // namespace weft::detail
