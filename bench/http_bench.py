#!/usr/bin/env python3
"""HTTP benchmark (issue 6): 10k GETs of a 16 KiB file at concurrency 64 on loopback.

Clients: weft client_session (bench_http_load), Python aiohttp (Debian's /usr/bin/python3), `curl --parallel`.
Servers: weft http::server (static_files) and nginx (Debian, own config in a temp dir).
Reports req/s and client CPU seconds (median of RUNS runs), and each server's CPU seconds.
req/s counts the request phase only: weft and the aiohttp script time it themselves and print
`seconds=S` (Python's start-up and `import aiohttp` take 0.15-0.8 s here, which is not HTTP work);
curl has no such report, so its wall time is used (its start-up is ~8 ms). CPU seconds are the
whole process's, start-up included.

usage: bench/http_bench.py BUILD_DIR [--runs 3] [--requests 10000] [--concurrency 64]
"""
import argparse, os, re, shutil, socket, statistics, subprocess, sys, tempfile, time

AIOHTTP = r'''
import asyncio, sys, time, aiohttp
async def main(url, n, c):
    left = [n]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as s:
        async def worker():
            while left[0] > 0:
                left[0] -= 1
                async with s.get(url) as r:
                    await r.read()
                    assert r.status == 200
        await asyncio.gather(*(worker() for _ in range(c)))
start = time.perf_counter()
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
print(f"seconds={time.perf_counter() - start:.3f}")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def tree_cpu(pids):
    return sum(proc_cpu(p) for p in pids)


def timed(cmd):
    """Runs cmd; returns (seconds of its request phase, CPU seconds of the process)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{cmd[0]} failed: {p.stderr.read().decode()[-500:]}")
        out.seek(0)
        said = re.search(rb"seconds=([0-9.]+)", out.read())
    return (float(said.group(1)) if said else wall), usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=64)
    a = ap.parse_args()
    load = os.path.join(a.build, "bench", "bench_http_load")
    tmp = tempfile.mkdtemp(prefix="weft_http_bench_")
    procs = []
    try:
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        with open(os.path.join(www, "16k.bin"), "wb") as f:
            f.write(os.urandom(16 * 1024))
        nginx_port = free_port()
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; master_process off; worker_processes 1; pid {tmp}/nginx.pid;
error_log {tmp}/error.log; events {{ worker_connections 1024; }}
http {{ access_log off; sendfile on; keepalive_requests 100000;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{nginx_port}; root {www}; }} }}
""")
        nginx = subprocess.Popen(["nginx", "-c", conf, "-p", tmp], stderr=subprocess.DEVNULL)
        procs.append(nginx)
        weft_srv = subprocess.Popen([load, "server", www], stdout=subprocess.PIPE, text=True)
        procs.append(weft_srv)
        weft_port = int(weft_srv.stdout.readline())
        wait_port(nginx_port)
        wait_port(weft_port)
        servers = {"weft": (weft_port, weft_srv.pid), "nginx": (nginx_port, nginx.pid)}

        urls_file = os.path.join(tmp, "curl.cfg")
        results = []
        for server, (port, pid) in servers.items():
            url = f"http://127.0.0.1:{port}/16k.bin"
            with open(urls_file, "w") as f:
                for _ in range(a.requests):
                    f.write(f'url = "{url}"\noutput = "/dev/null"\n')
            clients = {
                "weft client_session": [load, "client", url, str(a.requests), str(a.concurrency)],
                "python aiohttp": ["/usr/bin/python3", "-c", AIOHTTP, url, str(a.requests), str(a.concurrency)],
                "curl --parallel": ["curl", "-s", "--parallel", "--parallel-immediate", "--parallel-max",
                                    str(a.concurrency), "-K", urls_file],
            }
            for client, cmd in clients.items():
                walls, cpus, server_cpus = [], [], []
                for _ in range(a.runs):
                    before = tree_cpu([pid])
                    wall, cpu = timed(cmd)
                    server_cpus.append(tree_cpu([pid]) - before)
                    walls.append(wall)
                    cpus.append(cpu)
                wall = statistics.median(walls)
                results.append((server, client, a.requests / wall, statistics.median(cpus),
                                statistics.median(cpus) / a.requests * 1e6, statistics.median(server_cpus)))
        print(f"| server | client | req/s | client CPU s | client CPU µs/req | server CPU s |")
        print(f"|---|---|---:|---:|---:|---:|")
        for server, client, rps, cpu, per, scpu in results:
            print(f"| {server} | {client} | {rps:,.0f} | {cpu:.2f} | {per:.0f} | {scpu:.2f} |")
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
