#!/usr/bin/env bash
# Builds the release binary (.build/release/twotower) for the benchmark and scale-out scripts:
# through `make build`, which first installs the system libraries (BLIS, LMDB, SQLite headers)
# when they are missing, quietly; on failure it prints the build log's tail and exits 1, so a
# calling script under `set -e` never stops without saying why.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! make -s build > "$log" 2>&1; then
  tail -40 "$log" >&2
  echo "build failed: make build (log above)" >&2
  exit 1
fi
