#!/usr/bin/env bash
# N stress processes over one deployment, then one merged report: the local
# form of docs/stress.md's "Several processes". Starts `conformance serve`
# (the reference verifier) on a free loopback port, names it as three
# endpoints, runs N shards (default 3) at once with one seed, merges their
# reports and checks that the merged one has every user and no violation.
# Everything it started is stopped on exit. make interop runs it.
# Usage: examples/stress-shards/local.sh [N] [REPORT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-3}
out=${2:-report/stress-shards}
users=60
rm -rf "$out"
mkdir -p "$out" bin
go build -o bin/conformance ./cmd/conformance

log=$(mktemp)
bin/conformance serve --addr 127.0.0.1:0 >"$log" 2>&1 &
srv=$!
pids=()
trap 'kill "$srv" "${pids[@]}" 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 100); do
  url=$(sed -n 's/^serving .* at //p' "$log")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; echo "stress-shards: conformance serve did not start" >&2; exit 1; }

dirs=()
for i in $(seq 0 $((n - 1))); do
  bin/conformance stress --verifier "$url" --verifier "$url" --verifier "$url" --shard "$i/$n" \
    --seed 42 --users "$users" --duration 5s --report-dir "$out/shard-$i" >"$out/shard-$i.txt" 2>&1 &
  pids+=($!)
  dirs+=("$out/shard-$i")
done
for k in "${!pids[@]}"; do
  wait "${pids[$k]}" || { cat "$out/shard-$k.txt" >&2; echo "stress-shards: shard $k failed" >&2; exit 1; }
done
pids=()
bin/conformance merge "${dirs[@]}" --report-dir "$out/all" | tail -1
python3 - "$out/all/report.json" "$users" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
users = int(sys.argv[2])
if rep["users"] != users or rep["checked"] != users or rep["violations"]:
    sys.exit("stress-shards: merged report: %d users, %d checked, %d violations (want %d, %d, 0)"
             % (rep["users"], rep["checked"], len(rep["violations"]), users, users))
print("stress-shards: %s merged: %d users, %d requests, %.0f requests/s" % (rep["shard"], rep["users"], rep["requests"], rep["throughput"]))
PY
