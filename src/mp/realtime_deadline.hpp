#pragma once
// Internal: pthread mutexes, semaphores and condition variables shared between processes time
// out on CLOCK_REALTIME; weft's deadlines are on the steady clock.

#include <weft/mp/detail/shared_memory.hpp>

#include <ctime>

namespace weft::mp::detail {
/// The CLOCK_REALTIME moment that is as far away as the steady `deadline` (now if it passed).
timespec realtime_deadline(clock::time_point deadline);
}
