#!/usr/bin/env bash
# make interop: the conformance suite against real, independently written
# verifiers. Installs what liboath needs (Debian packages), builds the CLI,
# runs the suite against the liboath shim with its profile and expect file
# (seed pinned: which codes a token draws decides whether some of liboath's
# length bugs show, see docs/verifiers/liboath.md),
# checks that `conformance probe` measures liboath's profile, and runs the
# Python vendor shim. Reports go to report/interop/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=report/interop
mkdir -p "$out" bin

bash examples/liboath/setup.sh
go build -o bin/conformance ./cmd/conformance

echo "== liboath: conformance run (expect file examples/liboath/expect.txt)"
bin/conformance run --verifier 'exec:python3 examples/liboath/verifier.py' \
  --profile examples/liboath/profile.json --expect examples/liboath/expect.txt --seed 1 \
  --report-dir "$out/liboath"

echo "== liboath: conformance probe must measure examples/liboath/profile.json"
bin/conformance probe --verifier 'exec:python3 examples/liboath/verifier.py' \
  --ignore-claim --seed 1 --out "$out/liboath-probed.json" --report-dir "$out/liboath-probe"
if ! python3 - "$out/liboath-probed.json" examples/liboath/profile.json <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a == b else 1)
PY
then
  echo "interop: probe measured a profile different from examples/liboath/profile.json:" >&2
  diff <(python3 -m json.tool --sort-keys "$out/liboath-probed.json") \
       <(python3 -m json.tool --sort-keys examples/liboath/profile.json) >&2 || true
  exit 1
fi

echo "== Python vendor shim: conformance run"
bin/conformance run --verifier 'exec:python3 examples/pyshim/verifier.py' --report-dir "$out/pyshim"
echo "interop: all verifiers behaved as recorded"
