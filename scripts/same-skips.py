"""Compare a real-time run's report.json with a request-clock run's.

Every case the request-clock run judges must be judged on real time too,
with the same verdict; the one exception is rfc6238/5.2/reuse-clock-back,
which needs a verifier clock that goes back. Usage:
    same-skips.py REQUEST.json REALTIME.json LABEL
"""
import json
import sys

ALLOWED = {"rfc6238/5.2/reuse-clock-back"}

req, real = (json.load(open(p)) for p in sys.argv[1:3])
label = sys.argv[3]
got = {r["id"]: r for r in real["results"]}
bad = []
for r in req["results"]:
    if r["verdict"] == "SKIP" or r["id"] in ALLOWED:
        continue
    g = got.get(r["id"])
    if g is None or g["verdict"] != r["verdict"]:
        msg = " / ".join(g.get("messages") or []) if g else "missing"
        bad.append("%s: %s on the request's clock, %s on real time (%s)" % (
            r["id"], r["verdict"], g["verdict"] if g else "missing", msg[:300]))
if bad:
    print("interop: %s differs from the request's clock:" % label, file=sys.stderr)
    for b in bad:
        print("  " + b, file=sys.stderr)
    sys.exit(1)
print("  %s: every case the request's clock judges is judged the same (%s)" % (label, real["counts"]))
