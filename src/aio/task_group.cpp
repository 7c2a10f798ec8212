#include <weft/task_group.hpp>

#include "common/log.hpp"

namespace weft::detail {

void log_unjoined_errors(const std::vector<std::exception_ptr>& errors) noexcept {
    for (auto& e : errors) {
        log().error("task_group destroyed without join(): child exception was never retrieved: {}", describe(e));
    }
}

}  // namespace weft::detail
