#pragma once
/// \file
/// Thread-safe queues with Python's `queue.Queue` semantics: `weft::queue<T>` (FIFO),
/// `weft::lifo_queue<T>` (a stack) and `weft::priority_queue<T>` (smallest first, like
/// Python's `PriorityQueue`, which is *not* std::priority_queue's largest-first).
///
/// `maxsize` 0 means unbounded. `put`/`get` block (optionally up to a timeout);
/// `put_nowait`/`get_nowait` throw `weft::queue_full`/`weft::queue_empty` instead.
/// `task_done()`/`join()` track unfinished work. `shutdown()` (Python 3.13) makes later puts
/// throw `weft::queue_shut_down`, while gets drain what is left and then throw it;
/// `shutdown(true)` (immediate) drops what is left too and releases `join()`.
///
/// `weft::queue<T>` is lock-free while it neither waits nor grows (rings with a sequence number
/// per slot, see weft/detail/mpmc_ring.hpp) when `T` moves without throwing, else a locked
/// deque; `lifo_queue` and `priority_queue` are a mutex over a vector or heap. A bounded
/// FIFO of `maxsize` up to 65536 allocates its `maxsize` slots up front; an unbounded one
/// keeps room for its high-water mark (at most twice over), like a `std::vector`.
/// A blocked `get` (and, in `weft::queue`, a `put` waiting for room) yields the CPU or spins
/// for a few microseconds before it sleeps, so a busy producer/consumer pair rarely pays for a
/// sleep and a wake-up.
///
/// Example:
/// \code
///   weft::queue<int> q{10};
///   std::jthread consumer([&] {
///       try { for (;;) { int item = q.get(); use(item); q.task_done(); } }
///       catch (const weft::queue_shut_down&) {}       // drained: stop
///   });
///   for (int i = 0; i < 100; ++i) q.put(i);
///   q.join();       // every item processed
///   q.shutdown();   // the consumer leaves its loop
/// \endcode
///
/// *Throws:* `queue_full`, `queue_empty`, `queue_shut_down` as above; `invalid_state_error`
/// from `task_done()` called more often than items were put; `std::invalid_argument` for a
/// negative timeout. An item whose `put` throws is not moved from.
/// *Cancellation:* these are blocking, thread-level calls; from a coroutine use
/// `weft::aio::queue` or `weft::to_thread`.
/// *Thread-safety:* every member may be called from any thread.

#include <weft/detail/cpu_relax.hpp>
#include <weft/detail/mpmc_ring.hpp>
#include <weft/errors.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft {

namespace detail {

template <class T>
struct fifo_store {
    std::deque<T> items;
    template <class U>
    void push(U&& item) { items.push_back(std::forward<U>(item)); }
    T pop() {
        T item = std::move(items.front());
        items.pop_front();
        return item;
    }
    std::size_t size() const noexcept { return items.size(); }
};

template <class T>
struct lifo_store {
    std::vector<T> items;
    template <class U>
    void push(U&& item) { items.push_back(std::forward<U>(item)); }
    T pop() {
        T item = std::move(items.back());
        items.pop_back();
        return item;
    }
    std::size_t size() const noexcept { return items.size(); }
};

template <class T, class Compare>
struct priority_store {
    std::vector<T> items;
    Compare less;
    // A min-heap: std's heap algorithms keep the largest in front, so compare reversed.
    bool greater(const T& a, const T& b) const { return less(b, a); }
    template <class U>
    void push(U&& item) {
        items.push_back(std::forward<U>(item));
        std::push_heap(items.begin(), items.end(), [this](const T& a, const T& b) { return greater(a, b); });
    }
    T pop() {
        std::pop_heap(items.begin(), items.end(), [this](const T& a, const T& b) { return greater(a, b); });
        T item = std::move(items.back());
        items.pop_back();
        return item;
    }
    std::size_t size() const noexcept { return items.size(); }
};

/// A mutex, condition variables and a `Store` (which decides the order): the engine of
/// lifo_queue, priority_queue and of a FIFO queue whose items may throw when moved.
template <class T, class Store>
class locked_queue {
public:
    using clock = std::chrono::steady_clock;

    explicit locked_queue(std::size_t maxsize) : maxsize_(maxsize) {}
    locked_queue(const locked_queue&) = delete;
    locked_queue& operator=(const locked_queue&) = delete;

    template <class U>
    void put(U&& item, bool block, std::optional<clock::duration> timeout) {
        std::unique_lock lock(mutex_);
        wait_for_room_or_items(lock, block, timeout, true);
        store_.push(std::forward<U>(item));
        ++unfinished_;
        size_hint_.store(store_.size(), std::memory_order_relaxed);
        bool wake_getter = waiting_getters_ > 0;
        lock.unlock();
        if (wake_getter) not_empty_.notify_one();
    }

    T get(bool block, std::optional<clock::duration> timeout) {
        std::unique_lock lock(mutex_);
        wait_for_room_or_items(lock, block, timeout, false);
        T item = store_.pop();
        size_hint_.store(store_.size(), std::memory_order_relaxed);
        bool wake_putter = waiting_putters_ > 0;
        lock.unlock();
        if (wake_putter) not_full_.notify_one();
        return item;
    }
    void task_done() {
        std::lock_guard lock(mutex_);
        if (unfinished_ == 0) throw invalid_state_error("task_done() called too many times");
        if (--unfinished_ == 0) all_done_.notify_all();
    }
    void join() {
        std::unique_lock lock(mutex_);
        all_done_.wait(lock, [this] { return unfinished_ == 0; });
    }

    void shutdown(bool immediate) {
        std::lock_guard lock(mutex_);
        shut_down_ = true;
        shut_down_hint_.store(true, std::memory_order_relaxed);
        if (immediate) {
            while (store_.size() > 0) {
                store_.pop();
                if (unfinished_ > 0) --unfinished_;
            }
            size_hint_.store(0, std::memory_order_relaxed);
            all_done_.notify_all();
        }
        not_empty_.notify_all();
        not_full_.notify_all();
    }

    std::size_t qsize() const {
        std::lock_guard lock(mutex_);
        return store_.size();
    }
    bool full() const {
        std::lock_guard lock(mutex_);
        return maxsize_ > 0 && store_.size() >= maxsize_;
    }
    std::size_t maxsize() const noexcept { return maxsize_; }
    bool is_shut_down() const {
        std::lock_guard lock(mutex_);
        return shut_down_;
    }

private:
    static constexpr int spin_iterations = 256;

    bool has_room() const noexcept { return maxsize_ == 0 || store_.size() < maxsize_; }

    // Waits until there is room (putting) or an item (getting), with Python's error rules.
    void wait_for_room_or_items(std::unique_lock<std::mutex>& lock, bool block,
                                std::optional<clock::duration> timeout, bool putting) {
        auto ready = [&] { return putting ? has_room() : store_.size() > 0; };
        auto check_shut_down = [&] {
            if (shut_down_ && (putting || store_.size() == 0)) throw queue_shut_down();
        };
        check_shut_down();
        if (ready()) return;
        if (!block) {
            if (putting) throw queue_full();
            throw queue_empty();
        }
        if (timeout && *timeout < clock::duration::zero()) {
            throw std::invalid_argument("queue: 'timeout' must be a non-negative duration");
        }
        std::optional<clock::time_point> deadline;
        if (timeout) deadline = clock::now() + *timeout;
        // A getter spins briefly without the lock: a running producer is often just about to
        // put. Not when a putter is blocked (it needs the CPU to wake up, not a spinner beside
        // it), and putters never spin: both measured slower on a full bounded queue.
        if (!putting && waiting_putters_ == 0) {
            lock.unlock();
            for (int i = 0; i < spin_iterations; ++i) {
                if (size_hint_.load(std::memory_order_relaxed) > 0 || shut_down_hint_.load(std::memory_order_relaxed)) {
                    break;
                }
                cpu_relax();
            }
            lock.lock();
        }
        auto& cv = putting ? not_full_ : not_empty_;
        int& waiters = putting ? waiting_putters_ : waiting_getters_;
        for (;;) {
            check_shut_down();
            if (ready()) return;
            ++waiters;
            bool timed_out = false;
            if (deadline) timed_out = cv.wait_until(lock, *deadline) == std::cv_status::timeout;
            else cv.wait(lock);
            --waiters;
            if (timed_out) {
                check_shut_down();
                if (ready()) return;
                if (putting) throw queue_full();
                throw queue_empty();
            }
        }
    }

    mutable std::mutex mutex_;
    std::condition_variable not_empty_;
    std::condition_variable not_full_;
    std::condition_variable all_done_;
    Store store_;
    std::size_t maxsize_;
    std::size_t unfinished_ = 0;
    int waiting_getters_ = 0;
    int waiting_putters_ = 0;
    bool shut_down_ = false;
    std::atomic<std::size_t> size_hint_{0};  // for the lock-free spin only
    std::atomic<bool> shut_down_hint_{false};
};

/// The public face shared by the three queue kinds; `Engine` does the work.
template <class T, class Engine>
class basic_queue {
public:
    using value_type = T;
    using clock = std::chrono::steady_clock;

    /// A queue holding at most `maxsize` items (0: unbounded).
    explicit basic_queue(std::size_t maxsize = 0) : engine_(maxsize) {}
    basic_queue(const basic_queue&) = delete;
    basic_queue& operator=(const basic_queue&) = delete;

    /// Adds `item`, waiting for room if `block` (at most `timeout`; then `queue_full`);
    /// without `block`, throws `queue_full` at once if there is no room.
    /// Example: `q.put(job, true, 100ms);`
    void put(const T& item, bool block = true, std::optional<clock::duration> timeout = std::nullopt) {
        engine_.put(item, block, timeout);
    }
    void put(T&& item, bool block = true, std::optional<clock::duration> timeout = std::nullopt) {
        engine_.put(std::move(item), block, timeout);
    }
    /// `put(item, true, timeout)`. Example: `q.put(std::move(frame), 50ms);`
    template <class U, class Rep, class Period>
        requires std::is_constructible_v<T, U&&>
    void put(U&& item, std::chrono::duration<Rep, Period> timeout) {
        engine_.put(std::forward<U>(item), true, std::chrono::ceil<clock::duration>(timeout));
    }
    /// `put(item, false)`: throws `queue_full` if there is no room.
    template <class U>
        requires std::is_constructible_v<T, U&&>
    void put_nowait(U&& item) {
        engine_.put(std::forward<U>(item), false, std::nullopt);
    }

    /// Removes and returns the next item, waiting for one if `block` (at most `timeout`; then
    /// `queue_empty`); without `block`, throws `queue_empty` at once if there is none.
    /// After `shutdown()`, drains what is left, then throws `queue_shut_down`.
    /// Example: `auto item = q.get(true, 1s);`
    T get(bool block = true, std::optional<clock::duration> timeout = std::nullopt) {
        return engine_.get(block, timeout);
    }
    /// `get(true, timeout)`. Example: `auto item = q.get(100ms);`
    template <class Rep, class Period>
    T get(std::chrono::duration<Rep, Period> timeout) {
        return engine_.get(true, std::chrono::ceil<clock::duration>(timeout));
    }
    /// `get(false)`: throws `queue_empty` if there is no item.
    T get_nowait() { return engine_.get(false, std::nullopt); }

    /// Marks one item taken with `get` as processed (for `join`).
    /// Throws `invalid_state_error` if called more often than items were put.
    /// Example: `auto job = q.get(); run(job); q.task_done();`
    void task_done() { engine_.task_done(); }
    /// Blocks until every item put was marked `task_done` (or dropped by an immediate shutdown).
    /// Example: `q.join();`
    void join() { engine_.join(); }

    /// Shuts the queue down (see the file comment); `immediate` also drops the items left.
    /// Wakes every blocked `put`, `get` and `join`. Example: `q.shutdown();`
    void shutdown(bool immediate = false) { engine_.shutdown(immediate); }

    /// The number of items (approximate under concurrency, like Python's).
    /// Example: `if (q.qsize() > 100) slow_down();`
    std::size_t qsize() const { return engine_.qsize(); }
    /// `qsize() == 0`. Example: `if (q.empty()) idle();`
    bool empty() const { return qsize() == 0; }
    /// True if bounded and at its limit. Example: `if (q.full()) drop(frame);`
    bool full() const { return engine_.full(); }
    /// The limit given at construction (0: unbounded). Example: `q.maxsize()`
    std::size_t maxsize() const noexcept { return engine_.maxsize(); }
    /// True once `shutdown()` was called. Example: `if (q.is_shut_down()) return;`
    bool is_shut_down() const { return engine_.is_shut_down(); }

private:
    Engine engine_;
};

/// weft::queue's engine: the lock-free rings when items move without throwing.
template <class T>
using fifo_engine = std::conditional_t<std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                                       mpmc_ring<T>, locked_queue<T, fifo_store<T>>>;

}  // namespace detail

/// A FIFO queue (Python's `queue.Queue`); see the file comment.
/// Example: `weft::queue<std::string> q{100}; q.put("a"); auto s = q.get();`
template <class T>
class queue : public detail::basic_queue<T, detail::fifo_engine<T>> {
public:
    using detail::basic_queue<T, detail::fifo_engine<T>>::basic_queue;
};

/// A LIFO queue: the last item put is the first got (Python's `queue.LifoQueue`).
/// Example: `weft::lifo_queue<int> s; s.put(1); s.put(2); assert(s.get() == 2);`
template <class T>
class lifo_queue : public detail::basic_queue<T, detail::locked_queue<T, detail::lifo_store<T>>> {
public:
    using detail::basic_queue<T, detail::locked_queue<T, detail::lifo_store<T>>>::basic_queue;
};

/// A priority queue: `get` returns the smallest item by `Compare` (Python's
/// `queue.PriorityQueue`; use `std::pair<int, Job>` for (priority, data) entries).
/// Example: `weft::priority_queue<int> p; p.put(3); p.put(1); assert(p.get() == 1);`
template <class T, class Compare = std::less<T>>
class priority_queue : public detail::basic_queue<T, detail::locked_queue<T, detail::priority_store<T, Compare>>> {
public:
    using detail::basic_queue<T, detail::locked_queue<T, detail::priority_store<T, Compare>>>::basic_queue;
};

}  // namespace weft
