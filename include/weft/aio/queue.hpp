#pragma once
/// \file
/// `weft::aio::queue<T>`, `lifo_queue<T>` and `priority_queue<T, Compare>`: queues between the
/// tasks of one event loop (asyncio's `Queue`, `LifoQueue`, `PriorityQueue`).
///
/// `maxsize` bounds the queue (0: unbounded); `put` suspends while it is full, `get` while it
/// is empty. Waiting getters and putters are served in FIFO order: an item put while tasks wait
/// in `get` is handed straight to the longest-waiting one, and a slot freed while tasks wait in
/// `put` is taken at once by the longest-waiting putter. Every `put` counts one unfinished
/// task; `task_done()` marks one finished and `join()` waits until none is left. `shutdown()`
/// (Python 3.13) makes puts fail and, once the queue is drained, gets too.
///
/// Example:
/// \code
///   weft::aio::queue<std::string> urls{100};
///   weft::task<> worker() {
///       for (;;) {
///           std::string url = co_await urls.get();
///           co_await fetch(url);
///           urls.task_done();
///       }
///   }
/// \endcode

#include <weft/aio/detail/waiters.hpp>
#include <weft/errors.hpp>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace weft::aio {

namespace detail {

// The three orders, each a container with push / pop / push_front (undo of a pop).
template <class T>
class fifo_store {
public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) { items_.push_back(std::move(item)); }
    void push_front(T&& item) { items_.push_front(std::move(item)); }
    T pop() {
        T item = std::move(items_.front());
        items_.pop_front();
        return item;
    }
    void clear() noexcept { items_.clear(); }

private:
    std::deque<T> items_;
};

template <class T>
class lifo_store {
public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) { items_.push_back(std::move(item)); }
    void push_front(T&& item) { items_.push_back(std::move(item)); }  // the next to come out
    T pop() {
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    void clear() noexcept { items_.clear(); }

private:
    std::vector<T> items_;
};

template <class T, class Compare>
class heap_store {
public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) {
        items_.push_back(std::move(item));
        std::push_heap(items_.begin(), items_.end(), later());
    }
    void push_front(T&& item) { push(std::move(item)); }
    T pop() {
        std::pop_heap(items_.begin(), items_.end(), later());
        T item = std::move(items_.back());
        items_.pop_back();
        return item;
    }
    void clear() noexcept { items_.clear(); }

private:
    // std's heap functions keep the greatest on top; Python's heapq keeps the smallest.
    auto later() const {
        return [this](const T& a, const T& b) { return compare_(b, a); };
    }
    std::vector<T> items_;
    [[no_unique_address]] Compare compare_{};
};

template <class T, class Store>
class basic_queue;

// `co_await q.get()`: takes an item, or waits to be handed one.
template <class T, class Store>
class get_awaiter final : public weft::detail::suspension, public weft::detail::list_hook {
public:
    using list = weft::detail::intrusive_list<get_awaiter>;

    explicit get_awaiter(basic_queue<T, Store>& q) noexcept : queue_(&q) {}
    get_awaiter(get_awaiter&& other) noexcept : queue_(other.queue_) {}
    get_awaiter& operator=(get_awaiter&&) = delete;
    ~get_awaiter() {
        list::unlink(this);
        // Handed an item, but the frame was destroyed before it resumed: give the item back.
        if (item_) queue_->give_back(std::move(*item_));
    }

    get_awaiter operator co_await() && noexcept { return std::move(*this); }

    bool await_ready() {
        if (queue_->items_.size() > 0) {
            item_.emplace(queue_->take());
            return true;
        }
        return queue_->shut_down_;
    }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;
        queue_->getters_.push_back(this);
        return true;
    }
    T await_resume() {
        if (item_) {
            T item = std::move(*item_);
            item_.reset();
            return item;
        }
        throw_if_interrupted();
        throw queue_shut_down();
    }

    void interrupt(weft::detail::interruption why) override {
        interrupted = why;
        list::unlink(this);
        resume_owner();
    }

    // The queue hands this waiter an item (or, with none, wakes it to see the shutdown).
    void deliver(std::optional<T>&& item) noexcept {
        item_ = std::move(item);
        resume_owner();
    }

private:
    basic_queue<T, Store>* queue_;
    std::optional<T> item_;
};

// `co_await q.put(x)`: stores the item, or waits for a free slot.
template <class T, class Store>
class put_awaiter final : public weft::detail::suspension, public weft::detail::list_hook {
public:
    using list = weft::detail::intrusive_list<put_awaiter>;

    put_awaiter(basic_queue<T, Store>& q, T&& item) : queue_(&q), item_(std::move(item)) {}
    put_awaiter(put_awaiter&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : queue_(other.queue_), item_(std::move(other.item_)) {}
    put_awaiter& operator=(put_awaiter&&) = delete;
    ~put_awaiter() { list::unlink(this); }

    put_awaiter operator co_await() && noexcept(std::is_nothrow_move_constructible_v<T>) { return std::move(*this); }

    bool await_ready() {
        if (queue_->shut_down_) return true;
        if (queue_->full()) return false;
        queue_->push(std::move(item_));
        stored_ = true;
        return true;
    }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!suspend_owner(h)) return false;
        queue_->putters_.push_back(this);
        return true;
    }
    void await_resume() const {
        if (stored_) return;
        throw_if_interrupted();
        throw queue_shut_down();
    }

    void interrupt(weft::detail::interruption why) override {
        interrupted = why;
        list::unlink(this);
        resume_owner();
    }

    // A slot is free (the queue just took an item out): store the item and resume.
    void accept() {
        queue_->push(std::move(item_));
        stored_ = true;
        resume_owner();
    }
    // The queue was shut down: resume to throw.
    void reject() noexcept { resume_owner(); }

private:
    basic_queue<T, Store>* queue_;
    T item_;
    bool stored_ = false;
};

/// The queue behind `queue`, `lifo_queue` and `priority_queue`; `Store` sets the order.
template <class T, class Store>
class basic_queue {
public:
    using value_type = T;

    /// A queue holding at most `maxsize` items (0: unbounded).
    /// Example: `weft::aio::queue<int> q{16};`
    explicit basic_queue(std::size_t maxsize = 0) noexcept : maxsize_(maxsize) {}
    basic_queue(const basic_queue&) = delete;
    basic_queue& operator=(const basic_queue&) = delete;
    ~basic_queue() = default;

    /// The number of items in the queue (items already handed to a waiting getter are not in it).
    /// Example: `std::printf("%zu queued\n", q.qsize());`
    std::size_t qsize() const noexcept { return items_.size(); }
    /// The bound given at construction (0: unbounded).
    /// Example: `assert(weft::aio::queue<int>{8}.maxsize() == 8);`
    std::size_t maxsize() const noexcept { return maxsize_; }
    /// True if the queue holds no item (`get_nowait` would throw).
    /// Example: `while (!q.empty()) drop(q.get_nowait());`
    bool empty() const noexcept { return items_.size() == 0; }
    /// True if the queue is bounded and holds `maxsize` items (`put_nowait` would throw).
    /// Example: `if (!q.full()) q.put_nowait(x);`
    bool full() const noexcept { return maxsize_ > 0 && items_.size() >= maxsize_; }
    /// True once `shutdown()` was called.
    /// Example: `if (!q.is_shut_down()) co_await q.put(x);`
    bool is_shut_down() const noexcept { return shut_down_; }

    /// Awaitable: puts `item`, suspending while the queue is full.
    ///
    /// *Throws:* `queue_shut_down` if the queue is (or, while waiting, gets) shut down;
    /// `cancelled_error` / `timeout_error` when cancelled or timed out while waiting, in which
    /// case the item was not put (and is destroyed with the awaitable).
    /// *Cancellation:* the putter leaves the queue at once; a putter whose item was already
    /// stored completes normally and sees the cancellation at its next suspension.
    /// *Thread-safety:* loop-local.
    /// Example: `co_await q.put(std::move(job));`
    [[nodiscard]] put_awaiter<T, Store> put(T item) { return put_awaiter<T, Store>(*this, std::move(item)); }

    /// Awaitable: removes and returns the next item, suspending while the queue is empty.
    ///
    /// *Throws:* `queue_shut_down` if the queue is shut down and empty; `cancelled_error` /
    /// `timeout_error` when cancelled or timed out while waiting (then no item was taken).
    /// *Cancellation:* the getter leaves the queue at once. A getter already handed an item
    /// keeps it — the item is never lost — and sees the cancellation at its next suspension.
    /// *Thread-safety:* loop-local.
    /// Example: `auto job = co_await weft::wait_for(q.get(), 5s);`
    [[nodiscard]] get_awaiter<T, Store> get() noexcept { return get_awaiter<T, Store>(*this); }

    /// Puts `item` without waiting.
    ///
    /// *Throws:* `queue_shut_down` after `shutdown()`; `queue_full` if the queue is full (the
    /// item is then left untouched in the caller's variable when passed with std::move).
    /// *Cancellation:* never suspends. *Thread-safety:* loop-local.
    /// Example: `try { q.put_nowait(x); } catch (const weft::queue_full&) { drop(x); }`
    void put_nowait(T&& item) {
        if (shut_down_) throw queue_shut_down();
        if (full()) throw queue_full();
        push(std::move(item));
    }
    /// Puts a copy of `item` without waiting (see the overload above).
    /// Example: `q.put_nowait(42);`
    void put_nowait(const T& item) {
        if (shut_down_) throw queue_shut_down();
        if (full()) throw queue_full();
        push(T(item));
    }

    /// Removes and returns the next item without waiting.
    ///
    /// *Throws:* `queue_empty` if the queue is empty; `queue_shut_down` if it is empty and shut down.
    /// *Cancellation:* never suspends. *Thread-safety:* loop-local.
    /// Example: `while (!q.empty()) handle(q.get_nowait());`
    T get_nowait() {
        if (items_.size() == 0) {
            if (shut_down_) throw queue_shut_down();
            throw queue_empty();
        }
        return take();
    }

    /// Marks one item obtained from the queue as processed (for `join()`).
    ///
    /// *Throws:* `invalid_state_error` if called more times than items were put (asyncio's ValueError).
    /// *Cancellation:* never suspends. *Thread-safety:* loop-local.
    /// Example: `auto job = co_await q.get(); run(job); q.task_done();`
    void task_done() {
        if (unfinished_ == 0) throw invalid_state_error("aio queue: task_done() called too many times");
        if (--unfinished_ == 0) finish_all();
    }

    /// Awaitable: suspends until every item put has been marked with `task_done()`.
    ///
    /// *Throws:* `cancelled_error` / `timeout_error` when cancelled or timed out while waiting.
    /// *Cancellation:* the waiter is removed at once; the queue is unchanged.
    /// *Thread-safety:* loop-local.
    /// Example: `for (auto& u : urls) q.put_nowait(u); co_await q.join();`
    [[nodiscard]] wake_waiter join() noexcept { return wake_waiter(joiners_, finished_); }

    /// Shuts the queue down (Python 3.13): every later `put` / `put_nowait` throws
    /// `queue_shut_down`, and so do `get` / `get_nowait` once the queue is empty. Tasks waiting
    /// in `put` or `get` are woken and throw `queue_shut_down`. With `immediate`, the queued
    /// items are dropped too (each counts as done for `join()`, which may then return).
    ///
    /// *Throws:* nothing. *Cancellation:* never suspends. *Thread-safety:* loop-local.
    /// Example: `co_await q.join(); q.shutdown();  // workers' get() now throws and they end`
    void shutdown(bool immediate = false) noexcept {
        shut_down_ = true;
        if (immediate) {
            std::size_t dropped = items_.size();
            items_.clear();
            unfinished_ -= std::min(unfinished_, dropped);
            if (unfinished_ == 0) finish_all();
        }
        while (auto* g = getters_.pop_front()) g->deliver(std::nullopt);
        while (auto* p = putters_.pop_front()) p->reject();
    }

private:
    friend class get_awaiter<T, Store>;
    friend class put_awaiter<T, Store>;

    // A new item: to the longest-waiting getter if any, else into the queue.
    void push(T&& item) {
        if (auto* g = getters_.front()) {
            std::optional<T> handed(std::move(item));
            getters_.pop_front();
            g->deliver(std::move(handed));
        } else {
            items_.push(std::move(item));
        }
        ++unfinished_;
        finished_ = false;
    }
    // Takes the next item; the freed slot goes to the longest-waiting putter.
    T take() {
        T item = items_.pop();
        if (auto* p = putters_.pop_front()) p->accept();
        return item;
    }
    // An item handed to a getter that never ran: it goes back to the head of the queue.
    void give_back(T&& item) noexcept {
        try {
            if (auto* g = getters_.pop_front()) g->deliver(std::optional<T>(std::move(item)));
            else items_.push_front(std::move(item));
        } catch (...) {
            // Out of memory while undoing: the item cannot be kept.
            if (unfinished_ > 0 && --unfinished_ == 0) finish_all();
        }
    }
    void finish_all() noexcept {
        finished_ = true;
        wake_waiter::wake_all(joiners_);
    }

    Store items_;
    std::size_t maxsize_;
    std::size_t unfinished_ = 0;
    bool finished_ = true;
    bool shut_down_ = false;
    typename get_awaiter<T, Store>::list getters_;
    typename put_awaiter<T, Store>::list putters_;
    wake_waiter::list joiners_;
};

}  // namespace detail

/// A FIFO queue between tasks of one loop (asyncio's `Queue`); see the file comment.
/// `T` may be move-only. Neither copyable nor movable.
///
/// *Thread-safety:* loop-local; from another thread use `loop.call_soon_threadsafe`.
/// Example: `weft::aio::queue<int> q{10}; co_await q.put(1); int x = co_await q.get();`
template <class T>
class queue : public detail::basic_queue<T, detail::fifo_store<T>> {
public:
    /// A queue holding at most `maxsize` items (0: unbounded). Example: `weft::aio::queue<int> q;`
    explicit queue(std::size_t maxsize = 0) noexcept : detail::basic_queue<T, detail::fifo_store<T>>(maxsize) {}
};

/// A LIFO queue (asyncio's `LifoQueue`): `get` returns the most recently put item.
///
/// *Thread-safety:* loop-local.
/// Example: `weft::aio::lifo_queue<int> s; s.put_nowait(1); s.put_nowait(2); assert(s.get_nowait() == 2);`
template <class T>
class lifo_queue : public detail::basic_queue<T, detail::lifo_store<T>> {
public:
    /// A stack holding at most `maxsize` items (0: unbounded). Example: `weft::aio::lifo_queue<int> s{4};`
    explicit lifo_queue(std::size_t maxsize = 0) noexcept : detail::basic_queue<T, detail::lifo_store<T>>(maxsize) {}
};

/// A priority queue (asyncio's `PriorityQueue`): `get` returns the *smallest* item under
/// `Compare` first, like Python's heapq — the opposite of `std::priority_queue`. Put
/// `std::pair{priority, data}` to get lower priority numbers first. Items that compare
/// equal come out in no particular order.
///
/// *Thread-safety:* loop-local.
/// Example: `weft::aio::priority_queue<std::pair<int, std::string>> q; q.put_nowait({2, "b"}); q.put_nowait({1, "a"}); // get: {1, "a"}`
template <class T, class Compare = std::less<T>>
class priority_queue : public detail::basic_queue<T, detail::heap_store<T, Compare>> {
public:
    /// A priority queue holding at most `maxsize` items (0: unbounded).
    /// Example: `weft::aio::priority_queue<int, std::greater<int>> largest_first;`
    explicit priority_queue(std::size_t maxsize = 0) noexcept
        : detail::basic_queue<T, detail::heap_store<T, Compare>>(maxsize) {}
};

}  // namespace weft::aio
