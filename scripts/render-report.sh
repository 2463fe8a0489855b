#!/usr/bin/env bash
# Renders a `twotower report` HTML file to PNG in headless Chromium (Debian package `chromium`,
# installed when missing), to check that the report opens from disk and its charts draw.
# Usage: scripts/render-report.sh report.html [out.png]
set -euo pipefail
HTML=$(realpath "$1"); PNG=${2:-${1%.html}.png}
if ! command -v chromium >/dev/null; then
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# No network is needed: the file has no external references (the test suite checks that too).
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2400 \
  --screenshot="$PNG" "file://$HTML" 2>/dev/null
echo "Wrote $PNG"
