#!/usr/bin/env bash
# Scale-out end to end on this machine, checking its own bars (exit 1 when one fails):
#   1. Spark (a real standalone cluster started here: a master and two one-core workers on
#      loopback, and local[N] mode): S = 4 item shards embedded and indexed in parallel and
#      published as one set (manifest written last); batch recommendations over 4 user shards
#      into one output directory, undisturbed, with one task's process killed (kill -9) and in
#      local[2] mode — each identical to one single-process `twotower recommend`.
#   2. Sharded serving: two shard daemons and a router (`serve --shards`): over exact shards
#      its top-10 for 1,000 users equals one exact index's; over IVF shards its ANN recall@10 is
#      at least one IVF index's at the same nprobe; a killed shard gives partial answers, never
#      5xx, and full ones again once restarted.
#   3. Replicas behind HAProxy with a rolling reload under wrk (scripts/scale-out/rolling-reload.sh).
# Usage: scripts/scale-out/run.sh [--workdir DIR] [--seconds S]   (S: the rolling reload's wrk run, 60)
# Installs what it needs when missing: Java 17, haproxy, socat, wrk (Debian packages) and pyspark
# (PyPI, in a virtual environment at $TWOTOWER_SPARK_VENV, default ~/.venv-spark).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=""; ROLL_SECONDS=60
while [ $# -gt 0 ]; do
  case "$1" in
    --workdir) WORK=$2; shift ;;
    --seconds) ROLL_SECONDS=$2; shift ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
START=$SECONDS
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
for tool in haproxy socat wrk curl; do command -v $tool >/dev/null || need+=($tool); done
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
VENV=${TWOTOWER_SPARK_VENV:-$HOME/.venv-spark}
if ! "$VENV/bin/python" -c "import pyspark" 2>/dev/null; then
  echo "Installing pyspark into $VENV"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "pyspark>=3.5"
fi
PY=$VENV/bin/python
export PYSPARK_PYTHON=$PY SPARK_LOCAL_IP=127.0.0.1
SPARK_HOME=$("$PY" -c "import os, pyspark; print(os.path.dirname(pyspark.__file__))")
scripts/build-release.sh
BIN=$ROOT/.build/release/twotower
DRIVER="$PY $ROOT/scripts/spark/twotower_spark.py"
CHECK="python3 $ROOT/scripts/scale-out/check_router.py"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
if [ -z "$WORK" ]; then WORK=$(mktemp -d); trap 'cleanup; rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK"; cd "$WORK"
FAIL=0
bar() { if "$@"; then :; else echo "  ^ BAR NOT MET"; FAIL=1; fi; }
echo "== scale-out on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), Spark $("$PY" -c 'import pyspark; print(pyspark.__version__)'), $(haproxy -v | head -1 | cut -d' ' -f1-3)"

# A deployment: the synthetic recipe at 10,000 users × 20,000 items, a model, the users' embeddings.
if [ ! -f s.sqlite ]; then
  "$BIN" synth --out data --users 10000 --items 20000 --seed 42 >/dev/null
  "$BIN" ingest --format csv --input data --store s.sqlite >/dev/null
  "$BIN" split --store s.sqlite --method leave-last-out >/dev/null
fi
[ -f model/model.ckpt ] || "$BIN" train --store s.sqlite --out model --export-users users.npy --export-items items.npy | tail -1

# --- 1. Spark ---------------------------------------------------------------------------------
"$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 17077 --webui-port 18080 > master.log 2>&1 &
PIDS+=($!)
for w in 1 2; do
  mkdir -p "worker$w"
  "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 --memory 1g \
    --work-dir "$WORK/worker$w" --webui-port $((18080 + w)) spark://127.0.0.1:17077 > "worker$w.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 120); do
  [ "$(curl -s localhost:18080/json/ | python3 -c 'import json,sys; print(sum(w["state"] == "ALIVE" for w in json.load(sys.stdin)["workers"]))' 2>/dev/null)" = 2 ] && break
  sleep 0.5
done
CLUSTER=spark://127.0.0.1:17077
echo "Spark standalone cluster: $CLUSTER, $(curl -s localhost:18080/json/ | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["workers"]), "workers of", [w["cores"] for w in d["workers"]], "cores")')"

spark() { local log=$1; shift; if ! $DRIVER "$@" > "$log" 2>&1; then echo "Spark job failed ($log):"; grep -v '^\s*at ' "$log" | tail -20; exit 1; fi; tail -1 "$log"; }
rm -rf set4 rec-*
echo "-- build: 4 item shards on the cluster, published together"
spark build.log build --master $CLUSTER --bin "$BIN" --store s.sqlite --model model --shards 4 --queries users.npy --out set4
"$BIN" recommend --store s.sqlite --model model --index set4/shard-set.json --out single.csv | tail -1
tail -n +2 single.csv | sort > single.sorted
same() { cat "$1"/part-* | sort | cmp -s - single.sorted; }
echo "-- recommend: 4 user shards on the cluster, undisturbed"
spark rec-a.log recommend --master $CLUSTER --bin "$BIN" --store s.sqlite --model model --index set4/shard-set.json --shards 4 --out rec-a
bar same rec-a; echo "  rows identical to single-process recommend: $(same rec-a && echo yes || echo NO)"
echo "-- recommend: the same, task 1's twotower process killed with SIGKILL mid-run"
spark rec-b.log recommend --master $CLUSTER --bin "$BIN" --store s.sqlite --model model --index set4/shard-set.json --shards 4 --out rec-b --kill-one-task 1
bar same rec-b; echo "  rows identical to single-process recommend: $(same rec-b && echo yes || echo NO)"
echo "-- recommend: local[2] mode"
spark rec-c.log recommend --master "local[2,4]" --bin "$BIN" --store s.sqlite --model model --index set4/shard-set.json --shards 4 --out rec-c
bar same rec-c; echo "  rows identical to single-process recommend: $(same rec-c && echo yes || echo NO)"

# --- 2. Sharded serving -----------------------------------------------------------------------
echo "-- router over 2 shards"
spark exact2.log build --master $CLUSTER --bin "$BIN" --store s.sqlite --model model --shards 2 --layout exact --out exact2 >/dev/null
spark ivf2.log build --master $CLUSTER --bin "$BIN" --store s.sqlite --model model --shards 2 --layout ivf --queries users.npy --out ivf2 >/dev/null
rm -rf exact1 ivf1
"$BIN" build-index --vectors items.npy --layout exact --out exact1 >/dev/null
"$BIN" build-index --vectors items.npy --layout ivf --queries users.npy --out ivf1 >/dev/null
serve() { "$BIN" serve --store s.sqlite --model model --port "$@" > "serve-$1.log" 2>&1 & PIDS+=($!); eval "PID_$1=$!"; }
ready() { for _ in $(seq 150); do curl -sf "localhost:$1/readyz" >/dev/null && return 0; sleep 0.2; done; echo "daemon on $1 not ready"; return 1; }
serve 18411 --index exact2/shards/0; serve 18412 --index exact2/shards/1; serve 18420 --index exact1
serve 18431 --index ivf2/shards/0; serve 18432 --index ivf2/shards/1; serve 18440 --index ivf1
for p in 18411 18412 18420 18431 18432 18440; do ready $p; done
serve 18410 --shards http://127.0.0.1:18411,http://127.0.0.1:18412
serve 18430 --shards http://127.0.0.1:18431,http://127.0.0.1:18432
ready 18410; ready 18430
bar $CHECK exact --router http://127.0.0.1:18410 --single http://127.0.0.1:18420 --users 1000
NPROBE=$(curl -s localhost:18440/readyz | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("search", d).get("nprobe", 8))' 2>/dev/null || echo 8)
for np in 1 "$NPROBE"; do
  bar $CHECK recall --router http://127.0.0.1:18430 --single http://127.0.0.1:18440 --truth http://127.0.0.1:18420 --nprobe "$np" --users 1000
done
echo "-- a shard daemon killed (kill -9), then restarted"
kill -9 "$PID_18411"; wait "$PID_18411" 2>/dev/null || true; sleep 0.5
bar $CHECK partial --router http://127.0.0.1:18410 --users 200 --expect-missing
serve 18411 --index exact2/shards/0; ready 18411
bar $CHECK partial --router http://127.0.0.1:18410 --users 200
bar $CHECK exact --router http://127.0.0.1:18410 --single http://127.0.0.1:18420 --users 200
cleanup; PIDS=()

# --- 3. Replicas behind HAProxy, rolling reload -----------------------------------------------
echo "-- replicas behind HAProxy"
"$ROOT/scripts/scale-out/rolling-reload.sh" --replicas 2 --seconds "$ROLL_SECONDS" --workdir "$WORK/roll" > roll.txt 2>&1 || FAIL=1
grep -v "^\s*$" roll.txt

echo
echo "scale-out run: $((SECONDS - START)) s (bar: ≤ 900 s); $([ $FAIL = 0 ] && echo 'every bar met' || echo 'SOME BARS NOT MET')"
echo "Reproduce: scripts/scale-out/run.sh"
exit $FAIL
