#pragma once
// Internal: what the combinators accept — a task<T> (spawned on the running loop) or a
// task_handle<T> (already spawned) — and how they turn it into a handle.

#include <weft/task.hpp>
#include <weft/task_handle.hpp>

#include <type_traits>
#include <variant>
#include <vector>

namespace weft::detail {

template <class X>
struct spawnable_traits;
template <class T>
struct spawnable_traits<task<T>> {
    using result_type = T;
};
template <class T>
struct spawnable_traits<task_handle<T>> {
    using result_type = T;
};

/// A task<T> or a task_handle<T>.
template <class X>
concept spawnable = requires { typename spawnable_traits<std::remove_cvref_t<X>>::result_type; };

template <class X>
using spawned_result_t = typename spawnable_traits<std::remove_cvref_t<X>>::result_type;

/// void becomes std::monostate, so results fit in tuples and vectors.
template <class T>
using value_or_monostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
task_handle<T> to_handle(task<T>&& t) {
    return create_task(std::move(t));
}
template <class T>
task_handle<T> to_handle(const task_handle<T>& h) {
    return h;
}

/// Spawns (or just takes) every element, in order.
template <class X>
std::vector<task_handle<spawned_result_t<X>>> to_handles(std::vector<X> awaitables) {
    std::vector<task_handle<spawned_result_t<X>>> handles;
    handles.reserve(awaitables.size());
    for (auto& a : awaitables) handles.push_back(to_handle(std::move(a)));
    return handles;
}

/// The task states behind `handles`, in order (what children_waiter waits on).
template <class T>
std::vector<task_state_base*> states_of(const std::vector<task_handle<T>>& handles) {
    std::vector<task_state_base*> states;
    states.reserve(handles.size());
    for (auto& h : handles) states.push_back(h.state_ptr());
    return states;
}

/// The result of a finished handle, void mapped to monostate; rethrows its failure.
/// `Owned`: the caller spawned the task itself and holds its only handle, so the value is
/// moved out (move-only results work); otherwise it is copied, for the other handles.
template <bool Owned = false, class T>
value_or_monostate<T> take_result(const task_handle<T>& h) {
    if constexpr (std::is_void_v<T>) {
        h.result();
        return {};
    } else if constexpr (Owned) {
        h.typed().rethrow_if_failed();
        return std::move(std::get<1>(h.typed().promise().outcome));
    } else {
        return h.result();
    }
}

/// Whether a combinator argument is a task it spawns itself (and so owns the result of).
template <class X>
inline constexpr bool owns_result_v = !std::is_copy_constructible_v<std::remove_cvref_t<X>>;

}  // namespace weft::detail
