#!/usr/bin/env python3
"""Python's peer of bench/process_pool.cpp: 10k small tasks through ProcessPoolExecutor(2).

Prints the median of several runs (after one warm-up) of: submit 10k calls, wait for all.
Usage: python3 bench/peers/process_pool.py [runs]
"""
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def square(x):
    return x * x


def round_trip(pool, n=10000):
    t0 = time.perf_counter()
    futures = [pool.submit(square, i) for i in range(n)]
    total = sum(f.result() for f in futures)
    assert total == sum(i * i for i in range(n))
    return time.perf_counter() - t0


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with ProcessPoolExecutor(2) as pool:
        round_trip(pool)  # warm-up: workers started
        times = [round_trip(pool) for _ in range(runs)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        pool.submit(square, 3).result()
    start = time.perf_counter() - t0
    median = statistics.median(times)
    print(f"python {sys.version.split()[0]} ProcessPoolExecutor(2): 10k small tasks "
          f"median {median * 1000:.1f} ms over {runs} runs ({10000 / median:,.0f} tasks/s); "
          f"pool start + first task + shutdown {start * 1000:.1f} ms")


if __name__ == "__main__":
    main()
