#!/usr/bin/env bash
# Index benchmark: TwoTower's IVF (flat and SQ8) beside FAISS IndexIVFFlat / IVFSQ8 on the same
# 1M × 64 vectors in one run, with the ratios the index issue sets as bars.
# Usage: scripts/bench-index.sh [--setup-peers] [--n N] [--workdir DIR]
# Needs the peers' venv (python3 -m venv ~/.venv-peers && ~/.venv-peers/bin/pip install numpy scipy
# faiss-cpu hnswlib); --setup-peers creates it. Not a test: figures depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
N=1000000; WORK=""; SETUP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --setup-peers) SETUP=1 ;;
    --n) N=$2; shift ;;
    --workdir) WORK=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
PEERS=../shared/peers
VENV=${PEERS_VENV:-$HOME/.venv-peers}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import faiss" 2>/dev/null; then
  if [ $SETUP -eq 1 ]; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q numpy scipy faiss-cpu hnswlib
  else
    echo "The peers' venv ($VENV with faiss) is missing: rerun with --setup-peers." >&2; exit 1
  fi
fi
BIN=.build/release/twotower
swift build -c release --product twotower >/dev/null
if [ -z "$WORK" ]; then WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK"
PY="$VENV/bin/python"

echo "== TwoTower index benchmark, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
(cd "$PEERS" && "$PY" gen_vectors.py --n "$N" --d 64 --clusters 1000 --sigma 0.15 --queries 1000 --out-prefix "$WORK/syn")
BASE="$WORK/syn_base.npy"; QUERY="$WORK/syn_query.npy"

for enc in flat sq8; do
  rm -rf "$WORK/idx-$enc"
  /usr/bin/time -f "%M" -o "$WORK/rss-$enc" "$BIN" build-index --vectors "$BASE" --nlist 1024 --metric ip --encoding $enc \
    --out "$WORK/idx-$enc" --config /nonexistent --json > "$WORK/build-$enc.json"
  /usr/bin/time -f "%M" -o "$WORK/rss-eval-$enc" "$BIN" ann-eval --index "$WORK/idx-$enc" --queries "$QUERY" \
    --nprobe 1,2,4,8,16,32,64 --min-seconds 2 --json > "$WORK/eval-$enc.json"
  "$BIN" index-stats --index "$WORK/idx-$enc" --json > "$WORK/stats-$enc.json"
done
rm -f "$WORK/peer.jsonl"
(cd "$PEERS" && OPENBLAS_NUM_THREADS=1 "$PY" ann_peer.py --base "$BASE" --query "$QUERY" --nlist 1024 \
   --nprobe 1,2,4,8,16,32,64 --sq8 --json "$WORK/peer.jsonl" > "$WORK/peer.txt")

python3 - "$WORK" <<'PY'
import json, sys
import json as _json, os as _os
def emit(**entry):
    """One figure for scripts/bench.sh --json (appended as a JSON line when BENCH_JSON is set)."""
    if _os.environ.get("BENCH_JSON"):
        with open(_os.environ["BENCH_JSON"], "a") as f: f.write(_json.dumps(entry) + "\n")
w = sys.argv[1]
load = lambda p: json.load(open(f"{w}/{p}"))
build = {e: load(f"build-{e}.json") for e in ("flat", "sq8")}
ours = {e: load(f"eval-{e}.json") for e in ("flat", "sq8")}
stats = {e: load(f"stats-{e}.json") for e in ("flat", "sq8")}
rss = {e: int(open(f"{w}/rss-{e}").read().split()[-1]) / 1024 for e in ("flat", "sq8")}
rss_eval = {e: int(open(f"{w}/rss-eval-{e}").read().split()[-1]) / 1024 for e in ("flat", "sq8")}
peer = [json.loads(l) for l in open(f"{w}/peer.jsonl")]
pb = {r["index"]: r for r in peer if "build_s" in r}
pts = lambda name: [r for r in peer if r.get("index") == name and "nprobe" in r]
fflat, fsq8 = pts("IVFFlat"), pts("IVFSQ8")
peak_peer = [r for r in peer if "peak_rss_mib" in r][0]["peak_rss_mib"]

print("\n-- recall@10 / single-thread queries/s by nprobe (k = 10, nlist 1024, inner product)")
print(f"{'nprobe':>6} | {'ours flat':>18} | {'FAISS IVFFlat':>18} | {'ours SQ8+rerank':>18} | {'FAISS IVFSQ8':>18}")
for o, f, s, fs in zip(ours["flat"], fflat, ours["sq8"], fsq8):
    print(f"{o['nprobe']:>6} | {o['recall@10']:.4f} {o['qps']:>10,.0f} | {f['recall']:.4f} {f['qps_1thread']:>10,.0f} | "
          f"{s['recall@10']:.4f} {s['qps']:>10,.0f} | {fs['recall']:.4f} {fs['qps_1thread']:>10,.0f}")

first = next(f for f in fflat if f["recall"] >= 0.95)
mine = next(o for o in ours["flat"] if o["recall@10"] >= first["recall"])
print(f"\nBar 1 — FAISS IVFFlat first reaches recall@10 ≥ 0.95 at nprobe {first['nprobe']} ({first['recall']:.4f}, {first['qps_1thread']:,.0f} q/s).")
print(f"  ours at equal or higher recall: nprobe {mine['nprobe']} ({mine['recall@10']:.4f}, {mine['qps']:,.0f} q/s)"
      f"  → QPS ratio {mine['qps'] / first['qps_1thread']:.2f}× (bar ≥ 1.0×)")
fb = pb["IVFFlat"]["build_s"]
print(f"  build (train + add): ours {build['flat']['build_seconds']:.2f} s (train {build['flat']['train_seconds']:.2f} + add/write {build['flat']['add_seconds']:.2f}),"
      f" FAISS {fb:.2f} s → ratio {build['flat']['build_seconds'] / fb:.2f}× (bar ≤ 1.5×)")
print(f"  peak RSS: our build {rss['flat']:.0f} MiB, our ann-eval {rss_eval['flat']:.0f} MiB; FAISS whole run {peak_peer:.0f} MiB")

d = build["flat"]["dimension"]
print("\nBar 2 — SQ8 + re-rank vs IVF-Flat at the same nprobe (ours):")
for o, s in zip(ours["flat"], ours["sq8"]):
    print(f"  nprobe {o['nprobe']:>2}: recall@10 flat {o['recall@10']:.4f}, SQ8 {s['recall@10']:.4f} (Δ {s['recall@10'] - o['recall@10']:+.4f}); q/s {s['qps']:,.0f}")
print(f"  list bytes per vector: SQ8 codes {d} B vs float32 {4 * d} B = {d / (4 * d):.0%} (with the 8-byte id: {(d + 8) / (4 * d + 8):.0%}); bar ≤ 30%")
print(f"  on disk: flat {stats['flat']['bytes_per_vector']:.0f} B/vector, SQ8 {stats['sq8']['bytes_per_vector']:.0f} B/vector (SQ8 also keeps full vectors for re-ranking)")

emit(bar="index QPS at FAISS's first nprobe with recall@10 >= 0.95", ours=mine["qps"], peer=first["qps_1thread"],
     ratio=mine["qps"] / first["qps_1thread"], unit="queries/s (1 thread)", target=">= 1.0", nprobe_ours=mine["nprobe"],
     recall_ours=mine["recall@10"], nprobe_peer=first["nprobe"], recall_peer=first["recall"], peer_name="FAISS IndexIVFFlat")
emit(bar="index build time", ours=build["flat"]["build_seconds"], peer=fb, ratio=build["flat"]["build_seconds"] / fb, unit="s",
     target="<= 1.5", peer_name="FAISS IndexIVFFlat", peak_rss_mib_ours=rss["flat"], peak_rss_mib_peer=peak_peer)
emit(bar="SQ8 recall loss vs IVF-Flat (max over nprobe)", ours=max(o["recall@10"] - s["recall@10"] for o, s in zip(ours["flat"], ours["sq8"])),
     peer=None, ratio=None, unit="recall@10", target="<= 0.01", bytes_ratio=d / (4 * d))
print("\nReproduce: scripts/bench-index.sh   (raw outputs kept with --workdir DIR)")
PY
