"""A TOTP verifier on its own clock, for the clock-check tests.

Usage: verifier.py CLOCK [LIB] [--sleep S]. CLOCK says how it reads the time:
  datetime  datetime.now(): CPython's 64-bit nanoseconds, which saturate
            at 2262-04-11 under a fake clock past it;
  gettime   time.clock_gettime(CLOCK_REALTIME): a float, which follows;
  lib       the now() of the shared object LIB, loaded with RTLD_DEEPBIND:
            it binds libc's time() and never sees LD_PRELOAD.
Window: one step either way; a step at or before the last accepted one is
rejected; t0 may be any integer. --sleep S waits S seconds before reading
requests: an interpreter slow to start.
"""
import ctypes
import datetime
import hashlib
import hmac
import json
import os
import select
import struct
import sys
import time

MODE = sys.argv[1]
if "--sleep" in sys.argv:
    # select, not time.sleep: under libfaketime CPython's sleep fails with
    # EINVAL (it waits for an absolute time on a clock libfaketime fakes).
    select.select([], [], [], float(sys.argv[sys.argv.index("--sleep") + 1]))
if MODE == "lib":
    _lib = ctypes.CDLL(sys.argv[2], mode=os.RTLD_NOW | os.RTLD_DEEPBIND)
    _lib.now.restype = ctypes.c_longlong


def now():
    if MODE == "datetime":
        return int(datetime.datetime.now(datetime.timezone.utc).timestamp())
    if MODE == "gettime":
        return int(time.clock_gettime(time.CLOCK_REALTIME))
    return int(_lib.now())


ALGS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
PROFILE = {"kinds": ["totp"], "algorithms": ["SHA1"], "digits": [6, 8],
           "totp": {"skew_back": 1, "skew_ahead": 1}, "clock": "wall"}
tokens = {}


def code(tok, step):
    mac = hmac.new(tok["key"], struct.pack(">Q", step), ALGS[tok["algorithm"]]).digest()
    off = mac[-1] & 15
    val = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return str(val % 10 ** tok["digits"]).zfill(tok["digits"])


def check(req):
    tok = tokens.get(req["serial"])
    if tok is None:
        raise ValueError("unknown serial")
    t = (now() - tok["t0"]) // tok["period"]
    for s in (t - 1, t, t + 1):
        if s > tok["last"] and hmac.compare_digest(code(tok, s).encode(), req["code"].encode()):
            tok["last"] = s
            return True
    return False


for line in sys.stdin:
    req = json.loads(line)
    rep = {"id": req["id"], "ok": True}
    try:
        op = req["op"]
        if op == "hello":
            rep.update(name="clock-check verifier (%s)" % MODE, ops=["enroll", "check"], profile=PROFILE)
        elif op == "enroll":
            tk = req["token"]
            if tk["kind"] != "totp" or tk["algorithm"] not in ALGS:
                raise ValueError("unsupported token")
            tokens[tk["serial"]] = {"key": bytes.fromhex(tk["secret"]), "algorithm": tk["algorithm"],
                                    "digits": tk["digits"], "period": tk["period"], "t0": tk.get("t0", 0), "last": -1 << 70}
        elif op == "check":
            rep["accepted"] = check(req)
        else:
            rep.update(ok=False, error="unsupported op", unsupported=True)
    except Exception as e:  # the reply carries it; the harness judges
        rep = {"id": req.get("id"), "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    sys.stdout.write(json.dumps(rep) + "\n")
    sys.stdout.flush()
