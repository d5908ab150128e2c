#!/bin/sh
# Coverage-guided fuzzing with AFL++ (`make fuzz SECONDS=N`): runs each target's AFL build for
# SECONDS seconds, one target after another at nice 19, starting from its checked-in corpus
# (tests/testdata/fuzz/<target>). Afterwards it adds the inputs AFL found that reach new coverage
# (minimised by afl-cmin, at most 64 KiB each) to that corpus as afl-<sha1>, and copies every
# crash there as crash-<sha1>, so `make test` replays them under ASan+UBSan. Hangs are listed
# but not copied (a regression input must finish quickly). Prints one summary line per target.
#
# Usage: tests/fuzz/run_afl.sh <afl build dir> <seconds per target> [target...]
set -u
build=$1
seconds=$2
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
targets=${*:-$(sed -n 's/^FUZZ_TARGETS := //p' "$src/Makefile")}
out="$build/afl"
# A shared 2-core machine: no core binding, no CPU governor check, no curses UI; the kernel's
# core_pattern may pipe to a handler we cannot change (ASan's abort still reaches AFL).
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
# A crash input already in the corpus (fixed, kept as a regression test) must not stop the run.
export AFL_SKIP_CRASHES=1
summary=""
status=0
for t in $targets; do
  bin="$build/tests/fuzz_$t"
  corpus="$src/tests/testdata/fuzz/$t"
  dir="$out/$t"
  rm -rf "$dir"
  mkdir -p "$dir"
  started=$(date -u +%FT%TZ)
  echo "== fuzz $t for ${seconds}s (from $started)"
  # -t 2000+: the timeout is calibrated on the seeds, at most 2 s; seeds slower than that (the
  # 200 KB nesting bombs under ASan on a loaded machine) are skipped, not fatal.
  # -m none: ASan reserves terabytes of virtual memory.
  nice -n 19 afl-fuzz -i "$corpus" -o "$dir" -V "$seconds" -t 2000+ -m none \
    -- "$bin" @@ >"$dir/afl.log" 2>&1
  stats="$dir/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    echo "afl-fuzz did not run for $t; see $dir/afl.log"; tail -20 "$dir/afl.log"; status=1
    continue
  fi
  get() { sed -n "s/^$1 *: //p" "$stats"; }
  crashes=0
  for c in "$dir"/default/crashes/id:*; do
    [ -f "$c" ] || continue
    cp "$c" "$corpus/crash-$(sha1sum "$c" | cut -c1-16)"
    crashes=$((crashes + 1))
  done
  hangs=$(ls "$dir"/default/hangs 2>/dev/null | grep -c '^id:')
  # New coverage: afl-cmin over the queue; keep what is not already checked in.
  added=0
  if afl-cmin -i "$dir/default/queue" -o "$dir/cmin" -t 5000 -m none -- "$bin" @@ \
      >"$dir/cmin.log" 2>&1; then
    for f in "$dir"/cmin/*; do
      [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 65536 ] || continue
      case "$(basename "$f")" in *orig:*) continue ;; esac
      name="afl-$(sha1sum "$f" | cut -c1-16)"
      [ -e "$corpus/$name" ] && continue
      cp "$f" "$corpus/$name"
      added=$((added + 1))
    done
  fi
  line="$t: execs=$(get execs_done) execs_per_sec=$(get execs_per_sec) paths=$(get corpus_count) \
edges=$(get edges_found)/$(get total_edges) coverage=$(get bitmap_cvg) crashes=$crashes hangs=$hangs \
added_to_corpus=$added seconds=$seconds started=$started"
  echo "$line"
  summary="$summary$line
"
  [ "$crashes" -eq 0 ] || status=1
done
echo "== summary"
printf '%s' "$summary"
[ "$status" -eq 0 ] || echo "crashes were copied into tests/testdata/fuzz/<target>/crash-*: fix them"
exit $status
