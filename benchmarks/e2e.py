#!/usr/bin/env python3
"""End-to-end throughput benchmark: a backlog of CRI files delivered to a local sink.

Writes FILES files of CRI lines (~200 bytes each, TOTAL_MB in all), then in the same run:
  1. the baseline: read the files and snappy-compress them in 1 MiB chunks (bench_baseline);
  2. skidder: tail the same files with a `cri` pipeline and push to a local sink (bench_sink)
     that decodes every request with the generated protobuf code; the clock stops when the sink
     has every line.
Reports wall time, CPU seconds (utime+stime from /proc) and peak RSS (VmHWM) of skidder, and its
MB per CPU-second as a ratio of the baseline's. A benchmark, not a test: it never fails for slow.

Usage: benchmarks/e2e.py --build build [--files 10] [--total-mb 200] [--keep]
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

# Realistic access-log lines: varying paths, ids, users, latencies and trace ids, so neither
# snappy nor the agent gets an unrealistically repetitive input.
METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
PATHS = ["/api/v1/orders", "/api/v1/users", "/healthz", "/api/v2/search", "/static/app.js",
         "/api/v1/payments", "/login", "/api/v1/inventory/items"]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
CODES = [200, 200, 200, 200, 201, 204, 301, 404, 500, 503]


def make_body(rng, n):
    return (f"{rng.choice(METHODS)} {rng.choice(PATHS)}/{rng.getrandbits(32):08x} "
            f"{rng.choice(CODES)} {rng.randint(1, 2500)}ms user={rng.choice(USERS)}@example.com "
            f"trace={rng.getrandbits(64):016x} span={rng.getrandbits(32):08x} "
            f"ua=\"Mozilla/5.0 (X11; Linux x86_64) rv:{rng.randint(90, 130)}.0\" "
            f"bytes={rng.randint(100, 90000)} seq={n}")


def write_backlog(d, files, total_mb):
    rng = random.Random(1)
    per_file = total_mb * 1024 * 1024 // files
    lines = 0
    paths = []
    for i in range(files):
        pod = os.path.join(d, "pods", f"bench_pod-{i}_uid-{i:04d}", "app")
        os.makedirs(pod, exist_ok=True)
        path = os.path.join(pod, "0.log")
        chunk = []
        size = 0
        n = 0
        with open(path, "w") as f:
            while size < per_file:
                line = (f"2026-11-24T10:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}."
                        f"{n % 1000:03d}{rng.getrandbits(16):06d}Z "
                        f"{'stdout' if n % 7 else 'stderr'} F {make_body(rng, n)}\n")
                chunk.append(line)
                size += len(line)
                n += 1
                if len(chunk) >= 4096:
                    f.write("".join(chunk))
                    chunk = []
            f.write("".join(chunk))
        lines += n
        paths.append(path)
    return paths, lines


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tick
    rss_kb = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss_kb = int(line.split()[1])
    return cpu, rss_kb / 1024


def sink_count(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/count", timeout=5) as r:
        entries, nbytes, reqs = r.read().decode().split()
    return int(entries), int(nbytes), int(reqs)


def run_skidder(build, d, port, expected_lines, files_glob):
    cfg = os.path.join(d, "skidder.yaml")
    with open(cfg, "w") as f:
        f.write(f"""server:
  http_listen_port: 0
positions:
  filename: {d}/positions.json
clients:
  - url: http://127.0.0.1:{port}/loki/api/v1/push
scrape_configs:
  - job_name: bench
    pipeline_stages:
      - cri: {{}}
    static_configs:
      - labels:
          job: bench
          __path__: {files_glob}
""")
    start = time.monotonic()
    agent = subprocess.Popen(WRAP + [os.path.join(build, "skidder"), f"-config.file={cfg}",
                              "-log.level=warn"], stderr=open(os.path.join(d, "agent.log"), "w"))
    cpu = rss = 0.0
    got = 0
    try:
        while True:
            got, _, _ = sink_count(port)
            if got >= expected_lines:
                break
            if agent.poll() is not None:
                sys.exit(f"skidder exited early with {agent.returncode}; see {d}/agent.log")
            cpu, rss = proc_stats(agent.pid)
            time.sleep(0.05)
        wall = time.monotonic() - start
        cpu, rss = proc_stats(agent.pid)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)
    return wall, cpu, rss, got


WRAP = []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--total-mb", type=int, default=200)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--wrap", default="", help="command to run skidder under, e.g. heaptrack")
    args = ap.parse_args()
    WRAP.extend(args.wrap.split())
    d = tempfile.mkdtemp(prefix="skidder-e2e-")
    try:
        paths, lines = write_backlog(d, args.files, args.total_mb)
        total_bytes = sum(os.path.getsize(p) for p in paths)
        base = subprocess.run([os.path.join(args.build, "benchmarks", "bench_baseline")] + paths,
                              capture_output=True, text=True, check=True).stdout.split()
        base_bytes, base_cpu, base_wall = int(base[0]), float(base[1]), float(base[2])
        sink = subprocess.Popen([os.path.join(args.build, "benchmarks", "bench_sink")],
                                stdout=subprocess.PIPE, text=True)
        port = int(sink.stdout.readline())
        try:
            wall, cpu, rss, got = run_skidder(args.build, d, port, lines,
                                              os.path.join(d, "pods", "*", "*", "*.log"))
        finally:
            sink.terminate()
        mb = total_bytes / 1e6
        base_rate = base_bytes / 1e6 / max(base_cpu, 1e-6)
        rate = mb / max(cpu, 1e-6)
        print(f"files={args.files} bytes={total_bytes} lines={lines} delivered={got}")
        print(f"baseline: cpu={base_cpu:.2f}s wall={base_wall:.2f}s -> {base_rate:.0f} MB/cpu-s")
        print(f"skidder:  cpu={cpu:.2f}s wall={wall:.2f}s peak_rss={rss:.1f}MB -> {rate:.1f} MB/cpu-s")
        print(f"ratio: skidder delivers {100 * rate / base_rate:.1f}% of the baseline's bytes per CPU-second")
    finally:
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
