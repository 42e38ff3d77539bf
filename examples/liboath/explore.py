#!/usr/bin/env python3
"""Experiments that establish liboath's behaviour through the shim.

Each experiment starts verifier.py, sends protocol-v1 requests, and prints
the exchange (secrets elided) with the counter or step each code belongs
to, then what it shows. FINDINGS.md is written from this output.

  python3 examples/liboath/explore.py                 # every experiment
  python3 examples/liboath/explore.py window replay   # some of them
  python3 examples/liboath/explore.py race --trials 200 --parallel 8

The secret is RFC 4226's test key; codes are computed here, independently.
"""

import argparse
import concurrent.futures
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VERIFIER = os.path.join(HERE, "verifier.py")
KEY = b"12345678901234567890"
MAX = 2**64 - 1
MISMATCHES = []  # observations that contradict FINDINGS.md


def code(counter, digits=6, key=KEY):
    """RFC 4226 HOTP of counter (taken modulo 2^64, as a uint64 would be)."""
    mac = hmac.new(key, (counter % 2**64).to_bytes(8, "big"), hashlib.sha1).digest()
    off = mac[-1] & 0xF
    return str((int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF) % 10**digits).zfill(digits)


class Session:
    """One verifier.py process, with a printed transcript."""

    def __init__(self, *args, quiet=False, state_dir=None):
        cmd = [sys.executable, VERIFIER, *args]
        if state_dir:
            cmd += ["--state-dir", state_dir]
        self.state_dir = state_dir
        # With -v the shim logs liboath's reason for each rejection.
        self.stderr = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True)
        self.next_id = 1
        self.quiet = quiet
        self.serials = 0

    def _line(self, req):
        req = {"id": self.next_id, **req}
        self.next_id += 1
        return req, json.dumps(req, separators=(",", ":"))

    def send(self, note="", **req):
        req, line = self._line(req)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        if not self.quiet:
            shown = line.replace(KEY.hex(), "<secret>")
            print(f"    -> {shown}" + (f"   # {note}" if note else ""))
            print(f"    <- {json.dumps(reply, separators=(',', ':'))}")
        return reply

    def pipeline(self, reqs):
        """Writes every request before reading any reply; returns replies
        by id order of the requests."""
        lines = [self._line(r) for r in reqs]
        self.proc.stdin.write("".join(l + "\n" for _, l in lines))
        self.proc.stdin.flush()
        replies = {}
        for _ in lines:
            r = json.loads(self.proc.stdout.readline())
            replies[r["id"]] = r
        return [replies[req["id"]] for req, _ in lines]

    def enroll(self, kind="hotp", digits=6, counter=0, period=30, note=""):
        self.serials += 1
        serial = f"10000000000{self.serials:02d}"
        tok = {"serial": serial, "kind": kind, "algorithm": "SHA1", "digits": digits,
               "secret": KEY.hex()}
        if kind == "hotp":
            tok["counter"] = counter
        else:
            tok.update(period=period, t0=0)
        self.send(note, op="enroll", token=tok)
        return serial

    def check(self, serial, c, want, note="", t=0):
        """Submits a code; records a mismatch if the verdict is not want
        (True: accepted, False: rejected, None: an error reply)."""
        reply = self.send(note, op="check", serial=serial, code=c, time=t)
        got = reply.get("accepted") if reply.get("ok") else None
        if got != want:
            MISMATCHES.append(f"{note or 'check'}: got {got}, expected {want}")
            print("    !! not what FINDINGS.md says")
        return got

    def usersfile(self, serial):
        """Prints the token's users-file line, secret elided."""
        user = "u" + serial.encode().hex()
        with open(os.path.join(self.state_dir, user + ".oath")) as f:
            for line in f:
                print("    users file: " + line.rstrip("\n").replace(KEY.hex(), "<secret>")
                      .replace(user, "<user>").replace("\t", " "))

    def close(self):
        """Stops the shim; returns how often each liboath reason was logged."""
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.stderr.seek(0)
        reasons = {}
        for line in self.stderr:
            name = line.rsplit(": ", 1)[-1].strip()
            if name.startswith("OATH_"):
                reasons[name] = reasons.get(name, 0) + 1
        self.stderr.close()
        return reasons


def section(title):
    print(f"\n## {title}\n")


def verdict(text):
    print(f"\n  => {text}")


# --- experiments ----------------------------------------------------------------

def exp_window():
    section("HOTP window on a fresh token (window 5, enrolled counter 100)")
    s = Session("--window", "5")
    for k in (0, 5, 6):
        serial = s.enroll(counter=100, note="fresh token, c=100")
        s.check(serial, code(100 + k), k <= 5, f"code(100+{k})")
    s.close()
    verdict("first use accepts c..c+w inclusive (w+1 codes); c+w+1 is rejected")


def exp_stored_counter():
    section("Stored counter: liboath keeps the matched counter, not matched+1")
    with tempfile.TemporaryDirectory() as d:
        s = Session("--window", "5", state_dir=d)
        serial = s.enroll(counter=0)
        s.usersfile(serial)
        s.check(serial, code(2), True, "code(2)")
        s.usersfile(serial)
        s.check(serial, code(2), False, "code(2) again")
        s.check(serial, code(8), False, "code(8): next-expected 3 + 5 would allow it")
        s.check(serial, code(7), True, "code(7) = stored 2 + 5")
        s.usersfile(serial)
        s.close()
    verdict("after accepting counter m liboath stores m (plus the code as 'last OTP'); "
            "the next search is m..m+w and code(m) is refused only because it equals the "
            "stored last OTP string, so in steady state only m+1..m+w, i.e. w codes, are accepted")


def exp_window_zero():
    section("window = 0")
    s = Session("--window", "0")
    serial = s.enroll(counter=0)
    s.check(serial, code(0), True, "code(0)")
    s.check(serial, code(1), False, "code(1): the next press")
    s.check(serial, code(2), False, "code(2)")
    s.check(serial, code(0), False, "code(0) again")
    s.close()
    verdict("window 0 accepts exactly one code ever: the enrolled counter's; afterwards "
            "the only code in the window is the last one, which is a replay")


def exp_replay():
    section("Replay and older codes")
    s = Session("--window", "5")
    serial = s.enroll(counter=0)
    s.check(serial, code(3), True, "code(3)")
    s.check(serial, code(3), False, "code(3) again")
    s.check(serial, code(1), False, "code(1), skipped earlier")
    s.check(serial, code(4), True, "code(4)")
    s.check(serial, code(3), False, "code(3) once more: no longer the last OTP, but below the window")
    s.close()
    verdict("replay of the last code: OATH_REPLAYED_OTP; older codes fall below the window")


def exp_wrap():
    section("Counter at the top of uint64")
    with tempfile.TemporaryDirectory() as d:
        s = Session("--window", "5", state_dir=d)
        serial = s.enroll(counter=MAX - 1)
        s.check(serial, code(MAX), True, "code(2^64-1)")
        s.check(serial, code(0), True, "code(0) = code of 2^64 wrapped")
        s.usersfile(serial)
        s.check(serial, code(1), True, "code(1)")
        s.close()
    verdict("the search window wraps past 2^64-1 to 0: codes of counters that do not exist "
            "are accepted, and the stored counter wraps too")


def exp_digits():
    section("Code length: liboath takes the length from the submitted code")
    s = Session("--window", "5")
    serial = s.enroll(digits=6, counter=0, note="6-digit token")
    s.check(serial, code(0, 8), True, "8-digit code of counter 0")
    s.check(serial, code(1, 7), True, "7-digit code of counter 1")
    s.check(serial, code(2, 5), False, "5 digits")
    s.check(serial, code(2, 6), True, "6-digit code(2)")
    serial8 = s.enroll(digits=8, counter=0, note="8-digit token")
    s.check(serial8, code(0, 6), True, "6-digit code of counter 0")
    t = 1_700_000_000
    totp8 = s.enroll(kind="totp", digits=8, note="8-digit TOTP token")
    s.check(totp8, code(t // 30, 6), True, "6-digit code of step T", t)
    s.close()
    verdict("the users file's /6 or /8 is parsed and ignored: the code is checked at the "
            "length it was typed, so a 6-digit token accepts 7- and 8-digit codes and an "
            "8-digit token (HOTP or TOTP) accepts 6-digit codes, a 100x easier guess; "
            "5 digits is OATH_INVALID_DIGITS")


def exp_hygiene():
    section("Input hygiene")
    s = Session("--window", "5")
    serial = s.enroll(counter=0)
    good = code(0)
    arabic = good.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for bad in ("+" + good, " " + good, good + " ", "0" + good, arabic,
                good.translate(str.maketrans("0123456789", "０１２３４５６７８９"))):
        s.check(serial, bad, False, "malformed")
    s.check(serial, good, True, "the real code")
    s.close()
    verdict("liboath compares strings, so signs, spaces and Unicode digits never match")


def exp_lockout():
    section("Lockout")
    s = Session("--window", "5")
    serial = s.enroll(counter=0)
    s.check(serial, code(1000), False, "a wrong code (counter 1000)")
    rest = s.pipeline([{"op": "check", "serial": serial, "code": code(1000 + i), "time": 0}
                       for i in range(1, 20)])
    accepted = sum(r.get("accepted", False) for r in rest)
    print(f"    ... 19 more wrong codes: accepted {accepted}, "
          f"locked {sum(r.get('locked', False) for r in rest)} ...")
    if accepted:
        MISMATCHES.append("a wrong code was accepted")
    s.check(serial, code(0), True, "the right code after 20 failures")
    s.send("", op="unlock", serial=serial)
    s.send("", op="resync", serial=serial, codes=[code(50), code(51)], time=0)
    s.close()
    verdict("no lockout, no resync: the 21st guess is judged like the first")


def exp_totp():
    section("TOTP window and reuse (window 5, period 30, request clock)")
    t = 1_700_000_000
    T = t // 30
    s = Session("--window", "5")
    serial = s.enroll(kind="totp")
    for d in (-6, 6):
        s.check(serial, code(T + d), False, f"step T{d:+d}", t)
    s.check(serial, code(T + 5), True, "step T+5", t)
    s.check(serial, code(T + 5), False, "step T+5 again", t)
    s.check(serial, code(T + 4), False, "step T+4", t)
    s.check(serial, code(T), False, "step T", t)
    s.check(serial, code(T + 5), False, "step T+5 again, a step later (now T+1)", t + 30)
    s.check(serial, code(T + 6), True, "step T+6 (= now+5)", t + 30)
    s2 = s.enroll(kind="totp", note="fresh token")
    s.check(s2, code(T - 5), True, "step T-5", t)
    s.check(s2, code(T - 4), True, "step T-4", t)
    s3 = s.enroll(kind="totp", note="fresh token: the clock goes back")
    s.check(s3, code(T + 5), True, "step T+5 at now T", t)
    s.check(s3, code(T - 7), True, "step T-7 at now T-11 steps: older than T+5", t - 11 * 30)
    s.close()
    verdict("steps T-w..T+w are accepted (symmetric, inclusive); a step at or before the "
            "last accepted one is OATH_REPLAYED_OTP, but only while that last step is "
            "inside the current window: if the clock goes back further, older steps pass")


def exp_totp_60():
    section("TOTP period 60, 8 digits, and the clock")
    s = Session("--window", "1")
    serial = s.enroll(kind="totp", period=60, digits=8)
    t = 2_000_000_000
    s.check(serial, code(t // 60, 8), True, "step T, 8 digits", t)
    s.check(serial, code(t // 60 + 2, 8), False, "step T+2 (window 1)", t)
    s.check(serial, code(t // 60 + 2, 8), True, "same code one step later", t + 60)
    s.close()
    verdict("the request's time is honoured (timeshim); 60-second steps work")


def exp_far_future():
    section("TOTP beyond year 9999")
    s = Session("--window", "1")
    serial = s.enroll(kind="totp")
    t = 253_402_300_800  # 10000-01-01T00:00:00Z
    s.check(serial, code(t // 30), None, "step T at year 10000", t)
    s.close()
    verdict("validation succeeds but liboath cannot format the 20-character timestamp it "
            "writes into the users file (OATH_TIME_ERROR), so the login fails")


def exp_secret32():
    section("Secrets longer than 32 bytes (liboath called directly)")
    import ctypes
    lib = ctypes.CDLL("liboath.so.0")
    lib.oath_init()
    lib.oath_strerror_name.restype = ctypes.c_char_p
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "users.oath")
        for n in (32, 33):
            key = (KEY * 4)[:n]
            with open(path, "w") as f:
                f.write(f"HOTP/E/6\tu\t-\t{key.hex()}\t0\n")
            rc = lib.oath_authenticate_usersfile(path.encode(), b"u", code(0, key=key).encode(),
                                                 5, None, None)
            print(f"    {n}-byte secret, code(0): rc {rc} {lib.oath_strerror_name(rc).decode()}")
    verdict("the users-file parser reads the key into a 32-byte buffer: longer secrets "
            "(the RFC's 64-byte SHA512 seed, for one) fail with OATH_TOO_SMALL_BUFFER")


def exp_race(trials, parallel, modes):
    section(f"Concurrent double submission ({trials} trials x {parallel} parallel submits)")
    for mode in modes:
        s = Session("--window", "5", "--concurrency", mode, "--workers", str(parallel), "-v",
                    quiet=True)
        hist = {}
        errors = 0
        start = time.monotonic()
        for _ in range(trials):
            serial = s.enroll(counter=0)
            replies = s.pipeline([{"op": "check", "serial": serial, "code": code(0), "time": 0}
                                  for _ in range(parallel)])
            errors += sum(not r["ok"] for r in replies)
            n = sum(r.get("accepted", False) for r in replies)
            hist[n] = hist.get(n, 0) + 1
        reasons = s.close()
        more = sum(v for k, v in hist.items() if k > 1)
        print(f"    --concurrency {mode}: trials with >1 accepted: {more}/{trials}; "
              f"accepted per trial {dict(sorted(hist.items()))}; rejections by reason "
              f"{reasons}; error replies {errors}; {time.monotonic() - start:.1f}s")


def exp_shared(trials, users=4):
    section(f"One shared users file, {users} users logging in at once ({trials} trials)")
    s = Session("--window", "5", "--shared-usersfile", "--workers", str(users), "-v", quiet=True)
    granted = lost = 0
    for _ in range(trials):
        serials = [s.enroll(counter=0) for _ in range(users)]
        burst = s.pipeline([{"op": "check", "serial": x, "code": code(0), "time": 0}
                            for x in serials])
        for x, r in zip(serials, burst):
            if r.get("accepted"):
                granted += 1
                # If this user's update survived, the same code is a replay.
                again = s.pipeline([{"op": "check", "serial": x, "code": code(0), "time": 0}])
                lost += again[0].get("accepted", False)
    reasons = s.close()
    print(f"    logins granted in the bursts: {granted}/{trials * users}; of those, the same "
          f"code accepted again afterwards (update lost): {lost}; rejections by reason {reasons}")


EXPERIMENTS = {
    "window": exp_window, "stored": exp_stored_counter, "zero": exp_window_zero,
    "replay": exp_replay, "wrap": exp_wrap, "digits": exp_digits, "hygiene": exp_hygiene,
    "lockout": exp_lockout, "totp": exp_totp, "totp60": exp_totp_60,
    "future": exp_far_future, "secret32": exp_secret32,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help=f"experiments: {', '.join(EXPERIMENTS)}, race, shared")
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--modes", default="thread,process,none")
    args = p.parse_args()
    names = args.names or list(EXPERIMENTS) + ["race", "shared"]
    for name in names:
        if name == "race":
            exp_race(args.trials, args.parallel, args.modes.split(","))
        elif name == "shared":
            exp_shared(args.trials)
        else:
            EXPERIMENTS[name]()
    if MISMATCHES:
        print(f"\n{len(MISMATCHES)} observation(s) differ from FINDINGS.md:", file=sys.stderr)
        for m in MISMATCHES:
            print("  " + m, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
