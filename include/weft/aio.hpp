#pragma once
/// \file
/// asyncio's synchronization primitives for weft tasks, all in `weft::aio`: `lock`, `event`,
/// `condition`, `semaphore` / `bounded_semaphore`, and `queue` / `lifo_queue` /
/// `priority_queue`. They are loop-local (no OS blocking, no atomics): every wait suspends only
/// the task, and can be cancelled or timed out (`weft::timeout`, `weft::wait_for`).
///
/// Example:
/// \code
///   #include <weft/aio.hpp>
///   weft::aio::queue<int> q{8};
///   weft::aio::lock l;
///   auto item = co_await weft::wait_for(q.get(), 1s);
/// \endcode

#include <weft/aio/condition.hpp>
#include <weft/aio/event.hpp>
#include <weft/aio/lock.hpp>
#include <weft/aio/queue.hpp>
#include <weft/aio/semaphore.hpp>
