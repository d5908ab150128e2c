#!/usr/bin/env python3
"""Push-API ingest benchmark: skidder's loki_push_api relaying pushes to a local sink.

bench_pusher sends REQUESTS snappy protobuf pushes of ENTRIES access-log lines (~200 bytes) to a
skidder whose only job is a loki_push_api one (labels, one relabel rule, no stages), which
delivers them to bench_sink (a local Loki decoding every request with the generated protobuf
code). The pusher waits for each 2xx (retrying 429/503), so the run ends when the sink has every
entry. Reports skidder's CPU (utime+stime) and peak RSS (VmHWM), entries per CPU-second, and the
same run's baseline: the entries per CPU-second of the least a relay does (snappy-decompress,
parse, serialise, snappy-compress each body, in bench_pusher). A benchmark: never fails for slow.

Usage: benchmarks/push_e2e.py --build build [--requests 2000] [--entries 500] [--conns 4]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import proc_stats, sink_count  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--entries", type=int, default=500)
    ap.add_argument("--conns", type=int, default=4)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="skidder-push-")
    sink = subprocess.Popen([os.path.join(args.build, "benchmarks", "bench_sink")],
                            stdout=subprocess.PIPE, text=True)
    sink_port = int(sink.stdout.readline())
    cfg = os.path.join(d, "skidder.yaml")
    with open(cfg, "w") as f:
        f.write(f"""server:
  http_listen_port: 0
positions:
  filename: {d}/positions.json
clients:
  - url: http://127.0.0.1:{sink_port}/loki/api/v1/push
scrape_configs:
  - job_name: push
    loki_push_api:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
      labels:
        relay: skidder
      use_incoming_timestamp: true
    relabel_configs:
      - source_labels: [namespace]
        target_label: ns
""")
    log = os.path.join(d, "agent.log")
    agent = subprocess.Popen([os.path.join(args.build, "skidder"), f"-config.file={cfg}"],
                             stderr=open(log, "w"))
    try:
        port = None
        for _ in range(200):
            m = re.search(r'msg="serving loki push API" job=push port=(\d+)', open(log).read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        if port is None:
            sys.exit(f"skidder did not start its push server; see {log}")
        out = subprocess.run([os.path.join(args.build, "benchmarks", "bench_pusher"), str(port),
                              str(args.requests), str(args.entries), str(args.conns)],
                             capture_output=True, text=True, check=True).stdout.split()
        entries, base_cpu, wall = int(out[0]), float(out[1]), float(out[2])
        cpu, rss = proc_stats(agent.pid)
        got, _, _ = sink_count(sink_port)
        rate = entries / max(cpu, 1e-6)
        base_rate = entries / max(base_cpu, 1e-6)
        print(f"entries={entries} delivered={got} requests={args.requests} conns={args.conns}")
        print(f"baseline: cpu={base_cpu:.2f}s -> {base_rate / 1e3:.0f}k entries/cpu-s")
        print(f"skidder:  cpu={cpu:.2f}s wall={wall:.2f}s peak_rss={rss:.1f}MB -> "
              f"{rate / 1e3:.0f}k entries/cpu-s")
        print(f"ratio: skidder relays {100 * rate / base_rate:.1f}% of the baseline's entries "
              f"per CPU-second")
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)
        sink.terminate()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
