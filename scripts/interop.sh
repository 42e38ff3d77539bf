#!/usr/bin/env bash
# make interop: the conformance suite against real, independently written
# verifiers. Installs what liboath needs (Debian packages), builds the CLI,
# runs the suite against the liboath shim with its profile and expect file
# (seed pinned: which codes a token draws decides whether some of liboath's
# length bugs show, see docs/verifiers/liboath.md),
# checks that `conformance probe` measures liboath's profile, runs the
# Python vendor shim, and the Node.js verifier (exec and HTTP, plus its
# JS-number-counter variant, which must fail exactly the counter cases),
# django-otp and google-authenticator-libpam (Debian packages, behind
# shims that leave their verification untouched; docs/verifiers/), and
# writes the matrix of them all (scripts/matrix.sh; docs/verifiers/matrix.html
# is compared with it, and what changed is printed).
# The Python shim also runs on its own clock (--clock wall) under the
# harness's fake clock (libfaketime, installed here when missing): it must
# pass, and its planted wall-clock bugs must be caught. Last, the Redis
# cluster example (examples/cluster/run.sh: Redis and python3-redis
# installed when missing): run and stress over three nodes, the atomic
# variant passes and the naive one is caught accepting a code twice.
# Reports go to report/interop/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=report/interop
mkdir -p "$out" bin

# serve NAME PATTERN CMD...: starts CMD in the background with its output
# in a log, and waits (10 s at most) for a line PATTERN (a sed expression
# that prints the URL) to name where it listens; sets srv_pid and srv_url.
# stop_serve stops it.
serve() {
  local name=$1 pattern=$2
  shift 2
  srv_log=$(mktemp)
  "$@" >"$srv_log" 2>&1 &
  srv_pid=$!
  trap 'kill "$srv_pid" 2>/dev/null || true; rm -f "$srv_log"' EXIT
  srv_url=""
  for _ in $(seq 100); do
    srv_url=$(sed -n "$pattern" "$srv_log")
    [ -n "$srv_url" ] && return 0
    kill -0 "$srv_pid" 2>/dev/null || { cat "$srv_log" >&2; echo "interop: $name did not start" >&2; exit 1; }
    sleep 0.1
  done
  echo "interop: $name did not listen within 10 s" >&2
  exit 1
}
stop_serve() {
  kill "$srv_pid"
  wait "$srv_pid" 2>/dev/null || true
  trap - EXIT
  rm -f "$srv_log"
}

bash examples/liboath/setup.sh
# libfaketime (Debian's libfaketime; faketime is its command-line tool).
if ! compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "interop: need root to install libfaketime (apt-get install libfaketime)" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "interop: installing libfaketime faketime"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libfaketime faketime
fi
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

echo "== django-otp (Debian python3-django-otp): conformance run on its own clock, under the fake clock"
# Debian's python3 (another one may come first on PATH) with Django and
# django-otp; the shim's SQLite database is in memory. django-otp raises
# OverflowError past its counters and past 2262: the first is taken as not
# accepted (the token is spent), the second makes the clock check put 2603
# out of reach, so year-2603 SKIPs. The check below wants exit 0, no ERROR,
# no failure, and that SKIP. See docs/verifiers/django-otp.md.
bash examples/djangootp/setup.sh
rc=0
bin/conformance run --verifier 'exec:/usr/bin/python3 examples/djangootp/verifier.py' --clock fake --seed 1 --checks 30 \
  --expect examples/djangootp/expect.txt --report-dir "$out/djangootp" >"$out/djangootp.txt" 2>&1 || rc=$?
python3 - "$out/djangootp/report.json" "$rc" <<'PY'
import json, sys
doc, rc = json.load(open(sys.argv[1])), int(sys.argv[2])
errors = sorted(r["id"] for r in doc["results"] if r["verdict"] == "ERROR")
year = [r for r in doc["results"] if r["id"] == "rfc6238/4.2/year-2603"]
skipped = bool(year) and year[0]["verdict"] == "SKIP" and "OverflowError" in " ".join(year[0].get("messages", []))
if rc != 0 or errors or doc["failing"] or not doc["clock_set"] or not skipped:
    print("interop: django-otp: exit %d, ERROR %s, failing %s, clock_set %s, year-2603 skipped for OverflowError %s: see %s.txt"
          % (rc, errors, doc["failing"], doc["clock_set"], skipped, sys.argv[1].rsplit("/", 1)[0]), file=sys.stderr)
    sys.exit(1)
c = doc["counts"]
print("  %d passed, %d non-strict (declared), %d skipped (year-2603: the clock check found OverflowError past 2262)" % (c["pass"], c["non_strict"], c["skip"]))
PY

echo "== django-otp on its own clock (--clock wall): the probe reads its throttle on real time"
# Nothing sets its clock here: each delay is measured on real time, to a
# second either way, and the throttle is the one that fits them all.
bin/conformance probe --verifier 'exec:/usr/bin/python3 examples/djangootp/verifier.py' --clock wall --max-wait 20s \
  --ignore-claim --seed 3 --out "$out/djangootp-wall.json" >"$out/djangootp-wall.txt" 2>&1 || { cat "$out/djangootp-wall.txt" >&2; exit 1; }
python3 - "$out/djangootp-wall.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])).get("throttle")
if t != {"after": 1, "delay": 1, "factor": 2}:
    print("interop: django-otp on real time: the probe read the throttle as %s, not after 1, delay 1 s, factor 2: see %s"
          % (t, sys.argv[1].replace(".json", ".txt")), file=sys.stderr)
    sys.exit(1)
print("  throttle after 1, delay 1 s, factor 2 (django-otp's 2^(n-1) s), read on real time")
PY

echo "== google-authenticator-libpam (Debian libpam-google-authenticator): conformance run through real PAM, under the fake clock"
bash examples/pam/setup.sh
bin/conformance run --verifier 'exec:python3 examples/pam/verifier.py' --clock fake --seed 1 --checks 5 \
  --expect examples/pam/expect.txt --report-dir "$out/pam" >"$out/pam.txt" 2>&1 || { cat "$out/pam.txt" >&2; exit 1; }
tail -n 1 "$out/pam.txt"

echo "== Python vendor shim: conformance run"
bin/conformance run --verifier 'exec:python3 examples/pyshim/verifier.py' --report-dir "$out/pyshim"

echo "== Python vendor shim on its own clock (--clock wall), under the fake clock"
bin/conformance run --verifier 'exec:python3 examples/pyshim/verifier.py --clock wall' --clock fake \
  --report-dir "$out/pyshim-wall"
bin/conformance run --verifier 'exec:python3 examples/pyshim/verifier.py --clock wall --throttle' --clock fake \
  --report-dir "$out/pyshim-wall-throttle"
python3 - "$out/pyshim/report.json" "$out/pyshim-wall/report.json" <<'PY'
import json, sys
req, wall = (json.load(open(p)) for p in sys.argv[1:3])
if not wall.get("clock_set") or wall["counts"] != req["counts"]:
    print("interop: pyshim --clock wall under the fake clock: clock_set %s, counts %s (on the request's clock: %s)"
          % (wall.get("clock_set"), wall["counts"], req["counts"]), file=sys.stderr)
    sys.exit(1)
PY
echo "== reference verifier on its own clock, as an exec wrapper, under the clock file"
bin/conformance run --verifier 'exec:bin/conformance serve --stdio --clock wall' --clock file \
  --report-dir "$out/reference-wall"

echo "== Python vendor shim on its own clock, on real time (--clock wall: its clock is left alone)"
bin/conformance run --verifier 'exec:python3 examples/pyshim/verifier.py --clock wall' --clock wall \
  --report-dir "$out/pyshim-realtime"
python3 scripts/same-skips.py "$out/pyshim/report.json" "$out/pyshim-realtime/report.json" "pyshim --clock wall on real time"

echo "== Python vendor shim on its own clock: planted bugs must be caught both ways, under the fake clock and on real time"
# On real time only the bug's own section runs: its waits are real.
for bug in "skew-ahead:rfc6238/5.2/skew-ahead-beyond:^rfc6238/" "totp-reuse:rfc6238/5.2/reuse-same-step:^rfc6238/" \
           "throttle-forever:rfc4226/7.3/throttle-refuses:^rfc4226/7\.3/throttle-"; do
  name=${bug%%:*} rest=${bug#*:}
  case=${rest%%:*} sel=${rest#*:}
  extra=""
  [ "$name" = throttle-forever ] && extra="--throttle"
  for clock in fake wall; do
    run=()
    [ "$clock" = wall ] && run=(--run "$sel")
    dir="$out/pyshim-bug-$name-$clock"
    if bin/conformance run --verifier "exec:python3 examples/pyshim/verifier.py --clock wall $extra --bug $name" \
        --clock "$clock" "${run[@]}" --seed 1 --report-dir "$dir" >"$dir.txt" 2>&1; then
      echo "interop: pyshim --bug $name passed with --clock $clock: the suite does not catch it" >&2
      exit 1
    fi
    python3 - "$dir/report.json" "$case" "$name" "$clock" <<'PY'
import json, sys
doc, case, name, clock = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
if case not in doc["failing"]:
    print("interop: pyshim --bug %s with --clock %s: %s does not fail (failing: %s)" % (name, clock, case, doc["failing"]), file=sys.stderr)
    sys.exit(1)
print("  --bug %-17s --clock %-4s caught: %s" % (name, clock, ", ".join(doc["failing"])))
PY
  done
done

echo "== reference verifier on its own clock over HTTP, on real time (the whole default suite)"
serve "conformance serve" 's/^serving the otplab reference verifier (protocol v1) at //p' \
  bin/conformance serve --clock wall --addr 127.0.0.1:0
bin/conformance run --report-dir "$out/reference-request"
started=$(date +%s)
bin/conformance run --verifier "$srv_url" --report-dir "$out/reference-realtime"
echo "  the default suite on real time over HTTP took $(( $(date +%s) - started )) s"
python3 scripts/same-skips.py "$out/reference-request/report.json" "$out/reference-realtime/report.json" "the reference over HTTP on real time"
stop_serve

bash examples/node/setup.sh
echo "== Node.js verifier: self-test"
node --test examples/node/test/verifier.test.js
echo "== Node.js verifier: conformance run (exec)"
bin/conformance run --verifier 'exec:node examples/node/verifier.js' --report-dir "$out/node"

echo "== Node.js verifier: conformance run (HTTP)"
serve "the Node.js verifier" 's/.*listening on //p' node examples/node/verifier.js --http 127.0.0.1:0 --prefix /otp
bin/conformance run --verifier "$srv_url" --report-dir "$out/node-http"
stop_serve

echo "== Node.js verifier with JS-number counters: must fail the counter cases, and only those"
if bin/conformance run --verifier 'exec:node examples/node/verifier.js --js-number-counters' --seed 1 \
    --report-dir "$out/node-js-numbers" >"$out/node-js-numbers.txt" 2>&1; then
  echo "interop: JS-number counters passed the suite: the counter cases do not catch them" >&2
  exit 1
fi
python3 - "$out/node-js-numbers/report.json" <<'PY'
import json, re, sys
doc = json.load(open(sys.argv[1]))
bad = {r["id"]: r for r in doc["results"] if r["verdict"] not in ("PASS", "SKIP")}
# The HOTP property case enrolls near 2^53 and 2^64 too, so it may notice.
allowed = re.compile(r"^rfc4226/5\.1/counter-|^otplab/model/hotp-sequences$")
extra = sorted(i for i in bad if not allowed.match(i))
missing = sorted({"rfc4226/5.1/counter-2^53", "rfc4226/5.1/counter-2^64"} - set(bad))
if extra or missing or "rfc4226/5.1/counter-2^32" in bad:
    print("interop: JS-number counters: unexpected results: extra %s, missing %s" % (extra, missing), file=sys.stderr)
    sys.exit(1)
for i in sorted(bad):
    x = bad[i].get("explanation") or {}
    print("  %-32s %-6s cause: %s" % (i, bad[i]["verdict"], x.get("cause", "(none named)")))
for c in doc.get("causes", []):
    print("  cause %s: %s (%d cases)" % (c["key"], c["summary"], len(c["cases"])))
PY
echo "== Redis cluster example: three nodes over one Redis, atomic and naive (examples/cluster)"
bash examples/cluster/run.sh "$out/cluster"

echo "== stress in three shards over one deployment, merged (examples/stress-shards)"
bash examples/stress-shards/local.sh 3 "$out/stress-shards"

echo "== the matrix of the real verifiers and the examples (docs/verifiers/matrix.html)"
bash scripts/matrix.sh "$out" "$out"
python3 - "$out/matrix.html" docs/verifiers/matrix.html <<'PY'
import re, sys
def cells(path):
    page = open(path, encoding="utf-8").read()
    names = re.findall(r'<div class="name">\[\d+\] (.*?)</div>', page)
    rows = re.findall(r'<tr class="row[^"]*" id="([^"]+)" data-labels="([^"]*)"', page)
    return {(names[i], row): label for row, labels in rows for i, label in enumerate(labels.split())}
try:
    committed = cells(sys.argv[2])
except FileNotFoundError:
    print("interop: %s is missing: make matrix writes it" % sys.argv[2])
    sys.exit(0)
now = cells(sys.argv[1])
diff = sorted(k for k in set(now) | set(committed) if now.get(k) != committed.get(k))
if diff:
    print("interop: docs/verifiers/matrix.html is not current (make matrix regenerates it); cells that changed:")
    for k in diff:
        print("  %-30s %-50s %s -> %s" % (k[0][:30], k[1], committed.get(k, "-"), now.get(k, "-")))
else:
    print("  docs/verifiers/matrix.html is current: %d cells" % len(now))
PY
echo "interop: all verifiers behaved as recorded"
