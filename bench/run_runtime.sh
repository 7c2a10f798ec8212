#!/usr/bin/env bash
# Runs the runtime benchmarks of issue 2 and prints their medians, with the peers measured in
# the same run: weft vs Asio (bench_spawn_await), Python asyncio (bench/peers/asyncio_spawn.py),
# 100k sleeping tasks (bench_million_timers), ping-pong through aio::queue (bench_ping_pong).
#
# Usage: bench/run_runtime.sh [BUILD_DIR]
#   Without BUILD_DIR, configures and builds the `release` preset (build/release).
#   Every benchmark binary runs with --benchmark_repetitions=5 and the asyncio script 5 times
#   (N = 200000: a million tasks take asyncio ~10 s per run). Each step is bounded by
#   `timeout`, the whole script by about 5 minutes. Times are CPU times (see RESULTS.md).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
targets=(bench_spawn_await bench_million_timers bench_ping_pong)
if [[ $# -ge 1 ]]; then
  build=$(cd "$1" && pwd)
else
  (cd "$root" && cmake --preset release >/dev/null && cmake --build --preset release --target "${targets[@]}")
  build=$root/build/release
fi

python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3)
asyncio_n=200000
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

reps=(--benchmark_repetitions=5 --benchmark_report_aggregates_only=true)
for t in "${targets[@]}"; do
  echo "== $t"
  timeout 150 "$build/bench/$t" "${reps[@]}" --benchmark_out="$out/$t.json" --benchmark_out_format=json
done

echo "== asyncio ($python, N=$asyncio_n, 5 runs)"
for i in 1 2 3 4 5; do
  timeout 60 "$python" "$root/bench/peers/asyncio_spawn.py" "$asyncio_n" | tee -a "$out/asyncio.txt"
done

"$python" - "$out" <<'EOF'
import json, pathlib, re, statistics, sys

out = pathlib.Path(sys.argv[1])

def medians(name):
    data = json.loads((out / f"{name}.json").read_text())
    return {b["run_name"].split("/")[0]: b for b in data["benchmarks"] if b.get("aggregate_name") == "median"}

spawn = medians("bench_spawn_await")
ns = {k: v["per_task"] * 1e9 for k, v in spawn.items()}
runs = {}
for line in (out / "asyncio.txt").read_text().splitlines():
    m = re.match(r"(\S+) n=\d+ ns_per_task=([\d.]+)", line)
    if m:
        runs.setdefault(m[1], []).append(float(m[2]))
ns.update({k: statistics.median(v) for k, v in runs.items()})

print("\n== medians (CPU time)")
for k in ["weft_spawn_await", "weft_spawn_all_await", "asio_co_spawn_await", "asio_co_spawn_all_await",
          "asyncio_spawn_await", "asyncio_spawn_all_await"]:
    print(f"  {k:26s} {ns[k]:9.1f} ns/task")

timers = medians("bench_million_timers")["sleeping_tasks"]
print(f"  {'sleeping_tasks (100k)':26s} {timers['real_time']:9.1f} ms wall, "
      f"{timers['rss_per_task']:.0f} B RSS/task, {timers['heap_per_task']:.0f} B heap/task, "
      f"{timers['overshoot_ms']:.1f} ms beyond the longest sleep")
pp = medians("bench_ping_pong")["queue_ping_pong"]
print(f"  {'queue_ping_pong':26s} {pp['per_message'] * 1e9:9.1f} ns/message")

def verdict(ok):
    return "MET" if ok else "NOT MET"

r_asio = ns["weft_spawn_await"] / ns["asio_co_spawn_await"]
r_asio_all = ns["weft_spawn_all_await"] / ns["asio_co_spawn_all_await"]
r_py = ns["asyncio_spawn_await"] / ns["weft_spawn_await"]
r_py_all = ns["asyncio_spawn_all_await"] / ns["weft_spawn_all_await"]
print("\n== targets (issue 2)")
print(f"  weft/Asio ns per task: {r_asio:.2f}x (spawn+await), {r_asio_all:.2f}x (spawn all, then await)"
      f"  -- target <= 0.5x: {verdict(r_asio <= 0.5)}")
print(f"  asyncio/weft: {r_py:.1f}x faster (spawn+await), {r_py_all:.1f}x (spawn all, then await)"
      f"  -- target >= 50x: {verdict(r_py >= 50)}")
print(f"  RSS per sleeping task: {timers['rss_per_task']:.0f} B  -- target <= 400 B: "
      f"{verdict(timers['rss_per_task'] <= 400)}")
EOF
