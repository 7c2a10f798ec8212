// The process-wide default executor behind weft::to_thread.

#include <weft/to_thread.hpp>

namespace weft {

thread_pool_executor& default_executor() {
    // A function-local static: created on first use, thread-safe; its destructor runs
    // shutdown(wait = true) when the program exits.
    static thread_pool_executor pool{thread_pool_executor::default_max_workers()};
    return pool;
}

}  // namespace weft
