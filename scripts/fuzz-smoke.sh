#!/usr/bin/env bash
# Runs every fuzz target in the module for a short time (FUZZTIME, default 3s).
# Targets are discovered with `go test -list`, so a new Fuzz function is
# picked up without editing this script.
set -euo pipefail
fuzztime=${FUZZTIME:-3s}
count=0
for pkg in $(go list ./...); do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  for t in $targets; do
    echo "== $pkg $t ($fuzztime)"
    go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg"
    count=$((count + 1))
  done
done
echo "fuzz-smoke: $count targets ran"
[ "$count" -gt 0 ]
