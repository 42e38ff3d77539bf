#!/usr/bin/env python3
"""One node of a small OTP verifier cluster whose state lives in Redis.

Run several of these over one Redis server and they form one deployment:
any node may serve any request of any token. Protocol v1 over HTTP
(docs/protocol.md): POST PREFIX/<op> with the request as JSON body.

Two variants of the read-decide-write of every operation:

  --variant atomic  WATCH the token's key, read, decide, then MULTI/EXEC
                    the new state; a concurrent write aborts the EXEC and
                    the whole step is retried (optimistic locking).
  --variant naive   HGETALL, decide, HSET: what everybody writes first.
                    Two nodes that read the same state both accept the
                    same code.

Policy claimed in hello: HOTP and TOTP, SHA1/SHA256/SHA512, 6 or 8 digits,
counters 0 to 2^32-1, look-ahead 10, two-code resync over 100 counters,
lockout after 5 failures (admin unlock), TOTP one step either way with
replay of a step refused ("later"), time taken from the requests.

Secrets are stored in Redis as hex (a real deployment would encrypt them)
and never written to logs.
"""

import argparse
import hashlib
import hmac
import json
import re
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

LOOK_AHEAD = 10
RESYNC_CODES = 2
RESYNC_WINDOW = 100
LOCK_AFTER = 5
COUNTER_MAX = 2**32 - 1
SKEW = 1
HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}

PROFILE = {
    "kinds": ["hotp", "totp"],
    "algorithms": sorted(HASHES),
    "digits": [6, 8],
    "counters": {"min": 0, "max": COUNTER_MAX},
    "look_ahead": LOOK_AHEAD,
    "input": "exact",
    "resync": {"codes": RESYNC_CODES, "window": RESYNC_WINDOW},
    "lockout": {"after": LOCK_AFTER, "resync_unlocks": False},
    "totp": {"skew_back": SKEW, "skew_ahead": SKEW, "reuse": "later"},
    "clock": "request",
}


class RequestError(Exception):
    """A request that cannot be served; its text becomes the reply's error."""


def code_of(tok, counter):
    """The code of a counter (HOTP) or step (TOTP), as a digit string."""
    key = bytes.fromhex(tok["secret"])
    mac = hmac.new(key, struct.pack(">Q", counter), HASHES[tok["algorithm"]]).digest()
    off = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    digits = int(tok["digits"])
    return str(value % 10**digits).rjust(digits, "0")


def same(a, b):
    return hmac.compare_digest(a.encode(), b.encode())


def well_formed(tok, code):
    return isinstance(code, str) and re.fullmatch(r"[0-9]{%d}" % int(tok["digits"]), code) is not None


def decode(raw):
    return {k.decode(): v.decode() for k, v in raw.items()}


def decide_check(tok, code, now):
    """Returns (accepted, the fields to store)."""
    fails = int(tok.get("fails", 0))
    if fails >= LOCK_AFTER:
        return False, {}
    if not well_formed(tok, code):
        return False, {}
    if tok["kind"] == "hotp":
        c = int(tok["counter"])
        for k in range(c, min(c + LOOK_AHEAD, COUNTER_MAX) + 1):
            if same(code_of(tok, k), code):
                return True, {"counter": k + 1, "fails": 0}
    else:
        t = (now - int(tok["t0"])) // int(tok["period"])
        last = int(tok.get("last", -1))
        for s in range(t - SKEW, t + SKEW + 1):
            if s >= 0 and s > last and same(code_of(tok, s), code):
                return True, {"last": s, "fails": 0}
    return False, {"fails": fails + 1}


def decide_resync(tok, codes):
    if tok["kind"] != "hotp" or int(tok.get("fails", 0)) >= LOCK_AFTER:
        return False, {}
    if not isinstance(codes, list) or len(codes) != RESYNC_CODES or not all(well_formed(tok, x) for x in codes):
        return False, {}
    c = int(tok["counter"])
    for k in range(c, min(c + RESYNC_WINDOW, COUNTER_MAX - 1) + 1):
        if same(code_of(tok, k), codes[0]) and same(code_of(tok, k + 1), codes[1]):
            return True, {"counter": k + 2, "fails": 0}
    return False, {}


class Node:
    def __init__(self, store, variant, name):
        self.store = store
        self.variant = variant
        self.name = name

    def step(self, serial, decide):
        """Reads the token, decides, and stores what changed."""
        key = "otp:" + serial
        if self.variant == "naive":
            tok = decode(self.store.hgetall(key))
            if not tok:
                raise RequestError(f"unknown serial {serial!r}")
            accepted, fields = decide(tok)
            if fields:
                self.store.hset(key, mapping=fields)
            return accepted
        while True:
            with self.store.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    tok = decode(pipe.hgetall(key))
                    if not tok:
                        raise RequestError(f"unknown serial {serial!r}")
                    accepted, fields = decide(tok)
                    pipe.multi()
                    if fields:
                        pipe.hset(key, mapping=fields)
                    pipe.execute()
                    return accepted
                except redis.WatchError:
                    continue  # another node wrote the token: decide again

    def handle(self, op, req):
        if op == "hello":
            if req.get("protocol") != 1:
                raise RequestError(f"unsupported protocol {req.get('protocol')!r} (want 1)")
            return {"name": self.name, "ops": ["enroll", "check", "resync", "unlock"], "profile": PROFILE}
        serial = req.get("serial")
        if op == "enroll":
            tok = req.get("token") or {}
            serial = tok.get("serial")
        if not isinstance(serial, str) or not serial:
            raise RequestError(f"{op}: serial must be a non-empty string")
        if op == "enroll":
            return self.enroll(serial, tok)
        if op == "check":
            if req.get("purpose", "login") != "login":
                return {"ok": False, "error": "check: only the login purpose is served", "unsupported": True}
            now = need_time(req)
            return {"accepted": self.step(serial, lambda t: decide_check(t, req.get("code"), now))}
        if op == "resync":
            need_time(req)
            return {"accepted": self.step(serial, lambda t: decide_resync(t, req.get("codes")))}
        if op == "unlock":
            if not self.store.exists("otp:" + serial):
                raise RequestError(f"unknown serial {serial!r}")
            self.store.hset("otp:" + serial, mapping={"fails": 0})
            return {}
        return {"ok": False, "error": f"unsupported op {op!r}", "unsupported": True}

    def enroll(self, serial, tok):
        kind, alg, digits = tok.get("kind"), tok.get("algorithm", "SHA1"), tok.get("digits", 6)
        if kind not in ("hotp", "totp"):
            raise RequestError(f"enroll: unsupported kind {kind!r}")
        if alg not in HASHES:
            raise RequestError(f"enroll: unsupported algorithm {alg!r}")
        if digits not in (6, 8):
            raise RequestError(f"enroll: unsupported digits {digits!r}")
        secret = tok.get("secret")
        if not isinstance(secret, str) or not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", secret):
            raise RequestError("enroll: secret must be hex")
        rec = {"kind": kind, "algorithm": alg, "digits": digits, "secret": secret.lower(), "fails": 0}
        if kind == "hotp":
            counter = tok.get("counter", 0)
            if not isinstance(counter, int) or not 0 <= counter <= COUNTER_MAX:
                raise RequestError(f"enroll: counter {counter!r} outside 0..{COUNTER_MAX}")
            rec["counter"] = counter
        else:
            period, t0 = tok.get("period", 30), tok.get("t0", 0)
            if not isinstance(period, int) or period <= 0 or not isinstance(t0, int):
                raise RequestError("enroll: period must be a positive integer and t0 an integer")
            rec.update(period=period, t0=t0, last=-1)
        key = "otp:" + serial
        with self.store.pipeline() as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=rec)
            pipe.execute()
        return {}


def need_time(req):
    t = req.get("time")
    if not isinstance(t, int) or isinstance(t, bool):
        raise RequestError("time must be an integer number of seconds")
    return t


def make_handler(node, prefix):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once

        def do_POST(self):
            path = self.path
            if not path.startswith(prefix + "/"):
                self.send_error(404)
                return
            op = path[len(prefix) + 1:]
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(min(length, 1 << 20))
            req_id = None
            try:
                req = json.loads(body)
                if not isinstance(req, dict):
                    raise RequestError("the request must be a JSON object")
                req_id = req.get("id")
                reply = node.handle(op, req)
                reply.setdefault("ok", True)
            except RequestError as err:
                reply = {"ok": False, "error": str(err)}
            except (ValueError, redis.RedisError) as err:
                reply = {"ok": False, "error": f"{type(err).__name__}"}
            reply["id"] = req_id
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass  # no request log: it would show codes

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redis-port", type=int, required=True, help="the Redis server on 127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="the HTTP port on 127.0.0.1 (0 picks a free one)")
    ap.add_argument("--variant", choices=["atomic", "naive"], default="atomic")
    ap.add_argument("--prefix", default="", help="URL path prefix")
    ap.add_argument("--name", default="", help="the node's name in hello")
    args = ap.parse_args()
    store = redis.Redis(host="127.0.0.1", port=args.redis_port)
    try:
        store.ping()
    except redis.RedisError as err:
        print(f"node: cannot reach Redis at 127.0.0.1:{args.redis_port}: {err}", file=sys.stderr)
        return 2
    node = Node(store, args.variant, args.name or f"redis cluster node ({args.variant})")
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(node, args.prefix.rstrip("/")))
    srv.daemon_threads = True
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}{args.prefix.rstrip('/')}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
