#!/usr/bin/env bash
# Builds the package and its tests (debug), for `make test`.
#
# A CI run once failed in this step with its error out of the part of the log it kept (only the
# last lines, which held other jobs' warnings). So the whole build log is kept, and when the build
# fails its error lines are printed again at the very end, where a truncated log still shows them.
# A failed build is tried once more, on one job: a transient failure of the parallel build (a
# compiler process killed, a race between jobs) then passes, and says so; a real error fails again.
set -uo pipefail
SWIFT=${SWIFT:-swift}
log=$(mktemp "${TMPDIR:-/tmp}/twotower-build-tests.XXXXXX")
trap 'rm -f "$log"' EXIT

errors() { grep -n -E "error:|Killed|signal [0-9]+|No space left" "$log" | grep -v "warning:" | tail -40; }

if "$SWIFT" build --build-tests 2>&1 | tee "$log"; then exit 0; fi
echo "== the test build failed; its errors:" >&2
errors >&2
echo "== building again on one job" >&2
if "$SWIFT" build --build-tests -j 1 2>&1 | tee -a "$log"; then
    echo "== the second build passed: the first failure was transient (its errors are above)" >&2
    exit 0
fi
echo "== the test build failed twice; its errors:" >&2
errors >&2
exit 1
