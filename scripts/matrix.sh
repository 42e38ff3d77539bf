#!/usr/bin/env bash
# scripts/matrix.sh [DIR [OUT]]: the conformance matrix of the real verifiers
# and the examples, from the report.json files `make interop` wrote into DIR
# (default report/interop): liboath, django-otp, google-authenticator-libpam,
# the Python vendor shim and the Node.js verifier, one column each. Writes
# OUT/matrix.html, self-contained (default OUT: docs/verifiers, which `make
# matrix` regenerates), and prints the rows whose verdicts differ. Fails
# when a report is missing or unreadable.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-report/interop}
out=${2:-docs/verifiers}
reports=()
for run in liboath djangootp pam pyshim node; do
  f="$dir/$run/report.json"
  [ -f "$f" ] || { echo "matrix: $f: no such file (run make interop first)" >&2; exit 1; }
  reports+=("$f")
done
conformance=bin/conformance
mkdir -p bin
go build -o "$conformance" ./cmd/conformance
mkdir -p "$out"
"$conformance" compare "${reports[@]}" --only-differing --html "$out/matrix.html"
echo "matrix: wrote $out/matrix.html"
