#!/usr/bin/env python3
"""liboath shim: the real liboath (the library behind pam_oath) behind
otplab protocol v1 (exec transport).

Every code is judged by liboath's oath_authenticate_usersfile(), the very
call pam_oath makes, against a users file that holds the token's state, so
what the conformance suite sees is liboath's behaviour, not ours. The shim
only translates: enroll writes a users-file line, check calls liboath.

  * one users file per enrolled serial, in a private temporary directory
    that is removed on exit (--shared-usersfile puts every serial in one
    file, as /etc/users.oath does; see FINDINGS.md for why that is not the
    default);
  * liboath's search window is --window (default 5, pam_oath's default);
  * liboath reads TOTP time from time(NULL). To honour the request's
    "time", the shim builds timeshim.c and re-executes itself with it in
    LD_PRELOAD, so liboath's time() returns the request's time on the
    thread that serves it. Without a C compiler, or with --clock wall, the
    shim uses the real clock and claims "clock": "wall";
  * checks are served concurrently, each on a thread of a pool
    (--concurrency thread, the default; ctypes releases the GIL while
    liboath runs), in a pool of worker processes as pam_oath runs one
    process per login (--concurrency process), or one at a time
    (--concurrency none). Replies carry their request's id.

Diagnostics go to stderr and never contain a secret or a code. Standard
library only (ctypes); see README.md.
"""

import argparse
import concurrent.futures
import ctypes
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

NAME = "liboath"
PROTOCOL = 1
LIBOATH = "liboath.so.0"
MAX_COUNTER = 2**64 - 1
HERE = os.path.dirname(os.path.abspath(__file__))
TIMESHIM_SRC = os.path.join(HERE, "timeshim.c")
TIMESHIM_ENV = "OTPLAB_LIBOATH_TIMESHIM"  # path of the preloaded library

# liboath return codes (oath.h) that mean "this code is not accepted"
# rather than "something is broken": pam_oath denies the login on any
# non-zero code, and so do we, but these are not worth an error reply.
OATH_OK = 0
DENIALS = {
    -2: "OATH_INVALID_DIGITS",   # code length other than 6, 7 or 8
    -6: "OATH_INVALID_OTP",      # not in the window
    -7: "OATH_REPLAYED_OTP",     # same as the last accepted code
    # Another login is updating the same users file (its FILE.lock exists):
    # liboath gives up at once. The code was valid but the login is denied,
    # and the file is left as it was. See FINDINGS.md.
    -15: "OATH_FILE_LOCK_ERROR",
}


def log(msg):
    """Writes one diagnostic line to stderr. Never pass it secrets or codes."""
    print(f"{NAME}: {msg}", file=sys.stderr, flush=True)


class RequestError(Exception):
    """A request that cannot be served; its text becomes the reply's error."""


# --- liboath through ctypes -------------------------------------------------

class LibOath:
    """The few liboath entry points the shim needs."""

    def __init__(self):
        lib = ctypes.CDLL(LIBOATH)  # CDLL: the GIL is released during calls
        lib.oath_init.restype = ctypes.c_int
        lib.oath_check_version.restype = ctypes.c_char_p
        lib.oath_check_version.argtypes = [ctypes.c_char_p]
        lib.oath_strerror_name.restype = ctypes.c_char_p
        lib.oath_strerror_name.argtypes = [ctypes.c_int]
        lib.oath_authenticate_usersfile.restype = ctypes.c_int
        lib.oath_authenticate_usersfile.argtypes = [
            ctypes.c_char_p,                  # usersfile
            ctypes.c_char_p,                  # username
            ctypes.c_char_p,                  # otp
            ctypes.c_size_t,                  # window
            ctypes.c_char_p,                  # passwd (NULL: no password)
            ctypes.POINTER(ctypes.c_long),    # last_otp (out)
        ]
        rc = lib.oath_init()
        if rc != OATH_OK:
            raise RuntimeError(f"oath_init failed: {rc}")
        self.lib = lib
        self.version = lib.oath_check_version(None).decode()
        # The time override lives in the preloaded timeshim, if any;
        # dlopen(NULL) sees every symbol of the process, preloads included.
        main = ctypes.CDLL(None)
        self.set_time = getattr(main, "otplab_set_time", None)
        self.clear_time = getattr(main, "otplab_clear_time", None)
        if self.set_time is not None:
            self.set_time.argtypes = [ctypes.c_longlong]
            self.set_time.restype = None
            self.clear_time.restype = None

    def error_name(self, rc):
        name = self.lib.oath_strerror_name(rc)
        return name.decode() if name else f"liboath error {rc}"

    def authenticate(self, usersfile, user, code, window, now):
        """Calls oath_authenticate_usersfile with time() = now on this
        thread (now None: the real clock). Returns liboath's code."""
        last = ctypes.c_long(0)
        if now is not None and self.set_time is not None:
            self.set_time(now)
        try:
            return self.lib.oath_authenticate_usersfile(
                usersfile.encode(), user.encode(), code.encode("utf-8"),
                window, None, ctypes.byref(last))
        finally:
            if self.clear_time is not None:
                self.clear_time()


# The liboath handle of this process: set by main(), shared by the pool's
# threads and inherited by forked workers; made on first use otherwise.
_worker_lib = None


def worker_authenticate(usersfile, user, code, window, now):
    """Runs on a pool thread or process: one liboath call, as one pam_oath
    login."""
    global _worker_lib
    if _worker_lib is None:
        _worker_lib = LibOath()
    return _worker_lib.authenticate(usersfile, user, code, window, now)


# --- the users files --------------------------------------------------------

class UsersFiles:
    """Writes enrolment lines into users files the way an administrator
    would, under liboath's own lock: liboath (Debian 12) creates FILE.lock
    exclusively, writes FILE.new, renames it over FILE and removes the
    lock; so does enroll, waiting while a login holds the lock."""

    def __init__(self, shared, state_dir=None):
        self.keep = state_dir is not None
        if self.keep:
            os.makedirs(state_dir, mode=0o700, exist_ok=True)
        self.dir = state_dir or tempfile.mkdtemp(prefix="otplab-liboath-")
        self.shared = shared
        self.tokens = {}            # serial -> Enrolled
        self.mu = threading.Lock()  # guards tokens and our own writes

    def close(self):
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def path_for(self, user):
        return os.path.join(self.dir, "users.oath" if self.shared else user + ".oath")

    def enroll(self, serial, line_type, secret_hex, counter, kind, t0=0):
        # The serial is free text; liboath's file is whitespace-separated,
        # so the user name is the serial in hex.
        user = "u" + serial.encode("utf-8").hex()
        fields = [line_type, user, "-", secret_hex]
        if counter is not None:
            fields.append(str(counter))
        line = "\t".join(fields) + "\n"
        path = self.path_for(user)
        with self.mu:
            lock = self._take_lock(path)
            try:
                self._replace_line(path, user, line)
            finally:
                os.close(lock)
                os.unlink(path + ".lock")
            self.tokens[serial] = (kind, path, user, t0)

    @staticmethod
    def _take_lock(path, patience=5.0):
        deadline = time.monotonic() + patience
        while True:
            try:
                return os.open(path + ".lock", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                if time.monotonic() > deadline:
                    raise RequestError("enroll: the users file stays locked (stale FILE.lock?)")
                time.sleep(0.001)

    @staticmethod
    def _replace_line(path, user, line):
        try:
            with open(path) as f:
                old = [l for l in f if l.split()[1:2] != [user]]
        except FileNotFoundError:
            old = []
        fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.writelines(old + [line])
        os.rename(path + ".new", path)

    def lookup(self, serial):
        with self.mu:
            return self.tokens.get(serial)


# --- protocol v1 --------------------------------------------------------------

class Shim:
    def __init__(self, args, lib):
        self.args = args
        self.lib = lib
        self.files = UsersFiles(args.shared_usersfile, args.state_dir)
        self.request_clock = args.clock == "request" and lib.set_time is not None
        self.out_mu = threading.Lock()
        if args.concurrency == "process":
            ctx = multiprocessing.get_context("fork")
            self.pool = concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=ctx)
        elif args.concurrency == "thread":
            self.pool = concurrent.futures.ThreadPoolExecutor(args.workers)
        else:
            self.pool = None

    def profile(self):
        w = self.args.window
        return {
            "kinds": ["hotp", "totp"],
            "algorithms": ["SHA1"],
            "digits": [6, 8],
            "look_ahead": w,
            "resync": {"codes": 0, "window": 0},
            "limits": "none",
            "totp": {"skew_back": w, "skew_ahead": w},
            "clock": "request" if self.request_clock else "wall",
        }

    def reply(self, req_id, fields):
        line = json.dumps({"id": req_id, **fields}, separators=(",", ":")) + "\n"
        with self.out_mu:
            sys.stdout.write(line)
            sys.stdout.flush()

    def serve(self):
        try:
            for raw in sys.stdin.buffer:
                if raw.strip():
                    self.dispatch(raw)
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)  # answer what is in flight
            self.files.close()

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
            if not isinstance(req_id, int) or isinstance(req_id, bool):
                req_id = 0
                raise RequestError("missing or non-integer id")
            op = req.get("op")
            if op == "check":
                return self.check(req_id, req)  # replies when liboath is done
            if op == "hello":
                fields = self.hello(req)
            elif op == "enroll":
                fields = self.enroll(req)
            else:
                fields = {"ok": False, "unsupported": True,
                          "error": f"unsupported op {op!r}: liboath has no resync or lockout"
                          if op in ("resync", "unlock") else f"unsupported op {op!r}"}
        except RequestError as err:
            fields = {"ok": False, "error": str(err)}
        except Exception as err:  # a bug here must not end the session
            log(f"internal error on request {req_id}: {type(err).__name__}")
            fields = {"ok": False, "error": f"internal error: {type(err).__name__}"}
        self.reply(req_id, fields)

    def hello(self, req):
        if req.get("protocol") != PROTOCOL:
            raise RequestError(f"unsupported protocol {req.get('protocol')!r} (want {PROTOCOL})")
        return {"ok": True, "name": f"liboath {self.lib.version} (oath_authenticate_usersfile, "
                f"window {self.args.window})", "ops": ["hello", "enroll", "check"],
                "profile": self.profile()}

    def enroll(self, req):
        tok = req.get("token")
        if not isinstance(tok, dict):
            raise RequestError("enroll: missing token object")
        serial = tok.get("serial")
        if not isinstance(serial, str) or not serial:
            raise RequestError("enroll: missing serial")
        kind, alg, digits = tok.get("kind"), tok.get("algorithm", "SHA1"), tok.get("digits", 6)
        # What liboath's users file can express, and nothing more.
        if alg != "SHA1":
            raise RequestError(f"enroll: liboath's users file supports HMAC-SHA1 only, not {alg!r}")
        if digits not in (6, 7, 8) or isinstance(digits, bool):
            raise RequestError(f"enroll: liboath supports 6, 7 or 8 digits, not {digits!r}")
        try:
            secret = bytes.fromhex(tok.get("secret"))
        except (TypeError, ValueError):
            raise RequestError("enroll: secret is not a hex string") from None
        if not 0 < len(secret) <= 32:
            raise RequestError(f"enroll: liboath's users file holds 1..32-byte secrets, not {len(secret)}")
        if kind == "hotp":
            counter = tok.get("counter", 0)
            if not isinstance(counter, int) or isinstance(counter, bool) or not 0 <= counter <= MAX_COUNTER:
                raise RequestError("enroll: counter is not an integer in 0..2^64-1")
            line_type, t0 = f"HOTP/E/{digits}", 0
        elif kind == "totp":
            period, t0 = tok.get("period", 30), tok.get("t0", 0)
            if not isinstance(t0, int) or isinstance(t0, bool):
                raise RequestError("enroll: t0 is not an integer")
            if period not in (30, 60) or isinstance(period, bool):
                raise RequestError(f"enroll: liboath's users file supports periods 30 and 60, not {period!r}")
            # liboath counts steps from the epoch; a token with another t0
            # is served by handing liboath the time shifted by t0, which
            # gives it the same step numbers (request clock only).
            if t0 != 0 and not self.request_clock:
                raise RequestError("enroll: liboath counts TOTP steps from t0 = 0; "
                                   "another t0 needs the request clock")
            line_type, counter = f"HOTP/T{period}/{digits}", None
        else:
            raise RequestError(f"enroll: unknown kind {kind!r}")
        self.files.enroll(serial, line_type, secret.hex(), counter, kind, t0)
        return {"ok": True}

    def check(self, req_id, req):
        serial, code = req.get("serial"), req.get("code")
        if not isinstance(serial, str) or not isinstance(code, str):
            raise RequestError("check: serial and code must be strings")
        entry = self.files.lookup(serial)
        if entry is None:
            return self.reply(req_id, {"ok": True, "accepted": False})
        kind, path, user, t0 = entry
        if "\0" in code:
            # A C string ends at NUL: passing it would let liboath see a
            # shorter code than the one typed. Refuse rather than truncate.
            return self.reply(req_id, {"ok": True, "accepted": False})
        now = None
        if self.request_clock:
            t = req.get("time")
            if kind == "totp" and not isinstance(t, (int, float)):
                raise RequestError("check: missing time")
            if isinstance(t, int) and not isinstance(t, bool):
                now = t
            elif isinstance(t, float) and abs(t) < 2**62:
                now = int(t // 1)
            if now is not None:
                now -= t0  # liboath's step = (now - 0) / period
                if abs(now) >= 2**62:
                    raise RequestError("check: time out of range")
        call = (path, user, code, self.args.window, now)
        if self.pool is None:
            return self.finish(req_id, serial, worker_authenticate(*call))
        future = self.pool.submit(worker_authenticate, *call)
        future.add_done_callback(lambda f: self.finish(req_id, serial, f))

    def finish(self, req_id, serial, result):
        try:
            rc = result if isinstance(result, int) else result.result()
        except Exception as err:  # a worker died: report, do not guess
            return self.reply(req_id, {"ok": False, "error": f"liboath call failed: {type(err).__name__}"})
        if rc == OATH_OK:
            return self.reply(req_id, {"ok": True, "accepted": True})
        name = DENIALS.get(rc) or self.lib.error_name(rc)
        if self.args.verbose:
            log(f"request {req_id} serial {serial}: {name}")
        if rc in DENIALS:
            return self.reply(req_id, {"ok": True, "accepted": False})
        return self.reply(req_id, {"ok": False, "error": f"liboath: {name} ({rc})"})


# --- start-up -----------------------------------------------------------------

def preload_timeshim():
    """Builds timeshim.so and re-executes this script with it preloaded.
    Returns only if that is impossible (no compiler): the caller then runs
    on the wall clock."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        log("no C compiler: cannot feed the request's time to liboath; using the wall clock")
        return
    build = tempfile.mkdtemp(prefix="otplab-timeshim-")
    so = os.path.join(build, "timeshim.so")
    res = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", so, TIMESHIM_SRC],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        shutil.rmtree(build, ignore_errors=True)
        log(f"building timeshim.c failed ({res.stderr.strip()[:200]}); using the wall clock")
        return
    env = dict(os.environ)
    env["LD_PRELOAD"] = " ".join(filter(None, [so, env.get("LD_PRELOAD")]))
    env[TIMESHIM_ENV] = so
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def forget_timeshim():
    """In the re-executed process: the library is mapped, so its file and
    the variables that loaded it can go (worker processes need neither)."""
    so = os.environ.pop(TIMESHIM_ENV, None)
    if so:
        preload = [p for p in os.environ.get("LD_PRELOAD", "").split() if p != so]
        if preload:
            os.environ["LD_PRELOAD"] = " ".join(preload)
        else:
            os.environ.pop("LD_PRELOAD", None)
        shutil.rmtree(os.path.dirname(so), ignore_errors=True)
    return so is not None


def parse_args():
    p = argparse.ArgumentParser(description="protocol-v1 exec shim around liboath's "
                                "oath_authenticate_usersfile (see README.md)")
    p.add_argument("--window", type=int, default=5,
                   help="liboath search window (default 5, as pam_oath)")
    p.add_argument("--clock", choices=["request", "wall"], default="request",
                   help="take TOTP time from the request (via timeshim.c) or the system clock")
    p.add_argument("--concurrency", choices=["thread", "process", "none"], default="thread",
                   help="serve checks in a thread pool (default), a process pool, or one at a time")
    p.add_argument("--workers", type=int, default=8, help="pool size (default 8)")
    p.add_argument("--shared-usersfile", action="store_true",
                   help="keep every serial in one users file, as /etc/users.oath")
    p.add_argument("--state-dir", metavar="DIR",
                   help="keep the users files in DIR and leave them there on exit "
                   "(they hold the secrets: for experiments only)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log liboath's reason for every rejected code (no codes, no secrets)")
    args = p.parse_args()
    if args.window < 0 or args.workers < 1:
        p.error("--window must be >= 0 and --workers >= 1")
    return args


def main():
    args = parse_args()
    if args.clock == "request" and TIMESHIM_ENV not in os.environ:
        preload_timeshim()  # does not return when it works
    forget_timeshim()
    try:
        lib = LibOath()
    except OSError as err:
        log(f"cannot load {LIBOATH} ({err}); run examples/liboath/setup.sh")
        sys.exit(2)
    if args.clock == "request" and lib.set_time is None:
        log("timeshim is not loaded: TOTP uses the wall clock")
    global _worker_lib
    _worker_lib = lib  # threads share it; forked workers inherit it
    shim = Shim(args, lib)
    try:
        shim.serve()
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
