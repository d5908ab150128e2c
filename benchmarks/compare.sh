#!/bin/bash
# Runs the end-to-end workloads of issue 10 for two builds back to back, so that their figures
# share one machine state (this VM's speed moves by up to 1.7x between days; only ratios to the
# baseline of the same invocation, and before/after pairs of one run, compare).
#
# Usage: benchmarks/compare.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR
# Each dir needs skidder, benchmarks/bench_sink, benchmarks/bench_baseline and
# benchmarks/bench_tail_baseline (a dir holding an older skidder can symlink benchmarks/ to the
# other build's).
set -u
before=$1
after=$2
cd "$(dirname "$0")/.."
for args in "--files 10" "--files 1000 --idle 60" "--files 10000 --idle 60" \
            "--files 10 --long-lines" "--files 10 --clients 4" "--latency 30" \
            "--files 1000 --tail 60" "--files 10000 --churn 20"; do
  for b in "$before" "$after"; do
    echo "### $b $args"
    # shellcheck disable=SC2086
    python3 benchmarks/e2e.py --build "$b" $args 2>&1 | tail -5
  done
done
