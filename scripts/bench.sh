#!/usr/bin/env bash
# The benchmark suite: every bar of the training, index and daemon issues (and ingest), ours beside
# the peer from ../shared/peers in the same run, with ratios.
# Usage: scripts/bench.sh [--setup-peers] [--json FILE] [--only ingest,index,train,serve] [--gowalla-quality]
#   --json FILE   also write every figure as JSON: machine (cores, CPU, date), the command, entries
#   --setup-peers create the peers' venv (~/.venv-peers: numpy scipy faiss-cpu hnswlib implicit torch)
# Takes ~15 min on 2 cores (+~95 min with --gowalla-quality). Not a test: figures depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
JSON=""; ONLY="ingest,index,train,serve"; SETUP=""; QUALITY=""; COMMAND="scripts/bench.sh $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --json) JSON=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --setup-peers) SETUP=--setup-peers ;;
    --gowalla-quality) QUALITY=--gowalla-quality ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
LINES=$(mktemp); trap 'rm -f "$LINES"' EXIT
export BENCH_JSON="$LINES"
for part in ${ONLY//,/ }; do
  echo; echo "######## $part"
  case "$part" in
    ingest) scripts/bench-ingest.sh ;;
    index) scripts/bench-index.sh $SETUP ;;
    train) scripts/bench-train.sh $SETUP $QUALITY ;;
    serve) scripts/bench-serve.sh ;;
    *) echo "unknown part $part (ingest, index, train, serve)" >&2; exit 2 ;;
  esac
done
python3 - "$LINES" "$COMMAND" "$JSON" <<'PY'
import json, os, platform, subprocess, sys, datetime
lines, command, out = sys.argv[1], sys.argv[2], sys.argv[3]
entries = [json.loads(l) for l in open(lines) if l.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
result = {"machine": {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                      "os": platform.platform()},
          "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
          "command": command, "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
          "entries": entries}
print("\n######## summary")
for e in entries:
    ratio = f"{e['ratio']:.2f}×" if e.get("ratio") is not None else "—"
    fmt = lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4f}"
    peer = fmt(e["peer"]) if isinstance(e.get("peer"), (int, float)) else "—"
    print(f"  {e['bar']}: ours {fmt(e['ours'])} {e.get('unit', '')}, peer {peer}, ratio {ratio}" + (f" (target {e['target']})" if e.get("target") else ""))
if out:
    json.dump(result, open(out, "w"), indent=1)
    print(f"wrote {out}")
PY
