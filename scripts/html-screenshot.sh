#!/usr/bin/env bash
# scripts/html-screenshot.sh [DIR]: renders report.html pages in headless
# Chromium (Debian `chromium`, installed if missing) and writes a PNG next to
# each, so that a person can look at them without a desktop. Not part of
# `make test`: Chromium is heavy.
#
# Without DIR it makes two pages under report/html/: the sample page of the
# report tests (every part: causes, matrix, probe chart, known failures) and
# a real run of the Node.js verifier with JS-number counters (failures, an
# expect file). With DIR it shots DIR/report.html; with a FILE.html (such as
# docs/verifiers/matrix.html, a `conformance compare` page) it shots that.
#
# It fails when Chromium cannot render a page or the PNG is empty, and when a
# page asks for anything from the network while it renders.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  browser=$(command -v chromium)
fi

pages=()
if [ $# -gt 0 ]; then
  case "$1" in
    *.html) pages+=("$1") ;;
    *) pages+=("$1/report.html") ;;
  esac
else
  out=report/html
  mkdir -p "$out/sample" "$out/node-js-numbers"
  OTPLAB_REPORT_SAMPLE="$PWD/$out/sample/report.html" go test -count=1 -run '^TestHTML$' ./harness/report/ >/dev/null
  pages+=("$out/sample/report.html")
  if command -v node >/dev/null 2>&1; then
    (cd examples/node && npm ci --no-audit --no-fund --silent)
    go run ./cmd/conformance run --verifier 'exec:node examples/node/verifier.js --js-number-counters' \
      --seed 1 --report-dir "$out/node-js-numbers" >/dev/null 2>&1 || true
    pages+=("$out/node-js-numbers/report.html")
  fi
fi

for page in "${pages[@]}"; do
  [ -f "$page" ] || { echo "html-screenshot: $page: no such file" >&2; exit 1; }
  png="${page%.html}.png"
  rm -f "$png"
  # --host-resolver-rules makes every host unreachable: a self-contained
  # page does not notice; the log below shows any attempt.
  log=$(mktemp)
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --host-resolver-rules='MAP * ~NOTFOUND' --enable-logging=stderr --v=0 \
    --window-size=1280,1600 --screenshot="$png" "file://$PWD/$page" >"$log" 2>&1 || {
      cat "$log" >&2; rm -f "$log"; echo "html-screenshot: chromium failed on $page" >&2; exit 1; }
  if grep -E 'ERR_NAME_NOT_RESOLVED|net::ERR_' "$log" >&2; then
    rm -f "$log"; echo "html-screenshot: $page tried to load something" >&2; exit 1
  fi
  rm -f "$log"
  if [ ! -s "$png" ] || [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
    echo "html-screenshot: $png is not a PNG" >&2; exit 1
  fi
  echo "html-screenshot: $png ($(stat -c %s "$png") bytes)"

  # The verdict filter works in the browser: opened as #show=FAIL, every
  # case not labelled FAIL is hidden by the page's script, and none labelled
  # FAIL is.
  dom=$("$browser" --headless --no-sandbox --disable-gpu --host-resolver-rules='MAP * ~NOTFOUND' \
    --dump-dom "file://$PWD/$page#show=FAIL" 2>/dev/null)
  cases=$(grep -o '<details class="case[^"]*"[^>]*data-label="[A-Z-]*"' <<<"$dom" || true)
  if [ -n "$cases" ]; then
    if grep 'data-label="FAIL"' <<<"$cases" | grep -q 'case hidden'; then
      echo "html-screenshot: $page#show=FAIL hides a FAIL case" >&2; exit 1
    fi
    if grep -v 'data-label="FAIL"' <<<"$cases" | grep -vq 'case hidden'; then
      echo "html-screenshot: $page#show=FAIL shows a case that is not FAIL" >&2; exit 1
    fi
    echo "html-screenshot: $page: the verdict filter hides $(grep -c 'case hidden' <<<"$cases") of $(wc -l <<<"$cases") cases for #show=FAIL"
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --host-resolver-rules='MAP * ~NOTFOUND' \
      --window-size=1280,1600 --screenshot="${page%.html}-failures.png" "file://$PWD/$page#show=FAIL,ERROR,KNOWN" >/dev/null 2>&1
  fi
  # A compare page: opened as #show=FAIL,KNOWN&differ, every row kept has a
  # FAIL or KNOWN cell and differs, and every row hidden lacks one or the other.
  rows=$(grep -o '<tr class="row[^"]*"[^>]*data-labels="[^"]*" data-differs="[01]"' <<<"$dom" || true)
  if [ -n "$rows" ]; then
    dom=$("$browser" --headless --no-sandbox --disable-gpu --host-resolver-rules='MAP * ~NOTFOUND' \
      --dump-dom "file://$PWD/$page#show=FAIL,KNOWN&differ" 2>/dev/null)
    rows=$(grep -o '<tr class="row[^"]*"[^>]*data-labels="[^"]*" data-differs="[01]"' <<<"$dom" || true)
    if grep -v 'hidden' <<<"$rows" | grep -Eqv 'data-labels="[^"]*(FAIL|KNOWN)[^"]*" data-differs="1"'; then
      echo "html-screenshot: $page#show=FAIL,KNOWN&differ shows a row without such a cell or that does not differ" >&2; exit 1
    fi
    if grep 'hidden' <<<"$rows" | grep -Eq 'data-labels="[^"]*(FAIL|KNOWN)[^"]*" data-differs="1"'; then
      echo "html-screenshot: $page#show=FAIL,KNOWN&differ hides a row with such a cell that differs" >&2; exit 1
    fi
    echo "html-screenshot: $page: the filters keep $(grep -vc hidden <<<"$rows") of $(wc -l <<<"$rows") rows for #show=FAIL,KNOWN&differ"
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --host-resolver-rules='MAP * ~NOTFOUND' \
      --window-size=1280,1600 --screenshot="${page%.html}-differ.png" "file://$PWD/$page#differ" >/dev/null 2>&1
  fi
done
