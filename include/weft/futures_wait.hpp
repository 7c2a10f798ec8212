#pragma once
/// \file
/// Blocking `weft::wait` and `weft::as_completed` over futures (Python's
/// `concurrent.futures.wait` and `as_completed`). The coroutine versions for tasks live in
/// `<weft/wait.hpp>` and `<weft/as_completed.hpp>`; these overloads only take ranges of
/// `weft::future<T>`.
///
/// Example:
/// \code
///   std::vector<weft::future<int>> fs;
///   for (int i = 0; i < 8; ++i) fs.push_back(pool.submit(work, i));
///   auto [done, not_done] = weft::wait(fs, 1s, weft::return_when::first_exception);
///   for (auto f : weft::as_completed(fs)) std::printf("%d\n", f.result());
/// \endcode
///
/// *Throws:* `as_completed` throws `weft::timeout_error` when the timeout passes before every
/// future is done; `wait` never throws on timeout (it returns what is done).
/// *Cancellation:* blocking, thread-level calls; from a coroutine `co_await` the futures.
/// *Thread-safety:* callable from any thread; on a pool worker they run queued jobs meanwhile.

#include <weft/errors.hpp>
#include <weft/future.hpp>
#include <weft/return_when.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft {

namespace detail {

/// A range whose elements are `weft::future<T>`.
template <class R>
concept future_range =
    std::ranges::input_range<R> && is_future<std::remove_cvref_t<std::ranges::range_value_t<R>>>::value;

template <class R>
using future_range_value = typename std::remove_cvref_t<std::ranges::range_value_t<R>>::value_type;

/// Blocks on `cv` until `done()` or `deadline`; a pool worker runs queued jobs meanwhile.
template <class Done>
bool block_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Done done,
                 const std::optional<std::chrono::steady_clock::time_point>& deadline) {
    using namespace std::chrono_literals;
    while (!done()) {
        auto now = std::chrono::steady_clock::now();
        if (deadline && now >= *deadline) return false;
        if (work_helper* helper = current_work_helper) {
            lock.unlock();
            bool helped = helper->help_one();
            lock.lock();
            if (helped) continue;
            auto until = now + 1ms;
            cv.wait_until(lock, deadline && *deadline < until ? *deadline : until);
        } else if (deadline) {
            cv.wait_until(lock, *deadline);
        } else {
            cv.wait(lock);
        }
    }
    return true;
}

inline std::optional<std::chrono::steady_clock::time_point> deadline_from(
    std::optional<std::chrono::steady_clock::duration> timeout) {
    if (!timeout) return std::nullopt;
    return std::chrono::steady_clock::now() + *timeout;
}

template <class T>
bool failed_with_exception(const future<T>& f) {
    return f.status() == future_status::finished && f.exception() != nullptr;
}

}  // namespace detail

/// What `weft::wait` returns: the futures that are done and those that are not, each in
/// input order (Python's `DoneAndNotDoneFutures`).
template <class T>
struct future_wait_result {
    std::vector<future<T>> done;
    std::vector<future<T>> not_done;
};

/// Blocks until `when` is satisfied or `timeout` passes, then splits `futures` into done and
/// not done. `first_exception` ends at the first future that failed with an exception (else
/// when all are done). Example: `auto r = weft::wait(fs, 500ms); retry(r.not_done);`
template <detail::future_range Range>
future_wait_result<detail::future_range_value<Range>> wait(
    Range&& futures, std::optional<std::chrono::steady_clock::duration> timeout,
    return_when when = return_when::all_completed) {
    using T = detail::future_range_value<Range>;
    struct signal {
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t completed = 0;
        bool failed = false;
    };
    auto deadline = detail::deadline_from(timeout);
    std::vector<future<T>> all(std::ranges::begin(futures), std::ranges::end(futures));
    auto sig = std::make_shared<signal>();
    for (auto& f : all) {
        f.add_done_callback([sig](future<T> g) {
            bool failed = detail::failed_with_exception(g);
            std::lock_guard lock(sig->mutex);
            ++sig->completed;
            sig->failed = sig->failed || failed;
            sig->cv.notify_all();
        });
    }
    {
        std::unique_lock lock(sig->mutex);
        detail::block_until(
            lock, sig->cv,
            [&] {
                switch (when) {
                    case return_when::first_completed: return sig->completed > 0 || all.empty();
                    case return_when::first_exception: return sig->failed || sig->completed == all.size();
                    case return_when::all_completed: break;
                }
                return sig->completed == all.size();
            },
            deadline);
    }
    future_wait_result<T> result;
    for (auto& f : all) (f.done() ? result.done : result.not_done).push_back(std::move(f));
    return result;
}

/// `wait(futures, no timeout, when)`. Example: `auto [done, pending] = weft::wait(fs);`
template <detail::future_range Range>
future_wait_result<detail::future_range_value<Range>> wait(Range&& futures,
                                                           return_when when = return_when::all_completed) {
    return weft::wait(std::forward<Range>(futures), std::nullopt, when);
}

/// The range `weft::as_completed` returns: iterating yields each future as it completes
/// (those already done first); each step blocks. Not copyable.
template <class T>
class as_completed_range {
public:
    as_completed_range(std::vector<future<T>> futures, std::optional<std::chrono::steady_clock::time_point> deadline)
        : shared_(std::make_shared<shared>()), total_(futures.size()), deadline_(deadline) {
        for (auto& f : futures) {
            f.add_done_callback([s = shared_](future<T> g) {
                std::lock_guard lock(s->mutex);
                s->finished.push_back(std::move(g));
                s->cv.notify_all();
            });
        }
    }
    as_completed_range(const as_completed_range&) = delete;
    as_completed_range& operator=(const as_completed_range&) = delete;

    class iterator {
    public:
        using value_type = future<T>;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(as_completed_range* r) : r_(r) {}
        const future<T>& operator*() const { return r_->current_; }
        iterator& operator++() {
            r_->advance();
            return *this;
        }
        void operator++(int) { ++*this; }
        bool at_end() const { return !r_->current_.valid(); }
        friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.at_end(); }

    private:
        as_completed_range* r_ = nullptr;
    };

    /// Blocks for the first completion. Throws `timeout_error` if the deadline passes first.
    iterator begin() {
        advance();
        return iterator(this);
    }
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    struct shared {
        std::mutex mutex;
        std::condition_variable cv;
        std::deque<future<T>> finished;
    };

    void advance() {
        current_ = future<T>{};
        if (yielded_ == total_) return;
        std::unique_lock lock(shared_->mutex);
        if (!detail::block_until(lock, shared_->cv, [&] { return !shared_->finished.empty(); }, deadline_)) {
            throw timeout_error(std::to_string(total_ - yielded_) + " (of " + std::to_string(total_) +
                                ") futures unfinished");
        }
        current_ = std::move(shared_->finished.front());
        shared_->finished.pop_front();
        ++yielded_;
    }

    std::shared_ptr<shared> shared_;
    std::size_t total_;
    std::size_t yielded_ = 0;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    future<T> current_;
};

/// Yields the futures of `futures` as they complete (Python's `as_completed`); the whole
/// iteration must end within `timeout`, else the step that passes it throws `timeout_error`.
/// Example: `for (const auto& f : weft::as_completed(fs, 10s)) print(f.result());`
template <detail::future_range Range>
as_completed_range<detail::future_range_value<Range>> as_completed(
    Range&& futures, std::optional<std::chrono::steady_clock::duration> timeout = std::nullopt) {
    using T = detail::future_range_value<Range>;
    return as_completed_range<T>(std::vector<future<T>>(std::ranges::begin(futures), std::ranges::end(futures)),
                                 detail::deadline_from(timeout));
}

}  // namespace weft
