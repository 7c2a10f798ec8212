#pragma once
// Internal: a doubly linked intrusive list. Nodes derive from list_hook; linking never
// allocates and unlinking a node is O(1). A node is in at most one list at a time.

namespace weft::detail {

class list_hook {
public:
    list_hook* prev_in_list = nullptr;
    list_hook* next_in_list = nullptr;
    bool linked() const noexcept { return prev_in_list != nullptr; }

protected:
    ~list_hook() = default;
};

template <class Node>
class intrusive_list {
public:
    intrusive_list() noexcept { head_.prev_in_list = head_.next_in_list = &head_; }
    intrusive_list(const intrusive_list&) = delete;
    intrusive_list& operator=(const intrusive_list&) = delete;

    bool empty() const noexcept { return head_.next_in_list == &head_; }

    void push_back(Node* node) noexcept {
        list_hook* n = node;
        n->prev_in_list = head_.prev_in_list;
        n->next_in_list = &head_;
        head_.prev_in_list->next_in_list = n;
        head_.prev_in_list = n;
    }

    static void unlink(Node* node) noexcept {
        list_hook* n = node;
        if (!n->linked()) return;
        n->prev_in_list->next_in_list = n->next_in_list;
        n->next_in_list->prev_in_list = n->prev_in_list;
        n->prev_in_list = n->next_in_list = nullptr;
    }

    Node* front() noexcept { return empty() ? nullptr : static_cast<Node*>(head_.next_in_list); }

    Node* pop_front() noexcept {
        Node* node = front();
        if (node) unlink(node);
        return node;
    }

    /// Calls fn(node) for each node; fn must not unlink nodes other than the one it is given.
    template <class Fn>
    void for_each(Fn&& fn) {
        for (list_hook* n = head_.next_in_list; n != &head_;) {
            list_hook* next = n->next_in_list;
            fn(static_cast<Node*>(n));
            n = next;
        }
    }

private:
    struct sentinel : list_hook {};
    sentinel head_;
};

}  // namespace weft::detail
