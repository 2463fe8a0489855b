#!/usr/bin/env bash
# Fuzzes the parsers of untrusted input with libFuzzer (Swift's -sanitize=fuzzer,address):
# CSV, LightGCN and MovieLens records (ingested into an in-memory store), .npy headers,
# checkpoint headers and bodies, and the daemon's HTTP JSON bodies.
# Usage: scripts/fuzz.sh [--seconds N] [target …]     (default: 60 s for each of all six targets)
# Seeds come from Tests/Fuzz/corpus/<target>; inputs the fuzzer finds interesting go to
# .build-fuzz/corpus/<target> (kept between runs), crashes to .build-fuzz/crashes/<target>.
# Prints executions and crashes per target; exits 1 if any target crashed.
# Not part of `make test`: the instrumented build takes several minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=60
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_EACH=$2; shift ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) TARGETS+=("$1") ;;
  esac
  shift
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(csv lightgcn movielens npy checkpoint http-bodies)
make -s deps
SCRATCH=$PWD/.build-fuzz
echo "== building the fuzz harness (instrumented; first build takes minutes)"
swift build --package-path Tests/Fuzz --scratch-path "$SCRATCH/build" -c release \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -parse-as-library 2>&1 | tail -3
BIN=$(swift build --package-path Tests/Fuzz --scratch-path "$SCRATCH/build" -c release --show-bin-path)/twotower-fuzz
[ -x "$BIN" ] || { echo "the harness did not build" >&2; exit 2; }
status=0
# Crashes of earlier runs are kept aside (each became a regression test); this run reports its own.
for t in "${TARGETS[@]}"; do
  if [ -d "$SCRATCH/crashes/$t" ] && [ -n "$(ls -A "$SCRATCH/crashes/$t" 2>/dev/null)" ]; then
    mkdir -p "$SCRATCH/crashes-earlier/$t" && mv "$SCRATCH/crashes/$t"/* "$SCRATCH/crashes-earlier/$t/"
  fi
done
printf '\n%-12s %12s %10s %8s\n' target executions exec/s crashes
for t in "${TARGETS[@]}"; do
  mkdir -p "$SCRATCH/corpus/$t" "$SCRATCH/crashes/$t"
  log="$SCRATCH/$t.log"
  SWIFT_BACKTRACE=enable=no FUZZ_TARGET=$t "$BIN" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$SCRATCH/crashes/$t/" "$SCRATCH/corpus/$t" "Tests/Fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(find "$SCRATCH/crashes/$t" -type f | wc -l)
  printf '%-12s %12s %10s %8s\n' "$t" "${runs:-?}" "${rate:-?}" "$crashes"
  if [ $rc -ne 0 ] || [ "$crashes" -gt 0 ]; then status=1; echo "  see $log and $SCRATCH/crashes/$t/"; fi
done
echo
echo "Reproduce one input: FUZZ_TARGET=<target> $BIN <file>"
exit $status
