#include "common/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace weft::detail {

spdlog::logger& log() {
    static std::shared_ptr<spdlog::logger> logger = [] {
        if (auto existing = spdlog::get("weft")) return existing;
        auto created = spdlog::stderr_color_mt("weft");
        return created;
    }();
    return *logger;
}

}  // namespace weft::detail
