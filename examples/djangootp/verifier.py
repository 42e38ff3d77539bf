#!/usr/bin/python3
"""django-otp shim: the real django-otp (Debian python3-django-otp) behind
otplab protocol v1 (exec transport).

Every code is judged by django_otp.verify_token(user, device_id, token),
the call django-otp's own login forms make: it loads the device with
select_for_update inside a transaction and calls the device's
verify_token(), which applies django-otp's throttling, its HOTP tolerance
and its TOTP drift and last_t rules. The shim only translates:

  * enroll creates a Django user named after the serial and one
    HOTPDevice or TOTPDevice with the token's key, digits, counter (HOTP)
    or step and t0 (TOTP), every other field at django-otp's default
    (HOTP tolerance 5, TOTP tolerance 1, drift 0, throttle factor 1,
    OTP_TOTP_SYNC on); enrolling a serial again deletes the user and its
    devices first;
  * check calls django_otp.verify_token with the code exactly as typed;
  * the database is SQLite, in memory (OTPLAB_DJANGO_DB=file: a file in a
    private temporary directory removed on exit); django-otp's counter is
    a BigIntegerField: signed 64-bit, as on PostgreSQL;
  * django-otp reads the wall clock (time.time() for TOTP steps,
    django.utils.timezone.now() for throttling), so the profile claims
    "clock": "wall": the harness sets this process's clock with
    libfaketime (conformance run --clock fake);
  * requests are served one at a time, in order (one SQLite connection).

Diagnostics go to stderr and never contain a secret or a code. It needs
Debian's python3-django and python3-django-otp (run it with /usr/bin/python3
when another python3 comes first on PATH).
"""

import json
import os
import shutil
import sys
import tempfile

PROTOCOL = 1

STATE = tempfile.mkdtemp(prefix="otplab-django-otp-")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    DEBUG=False,
    USE_TZ=True,
    SECRET_KEY="otplab-shim-not-secret",
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django_otp",
        "django_otp.plugins.otp_hotp",
        "django_otp.plugins.otp_totp",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                           "NAME": os.path.join(STATE, "db.sqlite3")
                           if os.environ.get("OTPLAB_DJANGO_DB") == "file" else ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

import django_otp  # noqa: E402
from django_otp.plugins.otp_hotp.models import HOTPDevice  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402


def log(msg):
    print(f"django-otp shim: {msg}", file=sys.stderr, flush=True)


def version():
    v = getattr(django_otp, "__version__", None)
    if v:
        return v
    try:
        from importlib.metadata import version as dist_version
        return dist_version("django-otp")
    except Exception:
        return "unknown"


class RequestError(Exception):
    """A request the shim cannot translate: an ok:false reply."""


def profile():
    # django-otp's real policy, as docs/protocol.md states it.
    return {
        "kinds": ["hotp", "totp"],
        "digits": [6, 8],
        "counters": {"min": 0, "max": 2**63 - 2},
        "look_ahead": 5,
        "input": "lenient",
        "throttle": {"after": 1, "delay": 1, "factor": 2},
        "totp": {"skew_back": 1, "skew_ahead": 1, "drift": {"max": None}},
        "clock": "wall",
    }


def hello(req):
    if req.get("protocol") != PROTOCOL:
        raise RequestError(f"unsupported protocol {req.get('protocol')!r} (want {PROTOCOL})")
    return {"ok": True, "name": f"django-otp {version()}", "ops": ["hello", "enroll", "check"],
            "profile": profile()}


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def enroll(req):
    tok = req.get("token")
    if not isinstance(tok, dict):
        raise RequestError("enroll: missing token object")
    serial = tok.get("serial")
    if not isinstance(serial, str) or not serial or len(serial) > 150:
        raise RequestError("enroll: missing or overlong serial")
    if tok.get("algorithm", "SHA1") != "SHA1":
        raise RequestError(f"enroll: django-otp's devices use HMAC-SHA1 only, not {tok.get('algorithm')!r}")
    digits = tok.get("digits", 6)
    if digits not in (6, 8) or not is_int(digits):
        raise RequestError(f"enroll: django-otp's devices have 6 or 8 digits, not {digits!r}")
    try:
        secret = bytes.fromhex(tok.get("secret"))
    except (TypeError, ValueError):
        raise RequestError("enroll: secret is not a hex string") from None
    if not 0 < len(secret) <= 40:
        raise RequestError(f"enroll: django-otp keys hold 1..40 bytes, not {len(secret)}")
    kind = tok.get("kind")
    User = get_user_model()
    User.objects.filter(username=serial).delete()  # cascades to its devices
    user = User.objects.create(username=serial)
    if kind == "hotp":
        counter = tok.get("counter", 0)
        if not is_int(counter) or not 0 <= counter < 2**63:
            User.objects.filter(username=serial).delete()
            raise RequestError("enroll: django-otp's counter is a signed 64-bit integer")
        HOTPDevice.objects.create(user=user, name=serial, key=secret.hex(), digits=digits, counter=counter)
    elif kind == "totp":
        period, t0 = tok.get("period", 30), tok.get("t0", 0)
        if not is_int(period) or not 0 < period < 2**15 or not is_int(t0) or abs(t0) >= 2**63:
            User.objects.filter(username=serial).delete()
            raise RequestError("enroll: period or t0 out of django-otp's range")
        TOTPDevice.objects.create(user=user, name=serial, key=secret.hex(), digits=digits, step=period, t0=t0)
    else:
        User.objects.filter(username=serial).delete()
        raise RequestError(f"enroll: unknown kind {kind!r}")
    return {"ok": True}


def check(req):
    serial, code = req.get("serial"), req.get("code")
    if not isinstance(serial, str) or not isinstance(code, str):
        raise RequestError("check: serial and code must be strings")
    user = get_user_model().objects.filter(username=serial).first()
    if user is None:
        return {"ok": True, "accepted": False}
    device = (HOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.filter(user=user).first())
    if device is None:
        return {"ok": True, "accepted": False}
    try:
        accepted = django_otp.verify_token(user, device.persistent_id, code) is not None
    except Exception as err:
        # django-otp raised (a counter past its BigIntegerField, ...): what
        # its login view would turn into a server error.
        log(f"verify_token raised {type(err).__name__}")
        return {"ok": False, "error": f"django-otp raised {type(err).__name__}"}
    return {"ok": True, "accepted": accepted}


def dispatch(raw):
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
        if op == "hello":
            fields = hello(req)
        elif op == "enroll":
            fields = enroll(req)
        elif op == "check":
            if req.get("purpose", "login") != "login":
                fields = {"ok": False, "unsupported": True, "error": "django-otp serves one door (login)"}
            else:
                fields = check(req)
        else:
            fields = {"ok": False, "unsupported": True,
                      "error": f"unsupported op {op!r}: django-otp has no resync or unlock"
                      if op in ("resync", "unlock") else f"unsupported op {op!r}"}
    except RequestError as err:
        fields = {"ok": False, "error": str(err)}
    except Exception as err:  # a bug here must not end the session
        log(f"internal error on request {req_id}: {type(err).__name__}")
        fields = {"ok": False, "error": f"internal error: {type(err).__name__}"}
    sys.stdout.write(json.dumps({"id": req_id, **fields}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main():
    try:
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
        for raw in sys.stdin.buffer:
            if raw.strip():
                dispatch(raw)
    finally:
        shutil.rmtree(STATE, ignore_errors=True)


if __name__ == "__main__":
    main()
