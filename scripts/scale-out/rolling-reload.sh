#!/usr/bin/env bash
# Replicas behind HAProxy, and a rolling reload under load. R daemons serve the same store, model
# and index on loopback; HAProxy (health checks on /readyz) balances requests across them. While
# wrk runs 16 connections for --seconds, a new index version is built and each replica in turn is
# drained in HAProxy (runtime API), reloaded (POST /v1/admin/reload), checked and put back. The
# script prints wrk's figures, the non-2xx and socket errors (the bar: none), the index versions
# seen in answers over time (old, then new), and the throughput through HAProxy with 1 and with R
# replicas (on one machine's cores they share the CPU: more replicas add no throughput here).
# Usage: scripts/scale-out/rolling-reload.sh [--replicas R] [--seconds S] [--workdir DIR]
# Installs haproxy, socat and wrk (Debian packages) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
R=2; SECONDS_RUN=60; WORK=""
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) R=$2; shift ;;
    --seconds) SECONDS_RUN=$2; shift ;;
    --workdir) WORK=$2; shift ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
need=(); for tool in haproxy socat wrk; do command -v $tool >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
scripts/build-release.sh
BIN=$PWD/.build/release/twotower
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
if [ -z "$WORK" ]; then WORK=$(mktemp -d); trap 'cleanup; rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK"; cd "$WORK"
echo "== rolling reload behind HAProxy: $R replicas, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"

# A small deployment: the synthetic set, a trained model, its index (version 1).
if [ ! -f s.sqlite ]; then
  "$BIN" synth --out data --seed 42 >/dev/null
  "$BIN" ingest --format csv --input data --store s.sqlite >/dev/null
  "$BIN" split --store s.sqlite --method leave-last-out >/dev/null
  "$BIN" train --store s.sqlite --out model --export-items items.npy --export-users users.npy >/dev/null
fi
rm -rf index && "$BIN" build-index --vectors items.npy --queries users.npy --out index >/dev/null

BASE=18300
for r in $(seq 1 "$R"); do
  TWOTOWER_ADMIN_TOKEN=roll "$BIN" serve --store s.sqlite --model model --index index --port $((BASE + r)) > "replica$r.log" 2>&1 &
  PIDS+=($!)
done
for r in $(seq 1 "$R"); do for _ in $(seq 100); do curl -sf "localhost:$((BASE + r))/readyz" >/dev/null && break; sleep 0.2; done; done
{
  echo "global"
  echo "  stats socket $WORK/haproxy.sock mode 600 level admin"
  echo "defaults"
  echo "  mode http"
  echo "  timeout connect 1s"
  echo "  timeout client 30s"
  echo "  timeout server 30s"
  echo "  option redispatch"
  echo "  retries 2"
  echo "frontend fe"
  echo "  bind 127.0.0.1:$BASE"
  echo "  default_backend be"
  echo "backend be"
  echo "  balance roundrobin"
  echo "  option httpchk GET /readyz"
  echo "  http-check expect status 200"
  for r in $(seq 1 "$R"); do echo "  server r$r 127.0.0.1:$((BASE + r)) check inter 500ms fall 2 rise 1"; done
} > haproxy.cfg
haproxy -f haproxy.cfg -db > haproxy.log 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "localhost:$BASE/readyz" >/dev/null && break; sleep 0.2; done
admin() { echo "$1" | socat stdio "$WORK/haproxy.sock"; }

cat > users.lua <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/v1/users/u" .. ((counter * 7919) % 4000) .. "/recommendations?k=10")
end
LUA
# Throughput through HAProxy with one replica, then with all of them (10 s each).
for r in $(seq 2 "$R"); do admin "set server be/r$r state maint" >/dev/null; done
wrk -t2 -c16 -d10s -s users.lua "http://127.0.0.1:$BASE" > one.txt
for r in $(seq 2 "$R"); do admin "set server be/r$r state ready" >/dev/null; done
sleep 1
wrk -t2 -c16 -d10s -s users.lua "http://127.0.0.1:$BASE" > all.txt

# The measured run: the versions answers report, sampled every 0.2 s, while wrk runs and the
# replicas are reloaded one after another onto a new index version.
: > versions.txt
( end=$((SECONDS + SECONDS_RUN)); while [ $SECONDS -lt $end ]; do
    curl -s "localhost:$BASE/v1/users/u1/recommendations?k=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['index_version'])" >> versions.txt 2>/dev/null || echo error >> versions.txt
    sleep 0.2; done ) &
SAMPLER=$!
wrk -t2 -c16 -d${SECONDS_RUN}s --latency -s users.lua "http://127.0.0.1:$BASE" > roll.txt &
WRK=$!
sleep $((SECONDS_RUN / 6))
"$BIN" build-index --vectors items.npy --queries users.npy --out index > build2.txt   # version 2, current on disk
for r in $(seq 1 "$R"); do
  sleep $((SECONDS_RUN / (3 * R)))
  admin "set server be/r$r state drain" >/dev/null
  sleep 1
  curl -sf -XPOST -H "Authorization: Bearer roll" "localhost:$((BASE + r))/v1/admin/reload" > "reload$r.json"
  curl -sf "localhost:$((BASE + r))/readyz" > /dev/null
  admin "set server be/r$r state ready" >/dev/null
  echo "reloaded r$r: $(python3 -c "import json; d=json.load(open('reload$r.json')); print(d['previous_index_version'], '->', d['index_version'])")"
done
wait $WRK; wait $SAMPLER || true
cat roll.txt
python3 - "$R" <<'PY'
import re, sys
R = int(sys.argv[1])
def rps(name): return float(re.search(r"Requests/sec:\s+([\d.]+)", open(name).read()).group(1))
t = open("roll.txt").read()
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
sock = re.search(r"Socket errors: (.*)", t)
versions = [v.strip() for v in open("versions.txt") if v.strip()]
runs = []
for v in versions:
    if not runs or runs[-1][0] != v: runs.append([v, 0])
    runs[-1][1] += 1
print(f"\nrolling reload of {R} replicas under wrk: non-2xx {non2xx.group(1) if non2xx else 0}, socket errors {sock.group(1) if sock else 'none'} (bar: none)")
print("index versions answers reported, in order (version × samples): " + ", ".join(f"{v} × {n}" for v, n in runs))
print(f"throughput through HAProxy at 16 connections: 1 replica {rps('one.txt'):,.0f} req/s, {R} replicas {rps('all.txt'):,.0f} req/s "
      f"(the same {__import__('os').cpu_count()} cores: replicas share them)")
print("Reproduce: scripts/scale-out/rolling-reload.sh")
switched = len(runs) >= 2 and runs[0][0] != runs[-1][0] and "error" not in versions
if (non2xx and int(non2xx.group(1))) or sock or not switched:
    print("rolling reload: bars not met (non-2xx or socket errors, or the versions did not switch from old to new)")
    sys.exit(1)
PY
