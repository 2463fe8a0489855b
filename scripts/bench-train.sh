#!/usr/bin/env bash
# Training benchmark: ours beside the peers in ../shared/peers, one after the other in one run.
#   shipped  — examples/s on Gowalla with Config/gowalla.json (a history encoder, popularity extras,
#              logQ) for 2 epochs without refit or early stop, beside torch_twotower_peer.py on the
#              same architecture (its arguments read from that file); our validation Recall@20 after the
#              2 epochs; our step's achieved GFLOP/s beside the sgemm GFLOP/s this machine reaches
#              at the same shape (measured here, now), and the history encoder's GB/s.
#   speed    — examples/s on Gowalla, ID towers d = 64, batch 2048, in-batch softmax τ 0.1, lr 0.005,
#              ours vs torch_twotower_peer.py with the same settings, one after the other;
#              plus the time to evaluate every Gowalla test user exactly.
#   ml-100k  — leave-last-out HitRate@10 / NDCG@10: ours (Config/ml-100k.json) vs implicit ALS,
#              implicit BPR, the PyTorch two-tower and EASE^R (scripts/peers/ease_peer.py).
#              Also the general default (Config/train.json, sizes derived from the data) on it.
#   gowalla  — (with --gowalla-quality: early stopping, then the refit) the whole shipped
#              Config/gowalla.json run's wall time, CPU use and test Recall@20 / NDCG@20, beside the
#              published figures in ../shared/EVAL.md; (with --gowalla-default) the same for the
#              general default recipe, Config/train.json, which must come within 3% of the shipped
#              config's Recall@20.
# Usage: scripts/bench-train.sh [--setup-peers] [--gowalla-quality] [--gowalla-default] [--speed-epochs N] [--workdir DIR]
# Not a test: figures depend on the machine and on what else runs on it.
set -euo pipefail
cd "$(dirname "$0")/.."
SETUP=0; QUALITY=0; DEFAULT=0; EPOCHS=3; WORK=""
while [ $# -gt 0 ]; do
  case "$1" in
    --setup-peers) SETUP=1 ;;
    --gowalla-quality) QUALITY=1 ;;
    --gowalla-default) DEFAULT=1 ;;
    --speed-epochs) EPOCHS=$2; shift ;;
    --workdir) WORK=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
PEERS=$(realpath ../shared/peers); DATA=$(realpath ../shared/data)
VENV=${PEERS_VENV:-$HOME/.venv-peers}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch, implicit" 2>/dev/null; then
  if [ $SETUP -eq 1 ]; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q numpy scipy faiss-cpu hnswlib implicit torch
  else
    echo "The peers' venv ($VENV with torch and implicit) is missing: rerun with --setup-peers." >&2; exit 1
  fi
fi
PY="$VENV/bin/python"

# implicit ALS tuned as the quality issue asks: a small grid (factors × regularisation × confidence
# weight) scored on the peer's validation part, then the best of it trained on train + validation
# and tested; its test row is appended to $3 (the grid's rows go to $3.grid).
als_tuned() {  # dataset data-dir out.jsonl metric
  local dataset=$1 data=$2 out=$3 metric=$4
  rm -f "$out.grid"
  for f in 64 128 256; do for r in 0.01 0.1; do for al in 1 10; do
    (cd "$PEERS" && OPENBLAS_NUM_THREADS=1 "$PY" implicit_peer.py --dataset "$dataset" --data "$data" --model als --factors $f \
       --regularization $r --alpha $al --split valid --json "$out.grid" >/dev/null)
  done; done; done
  read -r f r al < <("$PY" -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; b=max(rows, key=lambda x: x[sys.argv[2]]); print(b['factors'], b['regularization'], b['alpha'])" "$out.grid" "$metric")
  (cd "$PEERS" && OPENBLAS_NUM_THREADS=1 "$PY" implicit_peer.py --dataset "$dataset" --data "$data" --model als --factors "$f" \
     --regularization "$r" --alpha "$al" --json "$out" >/dev/null)
}
BIN=.build/release/twotower
scripts/build-release.sh
if [ -z "$WORK" ]; then WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK"
echo "== TwoTower training benchmark, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"

[ -f "$WORK/gw.sqlite" ] || "$BIN" ingest --format lightgcn --input "$DATA/gowalla" --store "$WORK/gw.sqlite" >/dev/null
[ -f "$WORK/ml.sqlite" ] || "$BIN" ingest --format movielens --input "$DATA/ml-100k" --store "$WORK/ml.sqlite" >/dev/null
"$BIN" split --store "$WORK/gw.sqlite" --method validation-from --source given --name given-validation >/dev/null
"$BIN" split --store "$WORK/ml.sqlite" --method leave-last-out >/dev/null
sync  # the stores' writes reach the disk now, not during the first timed epoch

# The shipped architecture: ours for 2 epochs (no refit, no early stop), then the peer on it.
rm -f "$WORK/torch-shipped.jsonl" "$WORK/torch-speed.jsonl"  # the peer appends; a kept --workdir must not mix runs
# The peer's arguments come from the same file, so the two always train the same architecture.
PEER_ARGS=$(python3 - "$WORK/shipped.json" <<'PY'
import json, sys
c = json.load(open("Config/gowalla.json"))
print(f"--dim {c['embedding_dimension']} --batch {c['batch_size']} --tau {c['temperature']} --lr {c['learning_rate']}"
      f" --history {c['history_length']} --extra-negatives {c['extra_negatives']} --neg-sampling {c['negative_sampling']}"
      + (" --logq" if c.get("logq_correction") else "") + " --mask-history")
c.update({"epochs": 2, "patience": 100, "refit_split": ""})
json.dump(c, open(sys.argv[1], "w"))
with open(sys.argv[1] + ".sgemm", "w") as f:  # the logits' shape: rows × (rows + extras) × d
    f.write(f"--rows {c['batch_size']} --columns {c['batch_size'] + c['extra_negatives']} --dimension {c['embedding_dimension']}")
PY
)
/usr/bin/time -f "%P" -o "$WORK/shipped-cpu" "$BIN" train --store "$WORK/gw.sqlite" --config "$WORK/shipped.json" --out "$WORK/shipped-model" \
  | tee "$WORK/ours-shipped.txt"
# shellcheck disable=SC2046
"$BIN" sgemm-rate $(cat "$WORK/shipped.json.sgemm") | tee "$WORK/sgemm.txt"
echo "torch_twotower_peer.py --dataset lightgcn $PEER_ARGS --threads 2 --epochs 2" > "$WORK/peer-args.txt"
# shellcheck disable=SC2086  # PEER_ARGS is a list of words
(cd "$PEERS" && "$PY" torch_twotower_peer.py --dataset lightgcn --data "$DATA/gowalla" $PEER_ARGS --threads 2 --epochs 2 --eval-every 1000 \
   --json "$WORK/torch-shipped.jsonl" | tee "$WORK/torch-shipped.txt")

# Speed: the peer's architecture and loss, same batch, same number of epochs.
cat > "$WORK/speed.json" <<JSON
{"embedding_dimension": 64, "epochs": $EPOCHS, "batch_size": 2048, "learning_rate": 0.005, "temperature": 0.1,
 "split": "given-validation", "patience": 100, "user_features": false, "item_features": false}
JSON
"$BIN" train --store "$WORK/gw.sqlite" --config "$WORK/speed.json" --out "$WORK/speed-model" | tee "$WORK/ours-speed.txt"
(cd "$PEERS" && "$PY" torch_twotower_peer.py --dataset gowalla --data "$DATA/gowalla" --epochs "$EPOCHS" --eval-every 1000 \
   --batch 2048 --tau 0.1 --lr 0.005 --dim 64 --threads 2 --json "$WORK/torch-speed.jsonl" | tee "$WORK/torch-speed.txt")
/usr/bin/time -f "%e" -o "$WORK/eval-time" "$BIN" evaluate --store "$WORK/gw.sqlite" --model "$WORK/speed-model" \
   --split test --split-name given --json > "$WORK/eval.json"

# ML-100K leave-last-out.
"$BIN" train --store "$WORK/ml.sqlite" --config Config/ml-100k.json --out "$WORK/ml-model" > "$WORK/ours-ml.txt"
"$BIN" evaluate --store "$WORK/ml.sqlite" --model "$WORK/ml-model" --split test --split-name leave-last-out --json > "$WORK/ours-ml.json"
"$BIN" train --store "$WORK/ml.sqlite" --config Config/train.json --out "$WORK/ml-default" > "$WORK/ours-ml-default.txt"
"$BIN" evaluate --store "$WORK/ml.sqlite" --model "$WORK/ml-default" --split test --split-name leave-last-out --json > "$WORK/ours-ml-default.json"
rm -f "$WORK/peers-ml.jsonl"
for m in als bpr; do
  (cd "$PEERS" && OPENBLAS_NUM_THREADS=1 "$PY" implicit_peer.py --dataset ml-100k --data "$DATA/ml-100k" --model $m --json "$WORK/peers-ml.jsonl" >/dev/null)
done
als_tuned ml-100k "$DATA/ml-100k" "$WORK/als-ml.jsonl" hitrate@10
(cd "$PEERS" && "$PY" torch_twotower_peer.py --dataset ml-100k --data "$DATA/ml-100k" --epochs 30 --batch 512 --tau 0.1 --lr 0.005 \
   --threads 2 --json "$WORK/peers-ml.jsonl" >/dev/null)
# EASE^R (closed form; its λ chosen on the validation item, then refit and tested).
"$PY" scripts/peers/ease_peer.py --dataset ml-100k --data "$DATA/ml-100k" --lambdas 50,100,200,300,500,1000,2000 --json "$WORK/peers-ml.jsonl" >/dev/null

# Synthetic default (the demo's data): ours against popularity.
if [ ! -f "$WORK/syn.sqlite" ]; then
  "$BIN" synth --out "$WORK/syn" >/dev/null
  "$BIN" ingest --format csv --input "$WORK/syn" --store "$WORK/syn.sqlite" >/dev/null
  "$BIN" split --store "$WORK/syn.sqlite" --method leave-last-out >/dev/null
fi
"$BIN" train --store "$WORK/syn.sqlite" --config Config/train.json --out "$WORK/syn-model" > "$WORK/ours-syn.txt"
"$BIN" evaluate --store "$WORK/syn.sqlite" --model "$WORK/syn-model" --split test --json > "$WORK/ours-syn.json"
"$BIN" evaluate --store "$WORK/syn.sqlite" --model popularity --split test --json > "$WORK/pop-syn.json"

if [ $QUALITY -eq 1 ]; then
  /usr/bin/time -f "%e %P" -o "$WORK/gw-time" "$BIN" train --store "$WORK/gw.sqlite" --config Config/gowalla.json --out "$WORK/gw-model" \
    | tee "$WORK/ours-gw.txt"
  "$BIN" evaluate --store "$WORK/gw.sqlite" --model "$WORK/gw-model" --split test --split-name given --json > "$WORK/ours-gw.json"
fi
if [ $DEFAULT -eq 1 ]; then
  # The general default on the same validation split; its refit trains on that split's train and
  # validation parts together, which is Gowalla's given train part.
  /usr/bin/time -f "%e %P" -o "$WORK/gw-default-time" "$BIN" train --store "$WORK/gw.sqlite" --config Config/train.json \
    --split-name given-validation --out "$WORK/gw-default" | tee "$WORK/ours-gw-default.txt"
  "$BIN" evaluate --store "$WORK/gw.sqlite" --model "$WORK/gw-default" --split test --split-name given --json > "$WORK/ours-gw-default.json"
  als_tuned gowalla "$DATA/gowalla" "$WORK/als-gw.jsonl" recall@20
fi

python3 - "$WORK" "$QUALITY" "$DEFAULT" <<'PY'
import json, re, statistics, sys
import json as _json, os as _os
def emit(**entry):
    """One figure for scripts/bench.sh --json (appended as a JSON line when BENCH_JSON is set)."""
    if _os.environ.get("BENCH_JSON"):
        with open(_os.environ["BENCH_JSON"], "a") as f: f.write(_json.dumps(entry) + "\n")
w, quality, default = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
def epochs(path):
    """Per epoch: examples/s and validation Recall@20 from our train log."""
    return [(float(m.group(1).replace(",", "")), float(m.group(2)) if m.group(2) else None)
            for m in re.finditer(r"loss \S+\s+([\d,]+) ex/s(?:[^\n]*?val recall@20 ([\d.]+))?[^\n]*\n", open(path).read())]
shipped = epochs(f"{w}/ours-shipped.txt")
peer_shipped = json.loads(open(f"{w}/torch-shipped.jsonl").read().splitlines()[-1])
o = statistics.median(e[0] for e in shipped)
p = peer_shipped["median_examples_per_s"]
val = shipped[-1][1]
sgemm = float(open(f"{w}/sgemm.txt").read().split()[0])
print("\n-- shipped architecture: Gowalla, Config/gowalla.json, 2 epochs, no refit (median epoch)")
print(f"  ours {o:,.0f} ex/s   PyTorch {peer_shipped['torch']} {p:,.0f} ex/s   → ratio {o / p:.2f}× (bar ≥ 2.0×)")
cpu = [float(c) for c in re.findall(r"CPU (\d+)%", open(f"{w}/ours-shipped.txt").read())]
print(f"  ours validation Recall@20 after 2 epochs {val:.4f} (bar ≥ 0.2065); CPU {open(f'{w}/shipped-cpu').read().strip()} for the whole command"
      + (f", {statistics.median(cpu):.0f}% over the epochs' training (bar ≥ 190%)" if cpu else ""))
emit(bar="training examples/s, shipped Gowalla architecture", ours=o, peer=p, ratio=o / p, unit="examples/s", target=">= 2.0",
     peer_name=f"PyTorch {peer_shipped['torch']} two-tower ({open(f'{w}/peer-args.txt').read().strip()})", validation_recall20=val)
rates = re.findall(r"gemm ([\d.]+) GFLOP/s, history ([\d.]+) GB/s", open(f"{w}/ours-shipped.txt").read())
if rates:
    g, h = statistics.median(float(r[0]) for r in rates), statistics.median(float(r[1]) for r in rates)
    print(f"  our step: {g:.0f} GFLOP/s of the three products over the whole step, beside {sgemm:.0f} GFLOP/s sgemm alone at the same shape "
          f"({100 * g / sgemm:.0f}%); history encoder {h:.1f} GB/s")
ours = [float(m.group(1).replace(",", "")) for m in re.finditer(r"loss \S+\s+([\d,]+) ex/s", open(f"{w}/ours-speed.txt").read())]
peer = json.loads(open(f"{w}/torch-speed.jsonl").read().splitlines()[-1])
o, p = statistics.median(ours), peer["median_examples_per_s"]
print("\n-- speed: Gowalla, ID towers d 64, batch 2048, in-batch softmax, 2 cores (median epoch)")
print(f"  ours {o:,.0f} ex/s   PyTorch {peer['torch']} {p:,.0f} ex/s   → ratio {o / p:.2f}× (bar ≥ 2.0×)")
emit(bar="training examples/s on Gowalla (ID towers d 64, batch 2048, in-batch softmax)", ours=o, peer=p, ratio=o / p,
     unit="examples/s", target=">= 2.0", peer_name=f"PyTorch {peer['torch']} two-tower")
emit(bar="exact evaluation of all Gowalla test users", ours=float(open(f"{w}/eval-time").read()), peer=None, ratio=None, unit="s")
print(f"  exact evaluation of every Gowalla test user: {open(f'{w}/eval-time').read().strip()} s (whole command)")
print("\n-- ML-100K leave-last-out: HitRate@10 / NDCG@10")
m = json.load(open(f"{w}/ours-ml.json"))
print(f"  ours (Config/ml-100k.json)  {m['hitrate@10']:.4f} / {m['ndcg@10']:.4f}")
md = json.load(open(f"{w}/ours-ml-default.json"))
print(f"  ours (Config/train.json)    {md['hitrate@10']:.4f} / {md['ndcg@10']:.4f}   (the general default, sizes derived; bar HitRate@10 ≥ 0.0923)")
emit(bar="ML-100K leave-last-out HitRate@10, the general default (Config/train.json)", ours=md["hitrate@10"], peer=m["hitrate@10"],
     ratio=md["hitrate@10"] / m["hitrate@10"], unit="HitRate@10", target=">= 0.0923", peer_name="ours, Config/ml-100k.json")
peers_ml = [r for r in map(json.loads, open(f"{w}/peers-ml.jsonl")) if r.get("split", "test") == "test"]
best = max(peers_ml, key=lambda r: r.get("hitrate@10", 0))
emit(bar="ML-100K leave-last-out HitRate@10 vs the best peer", ours=m["hitrate@10"], peer=best["hitrate@10"],
     ratio=m["hitrate@10"] / best["hitrate@10"], unit="HitRate@10", target=">= 1.0", peer_name=best.get("peer"),
     ndcg10_ours=m["ndcg@10"], ndcg10_peer=best["ndcg@10"], peers={r.get("peer"): [r["hitrate@10"], r["ndcg@10"]] for r in peers_ml})
for r in map(json.loads, open(f"{w}/peers-ml.jsonl")):
    if r.get("split", "test") != "test": continue
    name = r.get("peer", "") + " " + str(r.get("model", ""))
    hr = r.get("hitrate@10", r.get("hr@10")); nd = r.get("ndcg@10")
    print(f"  {name.strip():<27} {hr:.4f} / {nd:.4f}")
def tuned(path):
    """The tuned ALS test row and the grid it was chosen from."""
    test = json.loads(open(path).read().splitlines()[-1])
    grid = len(open(path + ".grid").read().splitlines())
    return test, f"implicit ALS tuned on validation ({grid} configurations; chose {test['factors']} factors, reg {test['regularization']}, alpha {test['alpha']})"
als_ml, als_ml_name = tuned(f"{w}/als-ml.jsonl")
print(f"  {als_ml_name}: {als_ml['hitrate@10']:.4f} / {als_ml['ndcg@10']:.4f}")
emit(bar="ML-100K leave-last-out HitRate@10, the general default vs tuned implicit ALS", ours=md["hitrate@10"], peer=als_ml["hitrate@10"],
     ratio=md["hitrate@10"] / als_ml["hitrate@10"], unit="HitRate@10", target=">= 1.0", peer_name=als_ml_name,
     ndcg10_ours=md["ndcg@10"], ndcg10_peer=als_ml["ndcg@10"])
o_syn, p_syn = json.load(open(f"{w}/ours-syn.json")), json.load(open(f"{w}/pop-syn.json"))
print("\n-- synthetic default (Config/train.json), leave-last-out test: Recall@20 / NDCG@20")
print(f"  ours {o_syn['recall@20']:.4f} / {o_syn['ndcg@20']:.4f}   popularity {p_syn['recall@20']:.4f} / {p_syn['ndcg@20']:.4f}"
      f"   → {o_syn['recall@20'] / p_syn['recall@20']:.1f}×")
emit(bar="synthetic default Recall@20 vs popularity", ours=o_syn["recall@20"], peer=p_syn["recall@20"],
     ratio=o_syn["recall@20"] / p_syn["recall@20"], unit="Recall@20", target="well above 1", peer_name="popularity")
if quality:
    g = json.load(open(f"{w}/ours-gw.json"))
    wall, cpu = open(f"{w}/gw-time").read().split()
    print("\n-- Gowalla, the whole shipped Config/gowalla.json run (early stopping, refit): wall time and test Recall@20 / NDCG@20")
    print(f"  {float(wall) / 60:.1f} min wall, CPU {cpu} (bar ≤ 30 min)   test {g['recall@20']:.4f} / {g['ndcg@20']:.4f} "
          f"(bar ≥ 0.1815 / 0.1490; LightGCN 0.1830 / 0.1554, SimpleX 0.1872 / 0.1557)")
    emit(bar="Gowalla test Recall@20 (Config/gowalla.json)", ours=g["recall@20"], peer=0.1830, ratio=g["recall@20"] / 0.1830,
         unit="Recall@20", target=">= 0.175", peer_name="LightGCN (published, ../shared/EVAL.md)", ndcg20_ours=g["ndcg@20"], ndcg20_peer=0.1554)
if default:
    d = json.load(open(f"{w}/ours-gw-default.json"))
    wall, cpu = open(f"{w}/gw-default-time").read().split()
    shipped_recall = json.load(open(f"{w}/ours-gw.json"))["recall@20"] if quality else 0.1826
    print("\n-- Gowalla, the general default (Config/train.json, sizes derived from the data): wall time and test Recall@20 / NDCG@20")
    print(f"  {float(wall) / 60:.1f} min wall, CPU {cpu}   test {d['recall@20']:.4f} / {d['ndcg@20']:.4f}   "
          f"→ {d['recall@20'] / shipped_recall:.3f} of the shipped config's Recall@20 {shipped_recall:.4f}"
          + ("" if quality else " (README's figure; run --gowalla-quality too for this run's)") + " (bar ≥ 0.97)")
    emit(bar="Gowalla test Recall@20, the general default vs Config/gowalla.json", ours=d["recall@20"], peer=shipped_recall,
         ratio=d["recall@20"] / shipped_recall, unit="Recall@20", target=">= 0.97", peer_name="ours, Config/gowalla.json")
    als_gw, als_gw_name = tuned(f"{w}/als-gw.jsonl")
    print(f"  {als_gw_name}: test {als_gw['recall@20']:.4f} / {als_gw['ndcg@20']:.4f}   → ours / ALS {d['recall@20'] / als_gw['recall@20']:.3f} "
          f"(Recall@20), {d['ndcg@20'] / als_gw['ndcg@20']:.3f} (NDCG@20); EASE^R published 0.1765 / 0.1467")
    emit(bar="Gowalla test Recall@20, the general default vs tuned implicit ALS", ours=d["recall@20"], peer=als_gw["recall@20"],
         ratio=d["recall@20"] / als_gw["recall@20"], unit="Recall@20", target=">= 1.0", peer_name=als_gw_name,
         ndcg20_ours=d["ndcg@20"], ndcg20_peer=als_gw["ndcg@20"])
print("\nReproduce: scripts/bench-train.sh [--gowalla-quality] [--gowalla-default]   (raw outputs kept with --workdir DIR)")
PY
