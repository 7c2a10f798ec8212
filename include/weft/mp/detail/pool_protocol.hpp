#pragma once
// Internal: the wire protocol between weft::process_pool_executor and its workers
// (see src/mp/pool_worker.cpp for the frame layouts).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace weft::mp::detail {

enum class result_kind : std::uint8_t { value = 0, error = 1 };
inline constexpr std::size_t result_header_size = 8 + 4 + 1;

/// The worker's loop on socket `sock`; returns after `max_tasks` calls (0: no limit), an exit
/// frame, or when the pool closes the socket.
int pool_worker_loop(int sock, std::uint64_t max_tasks);
/// The forkserver entry of a worker: payload = max_tasks (u64), fds = {socket}.
int pool_worker_entry(std::string_view payload, std::span<const int> fds);

}  // namespace weft::mp::detail
