#!/usr/bin/env python3
"""Crawler benchmark (issue 8): `weft crawl` against the tutorial's Python crawlers, a best-effort
Python asyncio crawler, and wget2 / curl --parallel / aria2c given the image URL list.

The site is `weft demo-site` on 127.0.0.1 (default 4 pages x 200 images x 64 KiB, 20 ms before
each page or image answer; robots.txt and the manifest are answered at once). Every run of every
contender goes into a fresh temporary directory, is bounded by --timeout (killed by pid on
expiry) and is verified afterwards: every image of the manifest saved under its basename,
SHA-256 equal to the manifest's. Per run: wall time, CPU seconds (user + sys of the child, from
os.wait4) and peak RSS (the child's ru_maxrss). Reported: medians over --runs.

Ideal time of the crawl = robots.txt (no latency on the demo site) + one page round trip (the
pages are fetched at once, each before its images) + ceil(images / j) waves of j image round
trips: (0 + 1 + ceil(800/32)) x 20 ms = 520 ms. Counting robots.txt as a full round trip gives
540 ms. The list downloaders skip both: their ideal is 25 x 20 ms = 500 ms.

usage: bench/crawl_bench.py [--weft PATH] [--runs 3] [-j 32] [--timeout 120] [--quick]
                            [--only NAME,...] [--markdown FILE]
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_WEFT = os.path.join(ROOT, "build", "h-crawlbench", "apps", "weft", "weft")
PYTHON = "/usr/bin/python3"  # Debian's, with python3-aiohttp, -aiofiles, -requests, -uvloop
TIME = "/usr/bin/time"  # GNU time (Debian package time): the peak RSS of each run


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def load1():
    return float(load().split()[0])


def wait_for_quiet(max_load, max_wait):
    """Waits (at most max_wait s) until the 1-minute load average is at most max_load."""
    deadline = time.monotonic() + max_wait
    while load1() > max_load and time.monotonic() < deadline:
        time.sleep(5)
    return load1()


def cpu_of(pid):
    """User + sys CPU seconds of a running process (the demo site), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DemoSite:
    """`weft demo-site` on an ephemeral loopback port, stopped by pid."""

    def __init__(self, weft, pages, per_page, image_bytes, latency):
        self.proc = subprocess.Popen(
            [weft, "demo-site", "--port", "0", "--pages", str(pages), "--per-page", str(per_page),
             "--image-bytes", str(image_bytes), "--latency", str(latency)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()  # "demo site: http://127.0.0.1:PORT/4kmeinv/  (...)"
        if "http://" not in line:
            self.stop()
            raise RuntimeError(f"demo-site did not start: {line!r}")
        self.url = line.split("http://", 1)[1].split("/", 1)[0]
        self.url = "http://" + self.url
        with urllib.request.urlopen(self.url + "/manifest.json", timeout=10) as r:
            self.manifest = json.load(r)
        self.pages = [self.url + ("/4kmeinv/index.html" if n == 1 else f"/4kmeinv/index_{n}.html")
                      for n in range(1, pages + 1)]

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def run_bounded(argv, timeout, log_path):
    """Runs argv under /usr/bin/time; returns (wall s, cpu s, peak RSS KiB, exit status or 'timeout').

    Peak RSS comes from GNU time's %M (the contender's own ru_maxrss): the ru_maxrss that
    os.wait4 reports for a child forked from this Python process starts at Python's own high-water
    mark, which exec does not reset. CPU seconds are user + sys of the child and its children
    (os.wait4); wall time is measured here.
    """
    rss_path = log_path + ".rss"
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen([TIME, "-f", "%M", "-o", rss_path, *argv], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        expired = threading.Event()

        def kill():  # the contender's own process group (it leads a new session)
            expired.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    try:
        with open(rss_path) as f:
            rss = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = 0
    rc = "timeout" if expired.is_set() else proc.returncode
    return wall, usage.ru_utime + usage.ru_stime, rss, rc


def verify(out_dir, images):
    """Number of manifest images saved byte-exact under their basename in out_dir."""
    good = 0
    for img in images:
        path = os.path.join(out_dir, img["path"].rsplit("/", 1)[-1])
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        if len(data) == img["size"] and hashlib.sha256(data).hexdigest() == img["sha256"]:
            good += 1
    return good


def contenders(a, site, list_file, curl_config):
    weft_pages = [site.url + "/4kmeinv/index.html"]
    if len(site.pages) > 1:
        weft_pages.append(site.url + f"/4kmeinv/index_[2-{len(site.pages)}].html")
    j = str(a.j)
    py = os.path.join(HERE, "peers")
    return {
        "weft crawl": lambda d: [a.weft, "crawl", *weft_pages, "-j", j, "--per-host", j,
                                 "--match", "/uploads/allimg/", "-o", d, "-q"],
        "python requests (tutorial)": lambda d: [PYTHON, os.path.join(py, "crawl_requests.py"), d, *site.pages],
        "python aiohttp (tutorial)": lambda d: [PYTHON, os.path.join(py, "crawl_aiohttp_tutorial.py"), "-j", j, d,
                                                *site.pages],
        "python asyncio best": lambda d: [PYTHON, os.path.join(py, "crawl_asyncio_best.py"), "-j", j, d,
                                          *site.pages],
        "wget2 (URL list)": lambda d: ["wget2", f"--max-threads={a.j}", "-i", list_file, "-P", d, "-q"],
        "curl --parallel (URL list)": lambda d: ["curl", "-s", "-Z", "--parallel-max", j, "--parallel-immediate",
                                                 "--remote-name-all", "--output-dir", d, "-K", curl_config],
        "aria2c (URL list)": lambda d: ["aria2c", "-j", j, "-x", "1", "-i", list_file, "-d", d, "-q",
                                        "--allow-overwrite=true", "--auto-file-renaming=false"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weft", default=DEFAULT_WEFT, help="the weft binary (a Release build)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("-j", type=int, default=32, help="concurrency of every contender")
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--per-page", type=int, default=200)
    ap.add_argument("--image-bytes", type=int, default=65536)
    ap.add_argument("--latency", type=int, default=20, help="ms before each page or image answer")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per contender run")
    ap.add_argument("--dir", default="/dev/shm" if os.access("/dev/shm", os.W_OK) else None,
                    help="where the runs write (default /dev/shm: tmpfs, so the file system's own cost and "
                         "noise stay out of the comparison)")
    ap.add_argument("--max-load", type=float, default=2.0,
                    help="before each round, wait (up to --load-wait s) for the 1-minute load average to fall to this")
    ap.add_argument("--load-wait", type=float, default=120)
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 pages x 32 images, 1 run, 5 ms")
    ap.add_argument("--only", help="comma-separated contender name prefixes")
    ap.add_argument("--markdown", help="also write the median table as Markdown to FILE")
    a = ap.parse_args()
    if a.quick:
        a.pages, a.per_page, a.runs, a.latency, a.timeout, a.load_wait = 2, 32, 1, 5, 30, 0
    if not os.access(a.weft, os.X_OK):
        sys.exit(f"crawl_bench: no weft binary at {a.weft!r} (build weft_cli in Release, or pass --weft)")

    print(f"load average before: {load()}", flush=True)
    site = DemoSite(a.weft, a.pages, a.per_page, a.image_bytes, a.latency)
    work = tempfile.mkdtemp(prefix="weft-crawl-bench-", dir=a.dir)
    results = {}
    loads = []
    try:
        images = site.manifest["images"]
        list_file = os.path.join(work, "urls.txt")
        with open(list_file, "w") as f:
            f.writelines(site.url + img["path"] + "\n" for img in images)
        curl_config = os.path.join(work, "curl.cfg")
        with open(curl_config, "w") as f:
            f.writelines(f'url = "{site.url}{img["path"]}"\n' for img in images)
        n = len(images)
        waves = math.ceil(n / a.j)
        ideal_crawl = (1 + waves) * a.latency / 1000
        ideal_list = waves * a.latency / 1000
        print(f"site {site.url}: {a.pages} pages x {a.per_page} images x {a.image_bytes} B, "
              f"{a.latency} ms latency; j = {a.j}; {a.runs} rounds; output under {work}", flush=True)
        print(f"ideal: crawl (robots 0 + 1 page + {waves} waves) x {a.latency} ms = {ideal_crawl * 1000:.0f} ms "
              f"({(2 + waves) * a.latency} ms counting robots.txt as a round trip); "
              f"URL list {waves} x {a.latency} ms = {ideal_list * 1000:.0f} ms", flush=True)
        chosen = contenders(a, site, list_file, curl_config)
        if a.only:
            keep = [p.strip() for p in a.only.split(",")]
            chosen = {k: v for k, v in chosen.items() if any(k.startswith(p) for p in keep)}
        # Rounds: each contender once per round, so that a change in the machine's load hits all alike.
        for r in range(a.runs):
            wait_for_quiet(a.max_load, a.load_wait)
            print(f"round {r + 1}: load average {load()}", flush=True)
            for k, (name, argv_for) in enumerate(chosen.items()):
                out = os.path.join(work, f"out-{k}-{r}")
                os.mkdir(out)
                log = os.path.join(work, f"log-{k}-{r}.txt")
                loads.append(load1())
                server_before = cpu_of(site.proc.pid)
                wall, cpu, rss, rc = run_bounded(argv_for(out), a.timeout, log)
                server = cpu_of(site.proc.pid) - server_before
                good = verify(out, images)
                results.setdefault(name, []).append((wall, cpu, rss, rc, good, server))
                print(f"  {name:28s} wall {wall:7.3f} s  cpu {cpu:6.3f} s  rss {rss / 1024:6.1f} MiB  "
                      f"server cpu {server:5.2f} s  exit {rc}  verified {good}/{n}", flush=True)
                if good != n:
                    with open(log, "rb") as f:
                        tail = f.read()[-600:].decode(errors="replace")
                    print(f"    log tail: {tail.strip()!r}", flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        site.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {load()}; 1-minute load at the runs' starts: "
          f"min {min(loads, default=0):.2f}, median {statistics.median(loads) if loads else 0:.2f}, "
          f"max {max(loads, default=0):.2f}", flush=True)

    rows = []
    for name, runs in results.items():
        rows.append({
            "name": name,
            "wall": statistics.median(x[0] for x in runs),
            "cpu": statistics.median(x[1] for x in runs),
            "rss": statistics.median(x[2] for x in runs) / 1024,
            "server": statistics.median(x[5] for x in runs),
            "ok": all(x[4] == n for x in runs),
            "verified": min(x[4] for x in runs),
            "ideal": ideal_list if "URL list" in name else ideal_crawl,
        })
    lines = ["| contender | wall s | × its ideal | CPU s | peak RSS MiB | server CPU s | verified |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        verdict = "all byte-exact" if row["ok"] else f"FAILED (worst run {row['verified']}/{n})"
        lines.append(f"| {row['name']} | {row['wall']:.3f} | {row['wall'] / row['ideal']:.2f}× | {row['cpu']:.3f} | "
                     f"{row['rss']:.1f} | {row['server']:.2f} | {verdict} |")
    by = {row["name"]: row for row in rows}
    weft = by.get("weft crawl")
    ratios = []
    if weft:
        pythons = [row for row in rows if row["name"].startswith("python") and row["ok"]]
        if pythons:
            best = min(pythons, key=lambda row: row["wall"])
            ratios.append(f"best Python crawler ({best['name']}) wall / weft wall = "
                          f"{best['wall'] / weft['wall']:.2f}× (target ≥ 3×)")
        if "wget2 (URL list)" in by:
            ratios.append(f"weft wall / wget2 wall = {weft['wall'] / by['wget2 (URL list)']['wall']:.2f} "
                          f"(target ≤ 1)")
        if "curl --parallel (URL list)" in by:
            ratios.append(f"weft CPU / curl CPU = {weft['cpu'] / by['curl --parallel (URL list)']['cpu']:.2f} "
                          f"(target ≤ 1)")
        ratios.append(f"weft wall / ideal = {weft['wall'] / ideal_crawl:.2f} (ideal {ideal_crawl * 1000:.0f} ms; "
                      f"{weft['wall'] / ((2 + waves) * a.latency / 1000):.2f} against "
                      f"{(2 + waves) * a.latency} ms; target ≤ 1.3)")
        if not weft["ok"]:
            ratios.append("weft FAILED verification: its ratios do not count")
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {r}" for r in ratios) + "\n"
    print()
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
