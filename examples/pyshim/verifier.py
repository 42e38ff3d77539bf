#!/usr/bin/env python3
"""pyshim: a small HOTP/TOTP verifier that speaks otplab protocol v1 (exec).

It reads one JSON request per line on stdin and writes one JSON reply per
line on stdout, flushing after each, until stdin reaches EOF. Diagnostics
go to stderr and never contain a secret or a submitted code.

Policy (claimed in the hello reply, see README.md):
  * HOTP (RFC 4226) and TOTP (RFC 6238), HMAC-SHA1/SHA256/SHA512, 6 or 8 digits;
  * HOTP look-ahead 10: with c the next expected counter, a check accepts
    the first counter c+k, 0 <= k <= 10, whose code matches and then sets
    c = c+k+1; a rejected check changes nothing;
  * two-code resync within 100 counters of c;
  * lockout after 5 consecutive rejected checks of well-formed codes, lifted
    only by unlock (an accepted resync does not unlock);
  * TOTP: one step back, one step ahead, each step usable once;
  * flows: check serves every purpose of protocol v1 (login, recovery,
    password-change, device-test, signature), all on one token state: a
    code spent at one door is spent at every door, a failure anywhere
    counts toward the one lockout, and a locked token refuses them all;
  * the request's "time" is the clock; with --clock wall the process reads
    its own clock instead and ignores "time" (claiming "clock": "wall"), as
    most deployed verifiers do: the harness then sets that clock with
    libfaketime (conformance run --clock fake);
  * with --throttle, RFC 4226 section 7.3's delay: after the 3rd consecutive
    failure, checks and resyncs are refused for 5 s, then 10 s, 20 s...

--bug plants one mistake, to show that the suite catches it (see README.md).

Standard library only. Requests are processed one at a time in arrival
order; every reply carries its request's id, so pipelining is harmless.
"""

import argparse
import hashlib
import hmac
import json
import sys
import time

NAME = "pyshim"
PROTOCOL = 1

LOOK_AHEAD = 10
RESYNC_CODES = 2
RESYNC_WINDOW = 100
LOCKOUT_AFTER = 5
SKEW_BACK = 1
SKEW_AHEAD = 1

# Counters are 8-byte unsigned integers (RFC 4226 section 5.1): nothing
# exists beyond this value, so no search may run past it.
MAX_COUNTER = 2**64 - 1

THROTTLE_AFTER = 3
THROTTLE_DELAY = 5
THROTTLE_FACTOR = 2

BUGS = {
    "skew-ahead": "TOTP accepts two steps ahead while claiming one",
    "totp-reuse": "a TOTP code is accepted again within its window",
    "throttle-forever": "the throttle never expires (needs --throttle)",
}

HASHES = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
DIGITS = (6, 7, 8)  # 6 and 8 are claimed; 7 costs nothing to support
ASCII_DIGITS = frozenset("0123456789")

OPS = ["hello", "enroll", "check", "resync", "unlock"]
# The doors of the seeds' panel. The purpose names which door a code was
# typed at; it selects nothing in the token's state, on purpose.
FLOWS = ["login", "recovery", "password-change", "device-test", "signature"]
PROFILE = {
    "kinds": ["hotp", "totp"],
    "algorithms": ["SHA1", "SHA256", "SHA512"],
    "digits": [6, 8],
    "look_ahead": LOOK_AHEAD,
    "resync": {"codes": RESYNC_CODES, "window": RESYNC_WINDOW},
    "lockout": {"after": LOCKOUT_AFTER, "resync_unlocks": False},
    "totp": {"skew_back": SKEW_BACK, "skew_ahead": SKEW_AHEAD},
    "flows": FLOWS,
    "clock": "request",
}


class RequestError(Exception):
    """A request that cannot be served; its text becomes the reply's error."""


def log(msg):
    """Writes one diagnostic line to stderr. Never pass it secrets or codes."""
    print(f"{NAME}: {msg}", file=sys.stderr, flush=True)


def hotp(key, counter, digits, hash_fn):
    """Returns the RFC 4226 code of counter as an ASCII string (bytes)."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), hash_fn).digest()
    offset = mac[-1] & 0x0F  # dynamic truncation, RFC 4226 section 5.3
    binary = int.from_bytes(mac[offset:offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits).encode("ascii")


def wall_now():
    """Returns the process's own clock in whole Unix seconds.

    time.clock_gettime is used rather than time.time(): CPython keeps
    time.time() in 64-bit nanoseconds, which end in the year 2262, and
    RFC 6238's Appendix B has a code for the year 2603."""
    return int(time.clock_gettime(time.CLOCK_REALTIME) // 1)


class Token:
    """One enrolled token and the verifier's state for it."""

    def __init__(self, kind, hash_fn, digits, key, counter=0, period=30, t0=0, bugs=frozenset()):
        self.kind = kind
        self.hash_fn = hash_fn
        self.digits = digits
        self.key = key
        self.counter = counter    # HOTP: next expected counter c
        self.period = period      # TOTP: step length in seconds
        self.t0 = t0              # TOTP: Unix second where step 0 begins
        self.last_step = None     # TOTP: last accepted step, never reused
        self.failures = 0         # consecutive rejected well-formed checks
        self.failed_at = None     # time of the last counted failure
        self.locked = False
        self.bugs = bugs

    def code(self, counter):
        return hotp(self.key, counter, self.digits, self.hash_fn)

    def well_formed(self, code):
        """A code is exactly `digits` ASCII digits: no sign, no spaces, no
        Unicode digits (str.isdigit() would let those through)."""
        return (isinstance(code, str) and len(code) == self.digits
                and all(ch in ASCII_DIGITS for ch in code))

    def matches(self, counter, code):
        # compare_digest: the time taken does not depend on how many
        # leading digits of a wrong code happen to be right.
        return hmac.compare_digest(self.code(counter), code.encode("ascii"))

    def check_hotp(self, code):
        """Accepts the first counter in c..c+L whose code matches."""
        last = min(self.counter + LOOK_AHEAD, MAX_COUNTER)
        for counter in range(self.counter, last + 1):
            if self.matches(counter, code):
                self.counter = counter + 1
                return True
        return False

    def check_totp(self, code, now):
        """Accepts a step within [T-B, T+A] later than the last one used."""
        step_now = (now - self.t0) // self.period
        ahead = SKEW_AHEAD + (1 if "skew-ahead" in self.bugs else 0)
        for step in range(step_now - SKEW_BACK, step_now + ahead + 1):
            if step < 0 or step > MAX_COUNTER:
                continue
            if self.last_step is not None and step <= self.last_step:
                continue  # RFC 6238 section 5.2: no second use of a step
            if self.matches(step, code):
                if "totp-reuse" not in self.bugs:
                    self.last_step = step
                return True
        return False

    def throttled(self, now):
        """RFC 4226 section 7.3: after the F-th consecutive failure, refuse
        until D * K^(n-F) seconds after the last one."""
        if self.failures < THROTTLE_AFTER or self.failed_at is None:
            return False
        if "throttle-forever" in self.bugs:
            return True
        delay = THROTTLE_DELAY * THROTTLE_FACTOR ** (self.failures - THROTTLE_AFTER)
        return now < self.failed_at + delay

    def resync(self, codes):
        """Accepts N consecutive codes whose first is the code of c+k,
        0 <= k <= R; c then becomes one past the last. Every offset is
        tried with the whole sequence, so a chance match of the first code
        earlier in the window does not hide the genuine one."""
        n = len(codes)
        last_start = min(self.counter + RESYNC_WINDOW, MAX_COUNTER - (n - 1))
        for start in range(self.counter, last_start + 1):
            if all(self.matches(start + i, c) for i, c in enumerate(codes)):
                self.counter = start + n
                return True
        return False


class Verifier:
    """Holds the tokens and answers requests."""

    def __init__(self, clock="request", throttle=False, bugs=()):
        self.tokens = {}
        self.wall = clock == "wall"
        self.throttle = throttle
        self.bugs = frozenset(bugs)
        self.profile = dict(PROFILE, clock=clock)
        if throttle:
            self.profile["throttle"] = {"after": THROTTLE_AFTER, "delay": THROTTLE_DELAY,
                                        "factor": THROTTLE_FACTOR}

    def now(self, req):
        """Returns now: the process's clock (--clock wall) or the request's."""
        return wall_now() if self.wall else need_time(req)

    def refuse_throttled(self, token, req):
        return self.throttle and token.throttled(self.now(req))

    def handle(self, req):
        """Returns the reply fields (besides id) for one decoded request."""
        op = req.get("op")
        if not isinstance(op, str):
            raise RequestError("missing or non-string op")
        handler = getattr(self, "op_" + op, None) if op in OPS else None
        if handler is None:
            return {"ok": False, "error": f"unsupported op {op!r}", "unsupported": True}
        return handler(req)

    def op_hello(self, req):
        if req.get("protocol") != PROTOCOL:
            raise RequestError(f"unsupported protocol {req.get('protocol')!r} (want {PROTOCOL})")
        return {"ok": True, "name": NAME, "ops": OPS, "profile": self.profile}

    def op_enroll(self, req):
        tok = req.get("token")
        if not isinstance(tok, dict):
            raise RequestError("enroll: missing token object")
        serial = need_serial(tok)
        kind = tok.get("kind")
        if kind not in ("hotp", "totp"):
            raise RequestError(f"enroll: unknown kind {kind!r}")
        alg = tok.get("algorithm", "SHA1")
        if alg not in HASHES:
            raise RequestError(f"enroll: unsupported algorithm {alg!r}")
        digits = tok.get("digits", 6)
        if not is_int(digits) or digits not in DIGITS:
            raise RequestError(f"enroll: unsupported digits {digits!r}")
        secret = tok.get("secret")
        try:
            key = bytes.fromhex(secret)
        except (TypeError, ValueError):
            raise RequestError("enroll: secret is not a hex string") from None
        if not key:
            raise RequestError("enroll: empty secret")
        if kind == "hotp":
            counter = tok.get("counter", 0)
            if not is_int(counter) or not 0 <= counter <= MAX_COUNTER:
                raise RequestError("enroll: counter is not an integer in 0..2^64-1")
            token = Token(kind, HASHES[alg], digits, key, counter=counter, bugs=self.bugs)
        else:
            period, t0 = tok.get("period", 30), tok.get("t0", 0)
            if not is_int(period) or period <= 0:
                raise RequestError("enroll: period is not a positive integer")
            if not is_int(t0):
                raise RequestError("enroll: t0 is not an integer")
            token = Token(kind, HASHES[alg], digits, key, period=period, t0=t0, bugs=self.bugs)
        self.tokens[serial] = token  # enrolling a serial again replaces it
        return {"ok": True}

    def op_check(self, req):
        serial = need_serial(req)
        code = req.get("code")
        if not isinstance(code, str):
            raise RequestError("check: code is not a string")
        purpose = req.get("purpose")
        if purpose is None:
            purpose = "login"  # absent means login
        if not isinstance(purpose, str):
            raise RequestError("check: purpose is not a string")
        if purpose not in FLOWS:
            return {"ok": False, "error": f"check: purpose {purpose!r} is not served",
                    "unsupported": True}
        # From here on the purpose plays no part: every door shares the
        # token's counter, failure count and lock.
        token = self.tokens.get(serial)
        if token is None:
            return {"ok": True, "accepted": False}  # unknown serial: just no
        if token.locked:
            return {"ok": True, "accepted": False, "locked": True}
        if self.refuse_throttled(token, req):
            return {"ok": True, "accepted": False}  # refused: not compared, not counted
        if not token.well_formed(code):
            # Malformed input is refused before any HMAC and is not
            # counted toward lockout: it cannot be a guess at a code.
            return {"ok": True, "accepted": False}
        if token.kind == "hotp":
            accepted = token.check_hotp(code)
        else:
            accepted = token.check_totp(code, self.now(req))
        if accepted:
            token.failures = 0
        else:
            token.failures += 1
            token.failed_at = self.now(req)
            if token.failures >= LOCKOUT_AFTER:
                token.locked = True
                log(f"serial {serial}: locked after {token.failures} rejected checks")
        reply = {"ok": True, "accepted": accepted}
        if token.locked:
            reply["locked"] = True
        return reply

    def op_resync(self, req):
        serial = need_serial(req)
        codes = req.get("codes")
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise RequestError("resync: codes is not a list of strings")
        token = self.tokens.get(serial)
        if token is None:
            return {"ok": True, "accepted": False}
        if token.locked:  # resync does not unlock
            return {"ok": True, "accepted": False, "locked": True}
        if self.refuse_throttled(token, req):
            return {"ok": True, "accepted": False}
        if (token.kind != "hotp" or len(codes) != RESYNC_CODES
                or not all(token.well_formed(c) for c in codes)):
            return {"ok": True, "accepted": False}
        # A rejected resync does not count toward lockout; an accepted one
        # resets the failure count, as an accepted check does.
        accepted = token.resync(codes)
        if accepted:
            token.failures = 0
        return {"ok": True, "accepted": accepted}

    def op_unlock(self, req):
        serial = need_serial(req)
        token = self.tokens.get(serial)
        if token is None:
            raise RequestError(f"unlock: unknown serial {serial}")
        token.locked = False
        token.failures = 0
        return {"ok": True}


def is_int(v):
    # JSON true/false decode to bool, a subclass of int: not a number here.
    return isinstance(v, int) and not isinstance(v, bool)


def need_serial(obj):
    serial = obj.get("serial")
    if not isinstance(serial, str) or not serial:
        raise RequestError("missing or non-string serial")
    return serial


def need_time(req):
    """Returns the request's time in whole Unix seconds."""
    t = req.get("time")
    if is_int(t):
        return t
    if isinstance(t, float) and t == t and abs(t) != float("inf"):
        return int(t // 1)
    raise RequestError("missing or non-numeric time")


def serve(inp, out, verifier=None):
    """Answers every request line of inp on out until EOF."""
    if verifier is None:
        verifier = Verifier()
    for raw in inp:
        if not raw.strip():
            continue
        req_id = 0
        try:
            try:
                req = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise RequestError(f"malformed request line: {err}") from None
            if not isinstance(req, dict):
                raise RequestError("request is not a JSON object")
            if is_int(req.get("id")):
                req_id = req["id"]
            else:
                raise RequestError("missing or non-integer id")
            reply = verifier.handle(req)
        except RequestError as err:
            reply = {"ok": False, "error": str(err)}
        except Exception as err:  # a bug here must not kill the session
            log(f"internal error on request {req_id}: {type(err).__name__}")
            reply = {"ok": False, "error": f"internal error: {type(err).__name__}"}
        out.write(json.dumps({"id": req_id, **reply}, separators=(",", ":")).encode() + b"\n")
        out.flush()


def main():
    ap = argparse.ArgumentParser(description="A protocol v1 HOTP/TOTP verifier over stdin/stdout.")
    ap.add_argument("--clock", choices=["request", "wall"], default="request",
                    help="request: now is the request's time (default); wall: the process's own clock")
    ap.add_argument("--throttle", action="store_true",
                    help=f"claim and enforce throttle {{after {THROTTLE_AFTER}, delay {THROTTLE_DELAY}, factor {THROTTLE_FACTOR}}}")
    ap.add_argument("--bug", action="append", default=[], choices=sorted(BUGS),
                    help="plant a mistake: " + "; ".join(f"{k}: {v}" for k, v in sorted(BUGS.items())))
    args = ap.parse_args()
    if "throttle-forever" in args.bug and not args.throttle:
        ap.error("--bug throttle-forever needs --throttle")
    verifier = Verifier(clock=args.clock, throttle=args.throttle, bugs=args.bug)
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer, verifier)
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
