#!/usr/bin/env python3
"""Self-test of pyshim: drives verifier.py as a subprocess over JSON lines.

Run from anywhere:  python3 examples/pyshim/test_verifier.py
Standard library only. The codes are computed here independently of the
verifier, and checked against RFC 4226 Appendix D and RFC 6238 Appendix B.
"""

import hashlib
import hmac
import itertools
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
VERIFIER = os.path.join(HERE, "verifier.py")

MAX_COUNTER = 2**64 - 1
RFC_SEED = b"12345678901234567890"
RFC_SEEDS = {
    "SHA1": RFC_SEED,
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890" * 6 + b"1234",
}
RFC4226_CODES = ["755224", "287082", "359152", "969429", "338314",
                 "254676", "287922", "162583", "399871", "520489"]
RFC6238_ROWS = [  # time, SHA1, SHA256, SHA512 (8 digits, X=30, T0=0)
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


def code_of(key, counter, digits=6, alg="SHA1"):
    """RFC 4226 HOTP, written out again here so the test does not trust
    the verifier's own arithmetic."""
    digest = hmac.new(key, counter.to_bytes(8, "big"), getattr(hashlib, alg.lower())).digest()
    off = digest[19 if alg == "SHA1" else len(digest) - 1] & 0xF
    value = int.from_bytes(digest[off:off + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


class Shim:
    """One verifier process and a request/reply helper."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, VERIFIER], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.ids = itertools.count(1)
        self.serials = itertools.count(1000000000001)

    def send_raw(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def call(self, op, **fields):
        req_id = next(self.ids)
        reply = self.send_raw(json.dumps({"id": req_id, "op": op, **fields}))
        assert reply["id"] == req_id, reply
        return reply

    def enroll(self, key=RFC_SEED, kind="hotp", alg="SHA1", digits=6, **extra):
        serial = str(next(self.serials))
        tok = {"serial": serial, "kind": kind, "algorithm": alg,
               "digits": digits, "secret": key.hex(), **extra}
        if kind == "hotp":
            tok.setdefault("counter", 0)
        else:
            tok.setdefault("period", 30)
            tok.setdefault("t0", 0)
        reply = self.call("enroll", token=tok)
        assert reply == {"id": reply["id"], "ok": True}, reply
        return serial

    def check(self, serial, code, time=0, purpose=None):
        fields = {"serial": serial, "code": code, "time": time}
        if purpose is not None:
            fields["purpose"] = purpose
        return self.call("check", **fields)

    def accepted(self, serial, code, time=0, purpose=None):
        reply = self.check(serial, code, time, purpose)
        assert reply["ok"], reply
        return reply["accepted"]

    def resync(self, serial, codes, time=0):
        return self.call("resync", serial=serial, codes=codes, time=time)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        err = self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return err


class VerifierTest(unittest.TestCase):
    def setUp(self):
        self.v = Shim()

    def tearDown(self):
        stderr = self.v.close()
        self.assertEqual(self.v.proc.returncode, 0, stderr)
        for key in RFC_SEEDS.values():  # diagnostics never show a secret
            self.assertNotIn(key.hex(), stderr)

    # -- vectors -----------------------------------------------------------

    def test_rfc4226_appendix_d(self):
        self.assertEqual([code_of(RFC_SEED, i) for i in range(10)], RFC4226_CODES)
        serial = self.v.enroll()
        for code in RFC4226_CODES:  # one press at a time, in order
            self.assertTrue(self.v.accepted(serial, code))
        for i, code in enumerate(RFC4226_CODES):  # each counter on its own
            self.assertTrue(self.v.accepted(self.v.enroll(counter=i), code))

    def test_rfc6238_appendix_b(self):
        for row in RFC6238_ROWS:
            t = row[0]
            for alg, code in zip(("SHA1", "SHA256", "SHA512"), row[1:]):
                with self.subTest(time=t, alg=alg):
                    self.assertEqual(code_of(RFC_SEEDS[alg], t // 30, 8, alg), code)
                    serial = self.v.enroll(RFC_SEEDS[alg], "totp", alg, 8)
                    self.assertTrue(self.v.accepted(serial, code, t))

    def test_sha256_needs_its_own_seed(self):
        # 32247374 is what the 20-byte seed gives under SHA256: a classic bug.
        serial = self.v.enroll(RFC_SEEDS["SHA256"], "totp", "SHA256", 8)
        self.assertFalse(self.v.accepted(serial, "32247374", 59))
        self.assertTrue(self.v.accepted(serial, "46119246", 59))

    def test_hotp_sha512_8_digits(self):
        key = RFC_SEEDS["SHA512"]
        serial = self.v.enroll(key, alg="SHA512", digits=8, counter=7)
        self.assertFalse(self.v.accepted(serial, code_of(key, 7, 8, "SHA1")))
        self.assertTrue(self.v.accepted(serial, code_of(key, 7, 8, "SHA512")))

    # -- HOTP look-ahead ---------------------------------------------------

    def test_look_ahead_edges(self):
        serial = self.v.enroll(counter=100)
        self.assertFalse(self.v.accepted(serial, code_of(RFC_SEED, 111)))  # c+11
        self.assertFalse(self.v.accepted(serial, code_of(RFC_SEED, 99)))   # c-1
        self.assertTrue(self.v.accepted(serial, code_of(RFC_SEED, 110)))   # c+10
        # c is now 111: 111..121 is the window.
        self.assertFalse(self.v.accepted(serial, code_of(RFC_SEED, 122)))
        self.assertTrue(self.v.accepted(serial, code_of(RFC_SEED, 121)))
        self.assertTrue(self.v.accepted(serial, code_of(RFC_SEED, 122)))

    def test_rejection_leaves_counter(self):
        serial = self.v.enroll()
        self.assertFalse(self.v.accepted(serial, code_of(RFC_SEED, 11)))
        self.assertTrue(self.v.accepted(serial, code_of(RFC_SEED, 0)))
        self.assertTrue(self.v.accepted(serial, code_of(RFC_SEED, 11)))

    def test_replay_and_older_codes(self):
        serial = self.v.enroll()
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[3]))
        self.assertFalse(self.v.accepted(serial, RFC4226_CODES[3]))
        self.assertFalse(self.v.accepted(serial, RFC4226_CODES[1]))
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[4]))

    def test_counter_is_unsigned_64_bit(self):
        serial = self.v.enroll(counter=MAX_COUNTER - 2)
        self.assertTrue(self.v.accepted(serial, code_of(RFC_SEED, MAX_COUNTER)))
        # Nothing exists past 2^64-1: no wrap to counter 0.
        self.assertFalse(self.v.accepted(serial, code_of(RFC_SEED, 0)))
        self.assertFalse(self.v.accepted(serial, code_of(RFC_SEED, MAX_COUNTER)))
        for bad in (MAX_COUNTER + 1, -1, 1.5, True, "7"):
            reply = self.v.call("enroll", token={
                "serial": "9", "kind": "hotp", "algorithm": "SHA1", "digits": 6,
                "secret": RFC_SEED.hex(), "counter": bad})
            self.assertFalse(reply["ok"], bad)
            self.assertIn("counter", reply["error"])

    # -- resync ------------------------------------------------------------

    def test_resync(self):
        serial = self.v.enroll()
        pair = [code_of(RFC_SEED, 50), code_of(RFC_SEED, 51)]
        self.assertFalse(self.v.accepted(serial, pair[0]))  # beyond look-ahead
        self.assertTrue(self.v.resync(serial, pair)["accepted"])
        self.assertFalse(self.v.accepted(serial, pair[1]))  # spent by resync
        self.assertTrue(self.v.accepted(serial, code_of(RFC_SEED, 52)))

    def test_resync_window_edges_and_shape(self):
        serial = self.v.enroll()
        codes = lambda *cs: [code_of(RFC_SEED, c) for c in cs]
        for bad in (codes(101, 102), codes(10, 12), codes(11, 10),
                    codes(10), codes(10, 11, 12), ["+" + codes(10)[0][1:], codes(11)[0]]):
            self.assertFalse(self.v.resync(serial, bad)["accepted"], bad)
        self.assertTrue(self.v.resync(serial, codes(100, 101))["accepted"])
        self.assertTrue(self.v.accepted(serial, code_of(RFC_SEED, 102)))

    def test_resync_refused_while_locked_and_not_counted(self):
        serial = self.v.enroll()
        wrong = code_of(RFC_SEED, 5000)
        for _ in range(4):
            self.assertFalse(self.v.accepted(serial, wrong))
        for _ in range(3):  # rejected resyncs do not count toward lockout
            self.assertFalse(self.v.resync(serial, [wrong, wrong])["accepted"])
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[0]))
        for _ in range(5):
            self.assertFalse(self.v.accepted(serial, wrong))
        reply = self.v.resync(serial, [code_of(RFC_SEED, 60), code_of(RFC_SEED, 61)])
        self.assertEqual((reply["accepted"], reply.get("locked")), (False, True))
        self.assertFalse(self.v.check(serial, code_of(RFC_SEED, 1)).get("accepted"))

    # -- lockout -----------------------------------------------------------

    def test_lockout_and_unlock(self):
        serial = self.v.enroll()
        wrong = code_of(RFC_SEED, 5000)
        for i in range(5):
            reply = self.v.check(serial, wrong)
            self.assertFalse(reply["accepted"])
            self.assertEqual(reply.get("locked", False), i == 4)
        reply = self.v.check(serial, RFC4226_CODES[0])  # right code, locked
        self.assertEqual((reply["accepted"], reply.get("locked")), (False, True))
        self.assertTrue(self.v.call("unlock", serial=serial)["ok"])
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[0]))

    def test_accepted_check_resets_failures(self):
        serial = self.v.enroll()
        wrong = code_of(RFC_SEED, 5000)
        for code in RFC4226_CODES[:3]:
            for _ in range(4):
                self.assertFalse(self.v.accepted(serial, wrong))
            self.assertTrue(self.v.accepted(serial, code))

    def test_lockout_applies_to_totp(self):
        serial = self.v.enroll(kind="totp")
        for _ in range(5):
            self.assertFalse(self.v.accepted(serial, code_of(RFC_SEED, 10**6), 1000))
        self.assertFalse(self.v.accepted(serial, code_of(RFC_SEED, 1000 // 30), 1000))

    # -- TOTP --------------------------------------------------------------

    def test_totp_skew_and_reuse(self):
        t = 1111111111
        step = t // 30
        totp = lambda s: code_of(RFC_SEED, s)
        serial = self.v.enroll(kind="totp")
        self.assertFalse(self.v.accepted(serial, totp(step - 2), t))
        self.assertFalse(self.v.accepted(serial, totp(step + 2), t))
        self.assertTrue(self.v.accepted(serial, totp(step - 1), t))
        self.assertFalse(self.v.accepted(serial, totp(step - 1), t))  # reuse
        self.assertTrue(self.v.accepted(serial, totp(step + 1), t))
        # step and step-1 lie behind the last accepted step now.
        self.assertFalse(self.v.accepted(serial, totp(step), t))
        self.assertFalse(self.v.accepted(serial, totp(step + 1), t + 30))
        self.assertTrue(self.v.accepted(serial, totp(step + 2), t + 30))

    def test_totp_period_and_t0(self):
        serial = self.v.enroll(kind="totp", period=60, t0=1000)
        self.assertTrue(self.v.accepted(serial, code_of(RFC_SEED, 3), 1000 + 3 * 60 + 59))
        self.assertFalse(self.v.accepted(serial, code_of(RFC_SEED, 0), 1000 + 3 * 60))

    # -- input hygiene -----------------------------------------------------

    def test_only_ascii_digits_of_the_right_length(self):
        serial = self.v.enroll()
        good = RFC4226_CODES[0]
        arabic = good.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
        fullwidth = good.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        self.assertEqual(int(arabic), int(good))  # what int() would let in
        bad = ["+" + good, " " + good, good + " ", good + "\n", "0" + good, good[1:],
               "-" + good[1:], arabic, fullwidth, good[:3] + " " + good[3:],
               "", "7552\u200b24"]
        for code in bad + bad:  # twice: malformed codes must not lock either
            self.assertFalse(self.v.accepted(serial, code), repr(code))
        self.assertTrue(self.v.accepted(serial, good))
        # Leading zeros matter: 07081804 is the code, 7081804 is not.
        tserial = self.v.enroll(kind="totp", digits=8)
        self.assertFalse(self.v.accepted(tserial, "7081804", 1111111109))
        self.assertTrue(self.v.accepted(tserial, "07081804", 1111111109))

    def test_non_string_code_is_an_error(self):
        serial = self.v.enroll()
        reply = self.v.call("check", serial=serial, code=755224, time=0)
        self.assertFalse(reply["ok"])

    # -- protocol ----------------------------------------------------------

    # -- flows: every door on one token state ------------------------------

    def test_code_spent_in_recovery_does_not_log_in(self):
        serial = self.v.enroll()
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[0], purpose="recovery"))
        for door in (None, "login", "device-test", "signature"):  # 4 failures: not yet locked
            self.assertFalse(self.v.accepted(serial, RFC4226_CODES[0], purpose=door), door)
        for i, door in enumerate(("device-test", "signature", "password-change", "login"), 1):
            self.assertTrue(self.v.accepted(serial, RFC4226_CODES[i], purpose=door), door)

    def test_failures_at_every_door_add_up(self):
        serial = self.v.enroll()
        wrong = code_of(RFC_SEED, 5000)
        doors = ["device-test", "recovery", "device-test", "signature", "password-change"]
        for i, door in enumerate(doors):
            reply = self.v.check(serial, wrong, purpose=door)
            self.assertFalse(reply["accepted"])
            self.assertEqual(reply.get("locked", False), i == 4)
        for door in ("login", "recovery", "device-test"):  # locked for every door
            reply = self.v.check(serial, RFC4226_CODES[0], purpose=door)
            self.assertEqual((reply["accepted"], reply.get("locked")), (False, True), door)
        self.assertTrue(self.v.call("unlock", serial=serial)["ok"])
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[0], purpose="recovery"))

    def test_resync_moves_every_door(self):
        serial = self.v.enroll()
        self.assertTrue(self.v.resync(serial, [RFC4226_CODES[5], RFC4226_CODES[6]])["accepted"])
        self.assertFalse(self.v.accepted(serial, RFC4226_CODES[0], purpose="recovery"))
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[7], purpose="signature"))

    def test_purpose_not_served(self):
        serial = self.v.enroll()
        for purpose in ("Login", "admin", ""):
            reply = self.v.check(serial, RFC4226_CODES[0], purpose=purpose)
            self.assertEqual((reply["ok"], reply.get("unsupported")), (False, True), purpose)
        reply = self.v.check(serial, RFC4226_CODES[0], purpose=7)
        self.assertEqual((reply["ok"], reply.get("unsupported")), (False, None))
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[0]))  # nothing spent

    def test_hello(self):
        reply = self.v.call("hello", protocol=1)
        self.assertTrue(reply["ok"])
        self.assertEqual(reply["name"], "pyshim")
        self.assertEqual(set(reply["ops"]), {"hello", "enroll", "check", "resync", "unlock"})
        self.assertEqual(reply["profile"], {
            "kinds": ["hotp", "totp"], "algorithms": ["SHA1", "SHA256", "SHA512"],
            "digits": [6, 8], "look_ahead": 10, "resync": {"codes": 2, "window": 100},
            "lockout": {"after": 5, "resync_unlocks": False},
            "totp": {"skew_back": 1, "skew_ahead": 1},
            "flows": ["login", "recovery", "password-change", "device-test", "signature"],
            "clock": "request"})

    def test_errors(self):
        for line in ("{not json", "[1,2]", '{"op":"hello"}', '{"id":"7","op":"hello"}'):
            reply = self.v.send_raw(line)
            self.assertEqual((reply["id"], reply["ok"]), (0, False), line)
            self.assertTrue(reply["error"])
        self.v.proc.stdin.write(b"\xff\xfe\n")  # not UTF-8
        self.v.proc.stdin.flush()
        self.assertEqual(json.loads(self.v.proc.stdout.readline())["ok"], False)
        self.assertEqual(self.v.call("hello", protocol=2)["ok"], False)
        reply = self.v.call("frobnicate")
        self.assertEqual((reply["ok"], reply.get("unsupported")), (False, True))
        self.assertFalse(self.v.call("enroll", token={"serial": "1", "kind": "hotp",
                                                      "secret": "zz"})["ok"])
        self.assertFalse(self.v.call("enroll", token={"serial": "1", "kind": "hotp",
                                                      "algorithm": "MD5", "secret": "00"})["ok"])
        unknown = self.v.check("0000000000000", "755224")
        self.assertEqual((unknown["ok"], unknown["accepted"]), (True, False))
        self.assertFalse(self.v.resync("0000000000000", ["1", "2"])["accepted"])
        self.assertFalse(self.v.call("unlock", serial="0000000000000")["ok"])

    def test_enroll_replaces(self):
        serial = self.v.enroll()
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[0]))
        reply = self.v.call("enroll", token={"serial": serial, "kind": "hotp", "algorithm": "SHA1",
                                             "digits": 6, "secret": RFC_SEED.hex(), "counter": 0})
        self.assertTrue(reply["ok"])
        self.assertTrue(self.v.accepted(serial, RFC4226_CODES[0]))

    def test_pipelined_requests(self):
        serial = self.v.enroll()
        lines = [json.dumps({"id": 1000 + i, "op": "check", "serial": serial,
                             "code": code, "time": 0})
                 for i, code in enumerate(RFC4226_CODES + RFC4226_CODES[:1])]
        self.v.proc.stdin.write(("\n".join(lines) + "\n").encode())
        self.v.proc.stdin.flush()
        replies = {}
        for _ in lines:
            reply = json.loads(self.v.proc.stdout.readline())
            replies[reply["id"]] = reply["accepted"]
        self.assertEqual(replies, {1000 + i: i < 10 for i in range(11)})


sys.path.insert(0, HERE)
import verifier as shim  # noqa: E402  (the module itself, for its own clock)


class WallClockTest(unittest.TestCase):
    """--clock wall, --throttle and the planted bugs, on the Verifier class
    with its clock replaced: time passes only when the test says so."""

    def make(self, **kw):
        self.now = 1767225600
        self.real_now = shim.wall_now
        shim.wall_now = lambda: self.now
        self.addCleanup(setattr, shim, "wall_now", self.real_now)
        v = shim.Verifier(clock="wall", **kw)
        self.ids = itertools.count(1)
        return v

    def call(self, v, op, **fields):
        return v.handle({"id": next(self.ids), "op": op, **fields})

    def totp(self, v):
        serial = "2000000000001"
        tok = {"serial": serial, "kind": "totp", "algorithm": "SHA1", "digits": 6,
               "secret": RFC_SEED.hex(), "period": 30, "t0": 0}
        self.assertTrue(self.call(v, "enroll", token=tok)["ok"])
        return serial

    def check(self, v, serial, step, time=0):
        code = code_of(RFC_SEED, step)
        return self.call(v, "check", serial=serial, code=code, time=time)["accepted"]

    def test_wall_clock_ignores_request_time(self):
        v = self.make()
        self.assertEqual(self.call(v, "hello", protocol=1)["profile"]["clock"], "wall")
        serial = self.totp(v)
        step = self.now // 30
        self.assertTrue(self.check(v, serial, step, time=59))  # "time" is ignored
        self.assertFalse(self.check(v, serial, step))           # used once
        self.now += 30
        self.assertTrue(self.check(v, serial, step + 1))
        self.assertTrue(self.check(v, serial, step + 2))        # one step ahead
        self.assertFalse(self.check(v, serial, step + 4))       # two ahead: no
        self.assertTrue(self.real_now() > 1700000000)           # the real clock is real

    def test_throttle(self):
        v = self.make(throttle=True)
        self.assertEqual(self.call(v, "hello", protocol=1)["profile"]["throttle"],
                         {"after": 3, "delay": 5, "factor": 2})
        serial = self.totp(v)
        wrong = {"serial": serial, "code": "000000", "time": 0}
        for _ in range(3):
            self.assertFalse(self.call(v, "check", **wrong)["accepted"])
        self.assertFalse(self.check(v, serial, self.now // 30))  # refused, not counted
        self.now += 5
        self.assertFalse(self.call(v, "check", **wrong)["accepted"])  # the 4th: 10 s
        self.now += 9
        self.assertFalse(self.check(v, serial, self.now // 30))
        self.now += 1
        self.assertTrue(self.check(v, serial, self.now // 30))
        self.assertEqual(v.tokens[serial].failures, 0)

    def test_bugs(self):
        v = self.make(bugs=["skew-ahead"])
        serial = self.totp(v)
        self.assertTrue(self.check(v, serial, self.now // 30 + 2))
        v = self.make(bugs=["totp-reuse"])
        serial = self.totp(v)
        self.assertTrue(self.check(v, serial, self.now // 30))
        self.assertTrue(self.check(v, serial, self.now // 30))
        v = self.make(throttle=True, bugs=["throttle-forever"])
        serial = self.totp(v)
        for _ in range(3):
            self.call(v, "check", serial=serial, code="000000", time=0)
        self.now += 3600
        self.assertFalse(self.check(v, serial, self.now // 30))

    def test_bug_flag_needs_throttle(self):
        proc = subprocess.run([sys.executable, VERIFIER, "--bug", "throttle-forever"],
                              input=b"", capture_output=True)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"needs --throttle", proc.stderr)


if __name__ == "__main__":
    unittest.main()
