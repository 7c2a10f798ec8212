#pragma once
// Internal: the library's spdlog logger, named "weft" (created on first use; an
// application may register its own logger under that name first to redirect it).

#include <spdlog/spdlog.h>

namespace weft::detail {
spdlog::logger& log();
}
