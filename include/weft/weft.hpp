#pragma once
/// \file
/// The umbrella header: `#include <weft/weft.hpp>` brings in the whole library.
/// Each concept also has its own header; see docs/architecture.md for the map.

#include <weft/aio.hpp>
#include <weft/as_completed.hpp>
#include <weft/errors.hpp>
#include <weft/event_loop.hpp>
#include <weft/gather.hpp>
#include <weft/outcome.hpp>
#include <weft/return_when.hpp>
#include <weft/run.hpp>
#include <weft/shield.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/task_group.hpp>
#include <weft/task_handle.hpp>
#include <weft/timeout.hpp>
#include <weft/wait.hpp>
