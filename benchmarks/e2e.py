#!/usr/bin/env python3
"""End-to-end throughput benchmark: a backlog of CRI files delivered to a local sink.

Writes FILES files of CRI lines (~200 bytes each, TOTAL_MB in all), then in the same run:
  1. the baseline: read the files and snappy-compress them in 1 MiB chunks (bench_baseline);
  2. skidder: tail the same files with a `cri` pipeline and push to a local sink (bench_sink)
     that decodes every request with the generated protobuf code; the clock stops when the sink
     has every line.
Reports wall time, CPU seconds (utime+stime from /proc) and peak RSS (VmHWM) of skidder, and its
MB per CPU-second as a ratio of the baseline's. A benchmark, not a test: it never fails for slow.

Options for the other workloads of issue 10 (each still reported against the same run's
baseline):
  --idle S        after delivery, CPU % of a core and RSS over S idle seconds
  --long-lines    every 50th line is 40 KB, split by the "kubelet" into 16 KiB P records + F
  --clients N     N Loki clients (fan-out: every entry is delivered N times)
  --latency S     instead of a backlog: 8 writers append lines for S seconds while skidder runs
                  with batchwait 1s; reports write->Loki latency p50/p99/max
  --tail S        instead of a backlog, the steady state most nodes live in: FILES files, each
                  growing by --rate lines per second (default 1) for S seconds, after skidder has
                  opened them all. Reports skidder's CPU % of a core and CPU microseconds per
                  line over those S seconds, and the same of bench_tail_baseline, a bare
                  inotify tailer (read + snappy, nothing else) following the same files at the
                  same time: skidder's cost as a multiple of that floor.
  --churn S       pods that come and go (an Airflow worker pool) beside FILES idle pod logs: for
                  S seconds, --pods-per-s new pod directories a second, each with one log of 20
                  lines, and each pod's directory deleted 3 s after it appeared (as the kubelet
                  removes a finished pod's logs). Reports skidder's CPU milliseconds per pod, and
                  the same churn beside 10 idle files in the same run as the baseline: what a pod
                  costs should not grow with the number of files the agent already follows.

Usage: benchmarks/e2e.py --build build [--files 10] [--total-mb 200] [--keep] [options above]
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


LONG = 40 * 1024
CRI_MAX = 16 * 1024  # kubelet splits longer lines into P records of this size


def cri_records(ts, stream, body):
    """One log line as the CRI records kubelet writes for it (P ... P F)."""
    out = []
    while len(body) > CRI_MAX:
        out.append(f"{ts} {stream} P {body[:CRI_MAX]}\n")
        body = body[CRI_MAX:]
    out.append(f"{ts} {stream} F {body}\n")
    return "".join(out)


def write_backlog(d, files, total_mb, long_lines=False):
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
                ts = (f"2026-11-24T10:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}."
                      f"{n % 1000:03d}{rng.getrandbits(16):06d}Z")
                body = make_body(rng, n)
                if long_lines and n % 50 == 49:
                    body = (body + " ") * (LONG // (len(body) + 1))
                line = cri_records(ts, "stdout" if n % 7 else "stderr", body)
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


LAST_SPLIT = [0.0, 0.0]  # user and system seconds of the last proc_stats call
LAST_EVENTS = [0, 0]  # minor page faults and context switches of the last proc_stats call


def proc_stats(pid):
    """CPU seconds (utime+stime), peak RSS (VmHWM) and current RSS (VmRSS), in MB."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tick
    LAST_SPLIT[:] = [int(fields[11]) / tick, int(fields[12]) / tick]
    # Page faults (minor: a page first touched, e.g. a fresh allocation) and context switches of
    # every thread: where system time goes when it moves.
    LAST_EVENTS[:] = [int(fields[7]), 0]
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if "ctxt_switches:" in line:  # voluntary and nonvoluntary
                        LAST_EVENTS[1] += int(line.split()[1])
        except OSError:
            pass  # the thread ended meanwhile
    hwm_kb = rss_kb = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm_kb = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    return cpu, hwm_kb / 1024, rss_kb / 1024


def sink_get(port, what):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{what}", timeout=5) as r:
        return r.read().decode().split()


def sink_count(port):
    entries, nbytes, reqs = sink_get(port, "count")
    return int(entries), int(nbytes), int(reqs)


def write_config(d, port, files_glob, clients, batchwait):
    cfg = os.path.join(d, "skidder.yaml")
    client_yaml = "".join(
        f"""  - url: http://127.0.0.1:{port}/loki/api/v1/push
    batchwait: {batchwait}
    external_labels:
      client: c{i}
""" for i in range(clients))
    with open(cfg, "w") as f:
        f.write(f"""server:
  http_listen_port: 0
positions:
  filename: {d}/positions.json
clients:
{client_yaml}scrape_configs:
  - job_name: bench
    pipeline_stages:
      - cri: {{}}
    static_configs:
      - labels:
          job: bench
          __path__: {files_glob}
""")
    return cfg


def start_skidder(build, d, cfg):
    # A session of its own: stop_skidder signals the agent and any --wrap tool around it.
    return subprocess.Popen(WRAP + [os.path.join(build, "skidder"), f"-config.file={cfg}",
                                    "-log.level=warn"],
                            stderr=open(os.path.join(d, "agent.log"), "w"),
                            start_new_session=True)


def stop_skidder(agent):
    # SIGTERM to the group reaches the agent itself, not only a wrapper (strace -f passes a
    # signal it gets on slowly, if at all). A tracer slows the shutdown's closes and saves, so a
    # wrapped agent gets longer; one that does not stop is killed, never left running.
    os.killpg(agent.pid, signal.SIGTERM)
    try:
        agent.wait(timeout=300 if WRAP else 60)
    except subprocess.TimeoutExpired:
        os.killpg(agent.pid, signal.SIGKILL)
        agent.wait()
        sys.exit("skidder did not stop within its deadline after SIGTERM; killed")


def run_skidder(build, d, port, expected_lines, files_glob, clients, idle_s):
    cfg = write_config(d, port, files_glob, clients, "1s")
    start = time.monotonic()
    agent = start_skidder(build, d, cfg)
    result = {}
    try:
        while sink_count(port)[0] < expected_lines:
            if agent.poll() is not None:
                sys.exit(f"skidder exited early with {agent.returncode}; see {d}/agent.log")
            time.sleep(0.05)
        result["wall"] = time.monotonic() - start
        result["cpu"], result["rss"], _ = proc_stats(agent.pid)
        result["user"], result["sys"] = LAST_SPLIT
        result["faults"], result["switches"] = LAST_EVENTS
        result["got"] = sink_count(port)[0]
        if idle_s > 0:
            cpu0, _, _ = proc_stats(agent.pid)
            time.sleep(idle_s)
            cpu1, _, rss_now = proc_stats(agent.pid)
            result["idle_cpu_pct"] = 100 * (cpu1 - cpu0) / idle_s
            result["idle_rss"] = rss_now
    finally:
        stop_skidder(agent)
    return result


def run_latency(build, d, port, seconds, writers=8, rate=500):
    """8 writers append `rate` lines/s each; the sink measures write -> decode latency."""
    dirs = []
    for i in range(writers):
        pod = os.path.join(d, "pods", f"lat_pod-{i}_uid-{i:04d}", "app")
        os.makedirs(pod, exist_ok=True)
        dirs.append(os.path.join(pod, "0.log"))
    cfg = write_config(d, port, os.path.join(d, "pods", "*", "*", "*.log"), 1, "1s")
    agent = start_skidder(build, d, cfg)
    rng = random.Random(2)
    files = [open(p, "a", buffering=1) for p in dirs]
    written = 0
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            tick = time.monotonic()
            for f in files:  # each writer: rate/20 lines every 50 ms
                for _ in range(rate // 20):
                    ts = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
                    f.write(f"{ts} stdout F {make_body(rng, written)} wt={time.time_ns()}\n")
                    written += 1
            time.sleep(max(0.0, 0.05 - (time.monotonic() - tick)))
        deadline = time.monotonic() + 30
        while sink_count(port)[0] < written and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for f in files:
            f.close()
        stop_skidder(agent)
    n, p50, p99, mx = sink_get(port, "latency")
    print(f"latency: writers={writers} lines={written} delivered={n} "
          f"p50={float(p50):.0f}ms p99={float(p99):.0f}ms max={float(mx):.0f}ms (batchwait 1s)")


def await_first_lines(agent, port, count, d, seconds):
    """Waits until the sink has `count` lines (one from every file), then lets the first
    positions save and the first batch's aftermath settle before a measurement starts."""
    deadline = time.monotonic() + seconds
    while sink_count(port)[0] < count:
        if agent.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"skidder did not deliver the first lines; see {d}/agent.log")
        time.sleep(0.05)
    time.sleep(2)


def run_tail(build, d, port, files, seconds, rate):
    """FILES files grow by RATE lines/s each for SECONDS; skidder and the bare tailer follow."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, files + 256)), hard))
    rng = random.Random(3)
    paths = []
    for i in range(files):
        pod = os.path.join(d, "pods", f"tail_pod-{i}_uid-{i:04d}", "app")
        os.makedirs(pod, exist_ok=True)
        paths.append(os.path.join(pod, "0.log"))
    fds = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) for p in paths]
    written = 0

    def line():
        ts = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
        return f"{ts} stdout F {make_body(rng, written)}\n".encode()

    for fd in fds:  # one line each, so skidder has opened (and sent from) every file
        os.write(fd, line())
        written += 1
    cfg = write_config(d, port, os.path.join(d, "pods", "*", "*", "*.log"), 1, "1s")
    agent = start_skidder(build, d, cfg)
    base = subprocess.Popen([os.path.join(build, "benchmarks", "bench_tail_baseline")] + paths,
                            stdout=subprocess.PIPE, text=True)
    try:
        if base.stdout.readline().strip() != "ready":
            sys.exit("bench_tail_baseline failed to start")
        await_first_lines(agent, port, written, d, 120)
        cpu0, _, _ = proc_stats(agent.pid)
        start = time.monotonic()
        tick = 0.01  # write in 100 slices a second, each to its share of the files
        per_tick = files * rate * tick
        due = 0.0
        k = 0
        while time.monotonic() - start < seconds:
            t = time.monotonic()
            due += per_tick
            while due >= 1:
                os.write(fds[k % files], line())
                written += 1
                k += 1
                due -= 1
            time.sleep(max(0.0, tick - (time.monotonic() - t)))
        deadline = time.monotonic() + 60
        while sink_count(port)[0] < written and time.monotonic() < deadline:
            time.sleep(0.05)
        cpu1, _, rss = proc_stats(agent.pid)
        wall = time.monotonic() - start
        base.send_signal(signal.SIGTERM)
        b_bytes, b_cpu, b_wakes = base.communicate(timeout=60)[0].split()
        got = sink_count(port)[0]
    finally:
        if base.poll() is None:
            base.kill()
        for fd in fds:
            os.close(fd)
        stop_skidder(agent)
    lines = k
    cpu, b_cpu = cpu1 - cpu0, float(b_cpu)
    print(f"tail: files={files} rate={rate}/s per file seconds={seconds:.0f} lines={lines} "
          f"delivered={got}/{written}")
    print(f"baseline: cpu={b_cpu:.3f}s -> {100 * b_cpu / wall:.3f}% of a core, "
          f"{1e6 * b_cpu / lines:.2f} us/line ({b_wakes} wake-ups)")
    print(f"skidder:  cpu={cpu:.3f}s -> {100 * cpu / wall:.3f}% of a core, "
          f"{1e6 * cpu / lines:.2f} us/line (user {LAST_SPLIT[0]:.2f}s, sys {LAST_SPLIT[1]:.2f}s "
          f"since start) rss={rss:.1f}MB")
    print(f"ratio: skidder spends {cpu / max(b_cpu, 1e-6):.2f}x the baseline's CPU per line")


def run_churn_phase(build, d, port, idle_files, seconds, pods_per_s):
    """One churn measurement: idle_files idle pod logs, then pods coming and going."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, idle_files + 256)), hard))
    rng = random.Random(4)
    written = sink_count(port)[0]  # the sink counts across phases: start from what it has

    def lines(n):
        ts = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
        return "".join(f"{ts} stdout F {make_body(rng, written + i)}\n" for i in range(n))

    for i in range(idle_files):  # one line each, so skidder has opened (and sent from) every file
        pod = os.path.join(d, "pods", f"idle_pod-{i}_uid-{i:05d}", "app")
        os.makedirs(pod, exist_ok=True)
        with open(os.path.join(pod, "0.log"), "w") as f:
            f.write(lines(1))
        written += 1
    cfg = write_config(d, port, os.path.join(d, "pods", "*", "*", "*.log"), 1, "1s")
    agent = start_skidder(build, d, cfg)
    pods = 0
    try:
        await_first_lines(agent, port, written, d, 180)
        cpu0, _, _ = proc_stats(agent.pid)
        start = time.monotonic()
        alive = []  # (created at, pod directory)
        while time.monotonic() - start < seconds:
            t = time.monotonic()
            pod = os.path.join(d, "pods", f"churn_pod-{pods}_uid-{pods:05d}")
            os.makedirs(os.path.join(pod, "task"))
            with open(os.path.join(pod, "task", "0.log"), "w") as f:
                f.write(lines(20))
            written += 20
            pods += 1
            alive.append((t, pod))
            while alive and t - alive[0][0] >= 3:
                shutil.rmtree(alive.pop(0)[1])
            time.sleep(max(0.0, 1 / pods_per_s - (time.monotonic() - t)))
        deadline = time.monotonic() + 60
        while sink_count(port)[0] < written and time.monotonic() < deadline:
            time.sleep(0.05)
        for _, pod in alive:
            shutil.rmtree(pod)
        cpu1, _, rss = proc_stats(agent.pid)
        wall = time.monotonic() - start
        got = sink_count(port)[0]
    finally:
        stop_skidder(agent)
    return {"pods": pods, "cpu": cpu1 - cpu0, "wall": wall, "rss": rss, "got": got,
            "written": written}


def run_churn(build, port, files, seconds, pods_per_s):
    """The churn beside 10 idle files (the baseline), then beside FILES, each in a fresh dir."""
    results = []
    for idle_files in (10, files):
        d = tempfile.mkdtemp(prefix="skidder-e2e-churn-")
        try:
            results.append(run_churn_phase(build, d, port, idle_files, seconds, pods_per_s))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    per_pod = []
    for idle_files, r in zip((10, files), results):
        per_pod.append(1e3 * r["cpu"] / max(r["pods"], 1))
        print(f"churn: idle_files={idle_files} pods={r['pods']} ({pods_per_s:g}/s) "
              f"delivered={r['got']}/{r['written']} cpu={r['cpu']:.3f}s -> "
              f"{per_pod[-1]:.2f} ms per pod, {100 * r['cpu'] / r['wall']:.2f}% of a core, "
              f"rss={r['rss']:.1f}MB")
    print(f"ratio: a pod costs {per_pod[1] / max(per_pod[0], 1e-9):.2f}x beside {files} files "
          f"what it costs beside 10")


WRAP = []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--total-mb", type=int, default=200)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--wrap", default="", help="command to run skidder under, e.g. heaptrack")
    ap.add_argument("--idle", type=float, default=0, help="idle seconds measured after delivery")
    ap.add_argument("--long-lines", action="store_true")
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--latency", type=float, default=0, help="seconds of the latency workload")
    ap.add_argument("--tail", type=float, default=0, help="seconds of the steady tail workload")
    ap.add_argument("--rate", type=float, default=1, help="lines per second per file (--tail)")
    ap.add_argument("--churn", type=float, default=0, help="seconds of the pod churn workload")
    ap.add_argument("--pods-per-s", type=float, default=5, help="new pods a second (--churn)")
    args = ap.parse_args()
    WRAP.extend(args.wrap.split())
    d = tempfile.mkdtemp(prefix="skidder-e2e-")
    sink = subprocess.Popen([os.path.join(args.build, "benchmarks", "bench_sink")],
                            stdout=subprocess.PIPE, text=True)
    port = int(sink.stdout.readline())
    try:
        if args.latency > 0:
            run_latency(args.build, d, port, args.latency)
            return
        if args.tail > 0:
            run_tail(args.build, d, port, args.files, args.tail, args.rate)
            return
        if args.churn > 0:
            run_churn(args.build, port, args.files, args.churn, args.pods_per_s)
            return
        paths, lines = write_backlog(d, args.files, args.total_mb, args.long_lines)
        total_bytes = sum(os.path.getsize(p) for p in paths)
        base = subprocess.run([os.path.join(args.build, "benchmarks", "bench_baseline")] + paths,
                              capture_output=True, text=True, check=True).stdout.split()
        base_bytes, base_cpu, base_wall = int(base[0]), float(base[1]), float(base[2])
        r = run_skidder(args.build, d, port, lines * args.clients,
                        os.path.join(d, "pods", "*", "*", "*.log"), args.clients, args.idle)
        mb = total_bytes / 1e6
        base_rate = base_bytes / 1e6 / max(base_cpu, 1e-6)
        rate = mb / max(r["cpu"], 1e-6)
        print(f"files={args.files} bytes={total_bytes} lines={lines} clients={args.clients} "
              f"long_lines={args.long_lines} delivered={r['got']}")
        print(f"baseline: cpu={base_cpu:.2f}s wall={base_wall:.2f}s -> {base_rate:.0f} MB/cpu-s")
        print(f"skidder:  cpu={r['cpu']:.2f}s wall={r['wall']:.2f}s peak_rss={r['rss']:.1f}MB "
              f"-> {rate:.1f} MB/cpu-s (user {r['user']:.2f}s, sys {r['sys']:.2f}s; "
              f"{r['faults']} page faults, {r['switches']} context switches)")
        print(f"ratio: skidder delivers {100 * rate / base_rate:.1f}% of the baseline's bytes "
              f"per CPU-second")
        if "idle_cpu_pct" in r:
            print(f"idle: {r['idle_cpu_pct']:.2f}% of a core over {args.idle:.0f}s, "
                  f"rss={r['idle_rss']:.1f}MB")
    finally:
        sink.terminate()
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
