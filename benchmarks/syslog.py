#!/usr/bin/env python3
"""Syslog ingest benchmark: messages per CPU-second and peak RSS for TCP syslog into Loki.

Writes N RFC 5424 messages (about 200 bytes each, octet-counted or newline-framed) to a file;
then in the same run:
  - baseline (bench_baseline): read that file and snappy-compress it in 1 MiB chunks;
  - skidder listens on TCP (a syslog scrape config relabeling host, app and severity, as the
    Promtail docs' example does) and pushes to bench_sink; this script sends the file over one
    loopback connection and the clock stops when the sink has every message.
CPU is skidder's utime+stime from /proc/<pid>/stat, peak RSS is VmHWM.

    cmake --build build --target skidder bench_sink bench_baseline
    python3 benchmarks/syslog.py --build build [--messages 1000000] [--framing octet|newline]
"""
import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from e2e import proc_stats, sink_count  # noqa: E402

HOSTS = [f"web-{i}" for i in range(20)]
APPS = ["nginx", "api", "worker", "cron", "sshd", "kernel", "db", "cache", "auth", "mail"]
PATHS = ["/api/v1/users", "/api/v1/orders", "/healthz", "/static/app.js", "/login"]


def write_messages(path, n, framing, seed=1):
    rng = random.Random(seed)
    total = 0
    with open(path, "w") as f:
        chunk = []
        for i in range(n):
            msg = (f"<{rng.choice([134, 131, 165, 30])}>1 2026-12-01T12:00:{i % 60:02d}."
                   f"{rng.randrange(10**6):06d}Z {rng.choice(HOSTS)} {rng.choice(APPS)} "
                   f"{rng.randrange(1, 65536)} access [req@32473 id=\"{rng.getrandbits(64):016x}\"] "
                   f"{rng.choice(['GET', 'POST'])} {rng.choice(PATHS)}/{rng.randrange(10**6)} "
                   f"{rng.choice([200, 200, 200, 404, 500])} {rng.random():.4f}s "
                   f"user={rng.getrandbits(32):08x} trace={rng.getrandbits(128):032x}")
            framed = f"{len(msg)} {msg}" if framing == "octet" else msg + "\n"
            chunk.append(framed)
            total += len(framed)
            if len(chunk) >= 4096:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    return total


WRAP = []


def start_skidder(build, d, sink_port):
    cfg = os.path.join(d, "skidder.yaml")
    with open(cfg, "w") as f:
        f.write(f"""server:
  http_listen_port: 0
positions:
  filename: {d}/positions.json
clients:
  - url: http://127.0.0.1:{sink_port}/loki/api/v1/push
scrape_configs:
  - job_name: syslog
    syslog:
      listen_address: 127.0.0.1:0
      labels: {{job: syslog}}
    relabel_configs:
      - {{source_labels: [__syslog_message_hostname], target_label: host}}
      - {{source_labels: [__syslog_message_app_name], target_label: app}}
      - {{source_labels: [__syslog_message_severity], target_label: level}}
""")
    log = os.path.join(d, "agent.log")
    agent = subprocess.Popen(WRAP + [os.path.join(build, "skidder"), f"-config.file={cfg}"],
                             stderr=open(log, "w"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        m = re.search(r'msg="syslog listening".*?port=(\d+)', open(log).read())
        if m:
            return agent, int(m.group(1))
        time.sleep(0.05)
    agent.kill()
    sys.exit(f"skidder did not start listening; see {log}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--framing", choices=["octet", "newline"], default="octet")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--wrap", default="", help="command to run skidder under, e.g. perf record")
    args = ap.parse_args()
    WRAP.extend(args.wrap.split())
    d = tempfile.mkdtemp(prefix="skidder-syslog-")
    try:
        data = os.path.join(d, "messages")
        total = write_messages(data, args.messages, args.framing)
        base = subprocess.run([os.path.join(args.build, "benchmarks", "bench_baseline"), data],
                              capture_output=True, text=True, check=True).stdout.split()
        base_cpu = float(base[1])
        sink = subprocess.Popen([os.path.join(args.build, "benchmarks", "bench_sink")],
                                stdout=subprocess.PIPE, text=True)
        sink_port = int(sink.stdout.readline())
        agent = None
        try:
            agent, port = start_skidder(args.build, d, sink_port)
            cpu0, _ = proc_stats(agent.pid)
            start = time.monotonic()
            with socket.create_connection(("127.0.0.1", port)) as s, open(data, "rb") as f:
                sender = threading.Thread(target=s.sendfile, args=(f,))
                sender.start()
                while sink_count(sink_port)[0] < args.messages:
                    if agent.poll() is not None:
                        sys.exit(f"skidder exited early; see {d}/agent.log")
                    time.sleep(0.05)
                sender.join()
            wall = time.monotonic() - start
            cpu, rss = proc_stats(agent.pid)
            cpu -= cpu0
        finally:
            if agent is not None:
                agent.send_signal(signal.SIGTERM)
                agent.wait(timeout=60)
            sink.terminate()
        mb = total / 1e6
        base_rate, rate = mb / max(base_cpu, 1e-6), mb / max(cpu, 1e-6)
        print(f"messages={args.messages} framing={args.framing} bytes={total}")
        print(f"baseline: cpu={base_cpu:.2f}s -> {base_rate:.0f} MB/cpu-s")
        print(f"skidder:  cpu={cpu:.2f}s wall={wall:.2f}s peak_rss={rss:.1f}MB -> "
              f"{args.messages / max(cpu, 1e-6) / 1e3:.0f} k messages/cpu-s, {rate:.1f} MB/cpu-s")
        print(f"ratio: skidder ingests {100 * rate / base_rate:.1f}% of the baseline's bytes "
              f"per CPU-second")
    finally:
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
