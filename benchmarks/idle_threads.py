#!/usr/bin/env python3
"""Per-thread wakeups and CPU of skidder's idle phase: runs benchmarks/e2e.py's workload with the
same arguments (--idle S is required) and, over the idle seconds, reads every thread's context
switches (voluntary + involuntary: each is one wakeup) and utime+stime from /proc/PID/task.

Usage: benchmarks/idle_threads.py --build build --files 1000 --idle 60
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

SNAPS = []


def threads(pid):
    """{tid: (name, cpu seconds, context switches)} of every thread of pid."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            base = f"/proc/{pid}/task/{tid}"
            with open(f"{base}/comm") as f:
                name = f.read().strip()
            with open(f"{base}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / tick
            switches = 0
            with open(f"{base}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
            out[tid] = (name, cpu, switches)
        except FileNotFoundError:
            pass  # the thread ended meanwhile
    return out


_proc_stats = e2e.proc_stats


def proc_stats(pid):
    SNAPS.append(threads(pid))
    return _proc_stats(pid)


def main():
    e2e.proc_stats = proc_stats
    e2e.main()
    if len(SNAPS) < 3:
        sys.exit("no idle phase: pass --idle S")
    idle_s = float(sys.argv[sys.argv.index("--idle") + 1])
    before, after = SNAPS[-2], SNAPS[-1]  # e2e reads the stats at the start and end of idle
    total_w = total_cpu = 0
    print(f"{'thread':<16} {'tid':>8} {'wakeups/s':>10} {'cpu %':>8}")
    for tid, (name, cpu1, sw1) in sorted(after.items(), key=lambda kv: int(kv[0])):
        _, cpu0, sw0 = before.get(tid, (name, 0, 0))
        w, c = (sw1 - sw0) / idle_s, 100 * (cpu1 - cpu0) / idle_s
        total_w += w
        total_cpu += c
        print(f"{name:<16} {tid:>8} {w:>10.2f} {c:>8.3f}")
    print(f"{'all':<16} {'':>8} {total_w:>10.2f} {total_cpu:>8.3f}")


if __name__ == "__main__":
    main()
