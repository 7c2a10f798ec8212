#pragma once
// Internal: the loop's FIFO of runnable items (tasks to resume, callbacks to call).
// Intrusive: an item is linked through its own `next_ready` field, so scheduling never
// allocates. An item is in at most one queue at a time.

#include <string>

namespace weft::detail {

class runnable {
public:
    runnable* next_ready = nullptr;
    virtual void run() = 0;
    /// The loop closed with this item still queued: release what it holds, do not run it.
    virtual void discard() noexcept = 0;
    /// For the debug-mode slow-step warning.
    virtual std::string describe() const { return "callback"; }

protected:
    ~runnable() = default;
};

class ready_queue {
public:
    bool empty() const noexcept { return head_ == nullptr; }

    void push(runnable* item) noexcept {
        item->next_ready = nullptr;
        if (tail_) tail_->next_ready = item;
        else head_ = item;
        tail_ = item;
    }

    runnable* pop() noexcept {
        runnable* item = head_;
        if (item) {
            head_ = item->next_ready;
            if (!head_) tail_ = nullptr;
            item->next_ready = nullptr;
        }
        return item;
    }

    /// Moves every queued item out, leaving this queue empty (one loop iteration's batch).
    ready_queue take_all() noexcept {
        ready_queue batch;
        batch.head_ = head_;
        batch.tail_ = tail_;
        head_ = tail_ = nullptr;
        return batch;
    }

private:
    runnable* head_ = nullptr;
    runnable* tail_ = nullptr;
};

}  // namespace weft::detail
