#!/usr/bin/python3
"""Python asyncio peer of bench/spawn_await.cpp: create_task + await of N trivial coroutines.

Prints one line per variant, e.g. "asyncio_spawn_await n=1000000 ns_per_task=812.3", measured
on CPU time (time.process_time_ns) like the C++ benchmarks, plus wall time for reference.

  asyncio_spawn_await     : for i in range(n): await asyncio.create_task(trivial(i))
  asyncio_spawn_all_await : tasks = [create_task(trivial(i)) ...]; then await each

Usage: /usr/bin/python3 bench/peers/asyncio_spawn.py [N]   (default N = 1000000)
"""

import asyncio
import sys
import time


async def trivial(i):
    return i


async def spawn_await(n):
    total = 0
    for i in range(n):
        total += await asyncio.create_task(trivial(i))
    return total


async def spawn_all_await(n):
    tasks = [asyncio.create_task(trivial(i)) for i in range(n)]
    total = 0
    for t in tasks:
        total += await t
    return total


def measure(name, main, n):
    cpu0, wall0 = time.process_time_ns(), time.perf_counter_ns()
    total = asyncio.run(main(n))
    cpu, wall = time.process_time_ns() - cpu0, time.perf_counter_ns() - wall0
    assert total == n * (n - 1) // 2
    print(f"{name} n={n} ns_per_task={cpu / n:.1f} wall_ns_per_task={wall / n:.1f}", flush=True)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    print(f"# {sys.executable} {sys.version.split()[0]}", flush=True)
    measure("asyncio_spawn_await", spawn_await, n)
    measure("asyncio_spawn_all_await", spawn_all_await, n)


if __name__ == "__main__":
    main()
