#!/usr/bin/env python3
"""google-authenticator-libpam shim: the real PAM module
(Debian libpam-google-authenticator, pam_google_authenticator.so) behind
otplab protocol v1 (exec transport), driven through real PAM.

Every code is judged by a PAM login: pamcheck.c (built here with cc and
-lpam) starts a PAM transaction with a service file that loads
pam_google_authenticator.so, answers the module's "Verification code"
prompt with the code exactly as typed, and calls pam_authenticate. The
module reads and rewrites the token's secret file itself (its counter,
rate-limit timestamps, used steps, learned skew), as it does under sshd.
The shim only translates:

  * enroll writes the token's secret file (base32 secret, then the
    module's options), one file per serial in a private temporary
    directory removed on exit, mode 0600 as the module demands. The
    options are the policy of the profile: RATE_LIMIT 3 30 and
    DISALLOW_REUSE (TOTP), HOTP_COUNTER n for an HOTP token, TOTP_AUTH for
    a TOTP one; WINDOW_SIZE and skew learning at their defaults (3, on);
  * check runs one PAM login for the serial with the code;
  * the module reads the wall clock (time(NULL)), so the profile claims
    "clock": "wall": the harness runs this shim under libfaketime
    (conformance run --clock fake), and every pamcheck it starts inherits
    that clock;
  * logins run one at a time (--parallel N runs up to N at once, as
    concurrent sshd logins would: the module has no lock around the
    secret file, so concurrent copies of one code may all log in).

The PAM service file lives in the private directory too
(pam_start_confdir): nothing under /etc is touched. Diagnostics go to
stderr and never contain a secret. Needs a C compiler, libpam0g-dev and
libpam-google-authenticator (Debian packages).
"""

import argparse
import base64
import concurrent.futures
import getpass
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

PROTOCOL = 1
SERVICE = "otplab-google-authenticator"
HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_DIRS = ["/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
               "/lib/security", "/usr/lib/security", "/lib64/security", "/usr/lib64/security"]


def log(msg):
    print(f"google-authenticator shim: {msg}", file=sys.stderr, flush=True)


class RequestError(Exception):
    """A request the shim cannot translate: an ok:false reply."""


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def package_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libpam-google-authenticator"],
                             capture_output=True, text=True, check=False)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def profile():
    # The module's policy with these options, as docs/protocol.md states it.
    return {
        "kinds": ["hotp", "totp"],
        "counters": {"min": 1, "max": 2**63 - 1},
        "look_ahead": 2,
        "on_failure": "advance",
        "input": "exact",
        "rate_limit": {"attempts": 3, "per": 31},
        "totp": {"skew_back": 1, "skew_ahead": 1, "reuse": "once",
                 "resync": {"codes": 3, "range": 1500}, "periods": [30], "t0": False},
        "clock": "wall",
    }


class Shim:
    def __init__(self, args):
        self.dir = tempfile.mkdtemp(prefix="otplab-gauth-")
        self.secrets = os.path.join(self.dir, "secrets")
        self.conf = os.path.join(self.dir, "pam.d")
        os.mkdir(self.secrets, 0o700)
        os.mkdir(self.conf, 0o700)
        module = next((os.path.join(d, "pam_google_authenticator.so") for d in MODULE_DIRS
                       if os.path.exists(os.path.join(d, "pam_google_authenticator.so"))), None)
        if module is None:
            raise SystemExit("google-authenticator shim: pam_google_authenticator.so not found "
                             "(apt-get install libpam-google-authenticator)")
        # user=: the module opens the secret file as this user, the owner
        # of the files written here; secret=: one file per serial.
        with open(os.path.join(self.conf, SERVICE), "w") as f:
            f.write(f"auth required {module} secret={self.secrets}/${{USER}} user={getpass.getuser()}\n")
        self.pamcheck = os.path.join(self.dir, "pamcheck")
        cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        if cc is None:
            raise SystemExit("google-authenticator shim: no C compiler to build pamcheck.c")
        res = subprocess.run([cc, "-O2", "-o", self.pamcheck, os.path.join(HERE, "pamcheck.c"), "-lpam"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if res.returncode != 0:
            raise SystemExit("google-authenticator shim: cannot build pamcheck.c (needs libpam0g-dev): "
                             + " ".join(res.stderr.split())[:300])
        self.version = package_version()
        self.known = set()
        self.out_mu = threading.Lock()
        self.pool = concurrent.futures.ThreadPoolExecutor(args.parallel) if args.parallel > 1 else None

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def reply(self, req_id, fields):
        line = json.dumps({"id": req_id, **fields}, separators=(",", ":")) + "\n"
        with self.out_mu:
            sys.stdout.write(line)
            sys.stdout.flush()

    def hello(self, req):
        if req.get("protocol") != PROTOCOL:
            raise RequestError(f"unsupported protocol {req.get('protocol')!r} (want {PROTOCOL})")
        return {"ok": True, "name": f"google-authenticator-libpam {self.version}",
                "ops": ["hello", "enroll", "check"], "profile": profile()}

    def enroll(self, req):
        tok = req.get("token")
        if not isinstance(tok, dict):
            raise RequestError("enroll: missing token object")
        serial = tok.get("serial")
        if not isinstance(serial, str) or not serial.isascii() or not serial.isalnum() or len(serial) > 64:
            raise RequestError("enroll: the serial names a PAM user and a file: letters and digits only")
        if tok.get("algorithm", "SHA1") != "SHA1":
            raise RequestError(f"enroll: the module supports HMAC-SHA1 only, not {tok.get('algorithm')!r}")
        if tok.get("digits", 6) != 6:
            raise RequestError(f"enroll: the module supports 6 digits only, not {tok.get('digits')!r}")
        try:
            secret = bytes.fromhex(tok.get("secret"))
        except (TypeError, ValueError):
            raise RequestError("enroll: secret is not a hex string") from None
        if not 0 < len(secret) <= 64:
            raise RequestError(f"enroll: a secret of {len(secret)} bytes")
        lines = [base64.b32encode(secret).decode().rstrip("="), '" RATE_LIMIT 3 30']
        kind = tok.get("kind")
        if kind == "hotp":
            counter = tok.get("counter", 0)
            if not is_int(counter) or not 1 <= counter < 2**63:
                raise RequestError("enroll: HOTP_COUNTER holds 1..2^63-1 (0 turns HOTP off)")
            lines.append(f'" HOTP_COUNTER {counter}')
        elif kind == "totp":
            if tok.get("period", 30) != 30:
                raise RequestError("enroll: this profile enrolls 30-second steps only")
            if tok.get("t0", 0) != 0:
                raise RequestError("enroll: the module counts steps from the epoch (no t0)")
            lines += ['" DISALLOW_REUSE', '" TOTP_AUTH']
        else:
            raise RequestError(f"enroll: unknown kind {kind!r}")
        path = os.path.join(self.secrets, serial)
        tmp = path + ".new"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
        self.known.add(serial)
        return {"ok": True}

    def check(self, req_id, req):
        serial, code = req.get("serial"), req.get("code")
        if not isinstance(serial, str) or not isinstance(code, str):
            raise RequestError("check: serial and code must be strings")
        if req.get("purpose", "login") != "login":
            return self.reply(req_id, {"ok": False, "unsupported": True, "error": "one door: login"})
        if serial not in self.known or "\0" in code:
            # No such PAM user; or a code that a C string cannot carry.
            return self.reply(req_id, {"ok": True, "accepted": False})
        if self.pool is None:
            return self.finish(req_id, self.login(serial, code))
        fut = self.pool.submit(self.login, serial, code)
        fut.add_done_callback(lambda f: self.finish(req_id, f.result()))

    def login(self, serial, code):
        res = subprocess.run([self.pamcheck, self.conf, SERVICE, serial, code],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return res.returncode, " ".join(res.stderr.split())[:200]

    def finish(self, req_id, outcome):
        rc, why = outcome
        if rc == 0:
            return self.reply(req_id, {"ok": True, "accepted": True})
        if rc == 1:
            return self.reply(req_id, {"ok": True, "accepted": False})
        return self.reply(req_id, {"ok": False, "error": f"PAM failed (status {rc}): {why}"})

    def dispatch(self, raw):
        req_id = 0
        try:
            try:
                req = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise RequestError(f"malformed request line: {err}") from None
            if not isinstance(req, dict):
                raise RequestError("request is not a JSON object")
            req_id = req.get("id")
            if not is_int(req_id):
                req_id = 0
                raise RequestError("missing or non-integer id")
            op = req.get("op")
            if op == "check":
                return self.check(req_id, req)
            if op == "hello":
                fields = self.hello(req)
            elif op == "enroll":
                fields = self.enroll(req)
            else:
                fields = {"ok": False, "unsupported": True,
                          "error": f"unsupported op {op!r}: the module has no resync or unlock"
                          if op in ("resync", "unlock") else f"unsupported op {op!r}"}
        except RequestError as err:
            fields = {"ok": False, "error": str(err)}
        except Exception as err:  # a bug here must not end the session
            log(f"internal error on request {req_id}: {type(err).__name__}")
            fields = {"ok": False, "error": f"internal error: {type(err).__name__}"}
        self.reply(req_id, fields)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parallel", type=int, default=1, metavar="N",
                    help="logins run at once (default 1: one at a time)")
    args = ap.parse_args()
    if args.parallel < 1:
        ap.error("--parallel: want 1 or more")
    shim = Shim(args)
    try:
        for raw in sys.stdin.buffer:
            if raw.strip():
                shim.dispatch(raw)
    finally:
        shim.close()


if __name__ == "__main__":
    main()
