#pragma once
// Internal: process-wide signal delivery settings (see signals.cpp).

#include <weft/event_loop.hpp>

namespace weft {
// Reads the signal self-pipe and dispatches each signal to the owning loop's handler.
class event_loop::signal_reader final : public detail::io_callback {
public:
    explicit signal_reader(event_loop& loop) : loop_(loop) {}
    void on_io_ready() override;

private:
    event_loop& loop_;
};
}  // namespace weft

namespace weft::detail {
/// While enabled, a second SIGINT exits the process at once with status 130, from inside the
/// handler, even if the loop is stuck. Enabling resets the count.
void exit_on_repeated_interrupt(bool enabled) noexcept;
}
