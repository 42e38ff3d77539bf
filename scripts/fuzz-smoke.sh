#!/usr/bin/env bash
# Runs every fuzz target in the module for a short time (FUZZTIME each,
# default 3s). Targets are discovered with `go test -list`, so a new Fuzz
# function is picked up without editing this script.
#
# Each target must really fuzz: a package that does not build, a target
# whose seed corpus fails, or a run that never reaches the fuzzing phase
# (only its seeds ran) fails the script. Minimisation, of new inputs and of
# a failing one, is bounded by FUZZMINIMIZETIME (default 1s): Go's default
# of 60s would let one target stall the run.
set -euo pipefail
fuzztime=${FUZZTIME:-3s}
minimize=${FUZZMINIMIZETIME:-1s}
count=0
failed=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
  # No 2>/dev/null here: a package whose tests do not build must fail
  # the smoke test, not be skipped in silence.
  if ! listing=$(go test -list '^Fuzz' "$pkg"); then
    echo "fuzz-smoke: cannot list the fuzz targets of $pkg" >&2
    exit 1
  fi
  targets=$(printf '%s\n' "$listing" | grep '^Fuzz' || true)
  for t in $targets; do
    echo "== $pkg $t ($fuzztime)"
    ok=1
    go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "$pkg" >"$log" 2>&1 || ok=0
    if [ "$ok" = 1 ] && ! grep -q 'now fuzzing with' "$log"; then
      # The corpus Go keeps in its cache grows with every fuzzing run, and
      # replaying it as the baseline counts against -fuzztime: a target
      # fuzzed often can spend all of its time there. Once, with room.
      retry=15s
      if [[ $fuzztime =~ ^([0-9]+)s$ ]]; then retry="$((BASH_REMATCH[1] * 5))s"; fi
      echo "   (replaying the cached corpus took the whole $fuzztime; again with $retry)"
      go test -run '^$' -fuzz "^${t}\$" -fuzztime "$retry" -fuzzminimizetime "$minimize" "$pkg" >"$log" 2>&1 || ok=0
    fi
    if [ "$ok" = 0 ]; then
      cat "$log"
      failed+=("$pkg $t")
    elif ! grep -q 'now fuzzing with' "$log" || ! grep -Eq 'execs: [1-9]' "$log"; then
      cat "$log"
      echo "fuzz-smoke: $pkg $t never got past its seed corpus" >&2
      failed+=("$pkg $t")
    else
      grep -E 'execs: [0-9]+' "$log" | tail -n 1
    fi
    count=$((count + 1))
  done
done
echo "fuzz-smoke: $count targets ran"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'fuzz-smoke: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
[ "$count" -gt 0 ]
