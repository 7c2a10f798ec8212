#!/usr/bin/env bash
# Networking benchmark (issue 5): the uppercase server under `weft load upper`, 64-byte
# messages, C = 1, 64, 1000 connections, each point the median of RUNS runs of SECONDS s.
# Servers, all on 127.0.0.1 in the same run: weft --mode async (1 loop), Asio C++20
# coroutines (1 thread), Python asyncio, asyncio + uvloop, and the tutorial's threaded Python
# server. Then the resident memory of each server holding 10k idle connections.
# The runs are interleaved: round r starts every server in turn (the order rotated each
# round) and runs every C against it, so a server is compared with Asio's run of the same
# round. This machine drifts between faster and slower spells lasting tens of seconds; five
# runs of one server in a row can land in one spell, and the next server's in another.
#
#   bench/net_upper.sh [BUILD_DIR]        (a Release build with weft_cli and asio_upper_server)
#   RUNS=3 SECONDS_PER_RUN=3 CONNECTIONS="1 64 1000" IDLE=10000 bench/net_upper.sh build/release
#   SERVERS="weft-async asio" ...                 (a subset of the servers, in that order)
#   PIN=1 ...        (server on CPU 0, load generator on CPU 1: less scheduler noise in the tail)
#
# Bounded: every load run has a timeout; every server is stopped with SIGTERM (then SIGKILL).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build/release}
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
CONNECTIONS=${CONNECTIONS:-"1 64 1000"}
IDLE=${IDLE:-10000}
SERVER_CPU= LOAD_CPU=
if [[ ${PIN:-0} == 1 ]]; then SERVER_CPU="taskset -c 0" LOAD_CPU="taskset -c 1"; fi
PY=/usr/bin/python3
WEFT=$BUILD/apps/weft/weft
ASIO=$BUILD/bench/asio_upper_server
for exe in "$WEFT" "$ASIO"; do
  [[ -x $exe ]] || { echo "net_upper.sh: missing $exe (cmake --build $BUILD --target weft_cli asio_upper_server)" >&2; exit 2; }
done
ulimit -n "$((IDLE + 1000))" 2>/dev/null || { echo "net_upper.sh: cannot raise the fd limit for $IDLE connections" >&2; exit 2; }

WORK=$(mktemp -d /tmp/net_upper.XXXXXX)  # raw results stay there
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

declare -A COMMANDS=(
  [weft-async]="$WEFT serve upper --mode async --port 0 --quiet"
  [asio]="$ASIO 0"
  [asyncio]="$PY $ROOT/bench/peers/upper_asyncio.py 0"
  [uvloop]="$PY $ROOT/bench/peers/upper_asyncio.py 0 --uvloop"
  [py-threads]="$PY $ROOT/bench/peers/upper_threads.py 0"
)
read -r -a ORDER <<< "${SERVERS:-weft-async asio asyncio uvloop py-threads}"

# start_server NAME: starts it, sets SERVER_PID and PORT.
start_server() {
  local log=$WORK/$1.log
  $SERVER_CPU ${COMMANDS[$1]} > "$log" 2>&1 &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 100); do
    PORT=$(grep -o 'Server started at 127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
    [[ -n $PORT ]] && return 0
    sleep 0.1
  done
  echo "net_upper.sh: $1 did not start: $(cat "$log")" >&2
  exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo "# date: $(date -u +%Y-%m-%dT%H:%MZ); runs: $RUNS x ${SECONDS_PER_RUN}s; 64-byte messages, pipeline 1; servers interleaved per round; pinned: ${PIN:-0}"
RESULTS=$WORK/results.jsonl
for run in $(seq "$RUNS"); do
  for k in "${!ORDER[@]}"; do
    name=${ORDER[$(((k + run) % ${#ORDER[@]}))]}
    start_server "$name"
    for c in $CONNECTIONS; do
      out=$(timeout $((SECONDS_PER_RUN + 60)) $LOAD_CPU "$WEFT" load upper --port "$PORT" -c "$c" -s 64 -d "$SECONDS_PER_RUN" --json) || true
      echo "{\"server\": \"$name\", \"c\": $c, \"run\": $run, \"result\": ${out:-null}}" >> "$RESULTS"
    done
    stop_server
  done
done

for name in "${ORDER[@]}"; do
  start_server "$name"
  # Resident memory with $IDLE idle connections (each did one round trip, then stays open).
  before=$(rss_kib "$SERVER_PID")
  $PY - "$PORT" "$IDLE" "$SERVER_PID" "$before" "$name" >> "$WORK/idle.txt" <<'PYEOF'
import socket, sys, time
port, n, pid, before, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
socks = []
try:
    for i in range(n):
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=30))
    for s in socks:
        s.sendall(b"hi")
    for s in socks:
        if s.recv(16) != b"HI":
            raise RuntimeError("wrong reply")
    time.sleep(1)
    after = int([l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:")][0].split()[1])
    print(f"{name} {n} {before} {after} {(after - before) * 1024 / n:.0f}")
except Exception as e:
    print(f"{name} {n} {before} failed({type(e).__name__}@{len(socks)}) -")
for s in socks:
    s.close()
PYEOF
  stop_server
done

$PY - "$RESULTS" "$WORK/idle.txt" "${ORDER[*]}" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
points = {}  # (server, c) -> results of the runs that completed cleanly
by_run = {}  # (server, c, run) -> result
for r in rows:
    if r["result"] and r["result"]["errors"] == 0 and r["result"]["mismatches"] == 0:
        points.setdefault((r["server"], r["c"]), []).append(r["result"])
        by_run[(r["server"], r["c"], r["run"])] = r["result"]
servers = [s for s in sys.argv[3].split() if any(r["server"] == s for r in rows)]  # those that ran
cs = sorted({r["c"] for r in rows})
def median(server, c, key):
    runs = points.get((server, c), [])
    return statistics.median(x[key] for x in runs) if runs else None
def paired(server, c, key):
    """The median over rounds of server/Asio in the same round, and in how many rounds the
    server did at least as well (more req/s, or a lower latency)."""
    runs = sorted({r for (s, cc, r) in by_run if s == server and cc == c and ("asio", c, r) in by_run})
    if not runs:
        return "-"
    ratios = [by_run[(server, c, r)][key] / by_run[("asio", c, r)][key] for r in runs]
    better = sum(x >= 1 for x in ratios) if key == "req_per_s" else sum(x <= 1 for x in ratios)
    return f"{statistics.median(ratios):.2f}x ({better}/{len(runs)})"
print("| server | C | req/s (median) | req/s vs Asio, paired | p50 us | p99 us | p99 vs Asio, paired | p99.9 us | runs ok |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in cs:
    for s in servers:
        rate = median(s, c, "req_per_s")
        if rate is None:
            print(f"| {s} | {c} | failed | | | | | | 0 |")
            continue
        print(f"| {s} | {c} | {rate:,.0f} | {paired(s, c, 'req_per_s')} | {median(s, c, 'p50_us'):.0f} "
              f"| {median(s, c, 'p99_us'):.0f} | {paired(s, c, 'p99_us')} | {median(s, c, 'p999_us'):.0f} | {len(points[(s, c)])} |")
print()
print("Paired: the median over rounds of the ratio to Asio's run in the same round; in brackets,")
print("the rounds in which the server did at least as well as Asio (req/s not lower, p99 not higher).")
print()
print("| server | idle connections | RSS before KiB | RSS after KiB | bytes per connection |")
print("|---|---:|---:|---:|---:|")
for line in open(sys.argv[2]):
    name, n, before, after, per = line.split()
    print(f"| {name} | {n} | {before} | {after} | {per} |")
PYEOF
echo "# raw results: $WORK"
