#!/usr/bin/env bash
# Ingest benchmark: lines/s and peak RSS for Gowalla, ML-100K (from ../shared/data when present)
# and a ~10M-interaction synthetic set. Not a test: figures depend on the machine.
# Usage: scripts/bench-ingest.sh [workdir]   (default: a temporary directory, removed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/twotower
[ -x "$BIN" ] || scripts/build-release.sh
WORK=${1:-$(mktemp -d)}
mkdir -p "$WORK"
[ -n "${1:-}" ] || trap 'rm -rf "$WORK"' EXIT
SHARED=../shared/data

run() {  # name, then the twotower arguments
  local name=$1; shift
  rm -f "$WORK/$name.sqlite"*
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$BIN" "$@" --store "$WORK/$name.sqlite" --json > "$WORK/report.json"
  read -r seconds rss_kib < "$WORK/time"
  python3 - "$name" "$seconds" "$rss_kib" "$WORK/report.json" <<'PY'
import json, sys
import json as _json, os as _os
def emit(**entry):
    """One figure for scripts/bench.sh --json (appended as a JSON line when BENCH_JSON is set)."""
    if _os.environ.get("BENCH_JSON"):
        with open(_os.environ["BENCH_JSON"], "a") as f: f.write(_json.dumps(entry) + "\n")
name, seconds, rss_kib, path = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = json.load(open(path))
lines = sum(f["lines"] for f in r["files"])
print(f"{name:14s} {lines:>11,} lines {r['new_interactions']:>11,} interactions "
      f"{seconds:7.1f} s  {lines/seconds:>10,.0f} lines/s  {r['new_interactions']/seconds:>10,.0f} interactions/s  "
      f"peak RSS {rss_kib/1024:7.1f} MiB")
emit(bar=f"ingest {name}", ours=r["new_interactions"] / seconds, unit="interactions/s", peer=None, ratio=None,
     lines=lines, seconds=seconds, peak_rss_mib=rss_kib / 1024, note="no ingest peer in ../shared/peers")
PY
}

echo "twotower ingest benchmark, $(nproc) cores, $(date -u +%Y-%m-%d)"
[ -d "$SHARED/gowalla" ] && run gowalla ingest --format lightgcn --input "$SHARED/gowalla"
[ -d "$SHARED/ml-100k" ] && run ml-100k ingest --format movielens --input "$SHARED/ml-100k"
echo "generating the synthetic set (200,000 users, 1,000,000 items, ~10.3M interactions)…"
"$BIN" synth --out "$WORK/synthetic-10m" --users 200000 --items 1000000 --clusters 1000 --mean-interactions 52 --json
run synthetic-10m ingest --format csv --input "$WORK/synthetic-10m"
