#!/usr/bin/env bash
# scripts/stress-screenshot.sh DIR [PNG]: opens the first token-*.html
# timeline of a `conformance stress --report-dir DIR` in headless Chromium
# (Debian `chromium`, installed if missing), offline, and writes a PNG of it
# (default: next to the page). It fails when Chromium cannot render the page,
# when the page asks for anything from the network, when the rendered page
# has no drawn history (porcupine draws it with its script), or when the
# PNG is empty. Not part of make test: Chromium is heavy.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
[ $# -ge 1 ] || { echo "usage: scripts/stress-screenshot.sh DIR [PNG]" >&2; exit 2; }
page=$(ls "$1"/token-*.html 2>/dev/null | head -1 || true)
[ -n "$page" ] || { echo "stress-screenshot: $1: no token-*.html (no violation?)" >&2; exit 1; }
page=$(realpath "$page")
png=${2:-${page%.html}.png}

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  browser=$(command -v chromium)
fi
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --host-resolver-rules='MAP * ~NOTFOUND')

log=$(mktemp)
trap 'rm -f "$log"' EXIT
dom=$("$browser" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$page" 2>"$log") || {
  cat "$log" >&2; echo "stress-screenshot: chromium failed on $page" >&2; exit 1; }
if grep -E 'net::ERR_' "$log" >&2; then
  echo "stress-screenshot: $page tried to load something" >&2; exit 1
fi
ops=$(grep -o 'on node [0-9]*: ' <<<"$dom" | wc -l)
if [ "$ops" -eq 0 ]; then
  echo "stress-screenshot: $page: the rendered page shows no request" >&2; exit 1
fi
rm -f "$png"
"$browser" "${flags[@]}" --window-size=1400,400 --screenshot="$png" "file://$page" >/dev/null 2>&1
if [ ! -s "$png" ] || [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
  echo "stress-screenshot: $png is not a PNG" >&2; exit 1
fi
echo "stress-screenshot: $png ($(stat -c %s "$png") bytes; the page draws $ops request(s))"
