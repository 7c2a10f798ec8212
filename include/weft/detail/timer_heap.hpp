#pragma once
// Internal: the loop's timers, a binary min-heap of intrusive nodes on the monotonic clock.
//
// Cost: push, erase (by the index each node keeps) and pop are O(log n); top is O(1).
// Timers with equal deadlines fire in the order they were armed (a sequence number breaks
// ties). Nodes live wherever their owner put them (usually in a coroutine frame); the heap
// only stores pointers, and a node must be erased before it is destroyed.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft::detail {

using clock = std::chrono::steady_clock;

class timer_node {
public:
    static constexpr std::size_t not_armed = static_cast<std::size_t>(-1);

    clock::time_point deadline{};
    std::uint64_t sequence = 0;
    std::size_t heap_index = not_armed;

    bool armed() const noexcept { return heap_index != not_armed; }
    /// Called by the loop when the deadline has passed; the node is already out of the heap.
    virtual void fire() = 0;
    /// The loop closed with this timer still armed; it is already out of the heap.
    virtual void discard() noexcept {}

protected:
    ~timer_node() = default;
};

class timer_heap {
public:
    bool empty() const noexcept { return nodes_.empty(); }
    std::size_t size() const noexcept { return nodes_.size(); }
    timer_node* top() const noexcept { return nodes_.empty() ? nullptr : nodes_.front(); }

    void push(timer_node* node) {
        node->sequence = next_sequence_++;
        node->heap_index = nodes_.size();
        nodes_.push_back(node);
        sift_up(node->heap_index);
    }

    void erase(timer_node* node) noexcept {
        std::size_t i = node->heap_index;
        if (i == timer_node::not_armed) return;
        node->heap_index = timer_node::not_armed;
        timer_node* last = nodes_.back();
        nodes_.pop_back();
        if (last == node) return;
        nodes_[i] = last;
        last->heap_index = i;
        if (i > 0 && before(last, nodes_[(i - 1) / 2])) sift_up(i);
        else sift_down(i);
    }

    timer_node* pop() noexcept {
        timer_node* node = top();
        if (node) erase(node);
        return node;
    }

private:
    static bool before(const timer_node* a, const timer_node* b) noexcept {
        return a->deadline < b->deadline ||
               (a->deadline == b->deadline && a->sequence < b->sequence);
    }
    void place(std::size_t i, timer_node* node) noexcept {
        nodes_[i] = node;
        node->heap_index = i;
    }
    void sift_up(std::size_t i) noexcept {
        timer_node* node = nodes_[i];
        while (i > 0) {
            std::size_t parent = (i - 1) / 2;
            if (!before(node, nodes_[parent])) break;
            place(i, nodes_[parent]);
            i = parent;
        }
        place(i, node);
    }
    void sift_down(std::size_t i) noexcept {
        timer_node* node = nodes_[i];
        const std::size_t n = nodes_.size();
        for (;;) {
            std::size_t child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && before(nodes_[child + 1], nodes_[child])) ++child;
            if (!before(nodes_[child], node)) break;
            place(i, nodes_[child]);
            i = child;
        }
        place(i, node);
    }

    std::vector<timer_node*> nodes_;
    std::uint64_t next_sequence_ = 0;
};

}  // namespace weft::detail
