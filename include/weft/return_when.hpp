#pragma once
/// \file
/// `weft::return_when`: when `weft::wait` returns, for tasks and for futures alike
/// (asyncio's / concurrent.futures' FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED).
///
/// Example: `auto [done, pending] = co_await weft::wait(tasks, weft::return_when::first_completed);`

namespace weft {

/// Which condition ends a `weft::wait`.
enum class return_when {
    first_completed,  ///< as soon as any one is done (or cancelled)
    first_exception,  ///< as soon as any one fails with an exception; else when all are done
    all_completed,    ///< when all are done
};

}  // namespace weft
