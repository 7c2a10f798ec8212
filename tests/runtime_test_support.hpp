#pragma once
// Test helpers shared by the runtime's test programs: a virtual-time loop setting, the loop's
// clock, and small tasks that return or fail after a delay.
#include <weft/event_loop.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>

#include <stdexcept>
#include <string>

namespace weft_test {

/// Loop settings for tests: time jumps to the next timer, so nothing sleeps for real.
inline constexpr weft::loop_options virtual_time{.virtual_time = true};

/// The running loop's clock.
inline weft::event_loop::time_point now() { return weft::event_loop::current()->time(); }
/// Loop time elapsed since `start`.
inline weft::event_loop::duration since(weft::event_loop::time_point start) { return now() - start; }

/// Returns `v` after `d`.
inline weft::task<int> value_after(int v, weft::event_loop::duration d) {
    co_await weft::sleep(d);
    co_return v;
}

/// Throws std::runtime_error(what) after `d`.
inline weft::task<int> fails_after(std::string what, weft::event_loop::duration d) {
    co_await weft::sleep(d);
    throw std::runtime_error(what);
}

}  // namespace weft_test
