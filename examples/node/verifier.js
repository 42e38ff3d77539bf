#!/usr/bin/env node
// node-verifier: a small HOTP (RFC 4226) / TOTP (RFC 6238) verifier that
// speaks otplab protocol v1, over exec (default) or HTTP (--http).
//
//   node verifier.js                         exec: one JSON request a line on stdin,
//                                            one JSON reply a line on stdout
//   node verifier.js --http 127.0.0.1:8081   HTTP: POST /<op>, the reply as a 200 body
//   node verifier.js --http 127.0.0.1:0 --prefix /otp
//                                            port 0 picks a free port; the address
//                                            is printed on stderr as "listening on URL"
//   node verifier.js --js-number-counters    the WRONG way, for the suite to catch:
//                                            JSON.parse and counters kept as JS
//                                            numbers (see README.md)
//
// Counters are unsigned 64-bit integers (RFC 4226 section 5.1). JavaScript
// numbers are doubles, exact only up to 2^53, so the request is parsed with
// lossless-json (every number kept as its source text) and counters are
// BigInts from the first byte to the HMAC input (Buffer.writeBigUInt64BE).
//
// Policy (claimed in the hello reply, the same as examples/pyshim):
//   * HOTP and TOTP, HMAC-SHA1/SHA256/SHA512, 6 or 8 digits (7 works too);
//   * HOTP look-ahead 10: with c the next expected counter, check accepts the
//     first counter c+k, 0 <= k <= 10, whose code matches, then c = c+k+1;
//     a rejected check changes nothing;
//   * two-code resync within 100 counters of c;
//   * lockout after 5 consecutive rejected checks of well-formed codes,
//     lifted only by unlock (an accepted resync does not unlock);
//   * TOTP: one step back, one step ahead, each step usable once;
//   * the request's "time" is the clock.
//
// Diagnostics go to stderr and never contain a secret or a submitted code.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const readline = require('node:readline');
const LosslessJSON = require('lossless-json');

const NAME = 'node-verifier';
const PROTOCOL = 1;

const LOOK_AHEAD = 10;
const RESYNC_CODES = 2;
const RESYNC_WINDOW = 100;
const LOCKOUT_AFTER = 5;
const SKEW_BACK = 1;
const SKEW_AHEAD = 1;

// MAX_COUNTER is the last 8-byte counter: nothing follows it, so no search
// may run past it (and none wraps to 0).
const MAX_COUNTER = (1n << 64n) - 1n;

const HASHES = { SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };
const DIGITS = [6, 7, 8]; // 6 and 8 are claimed; 7 costs nothing
const OPS = ['hello', 'enroll', 'check', 'resync', 'unlock'];
const PROFILE = {
  kinds: ['hotp', 'totp'],
  algorithms: ['SHA1', 'SHA256', 'SHA512'],
  digits: [6, 8],
  look_ahead: LOOK_AHEAD,
  resync: { codes: RESYNC_CODES, window: RESYNC_WINDOW },
  lockout: { after: LOCKOUT_AFTER, resync_unlocks: false },
  totp: { skew_back: SKEW_BACK, skew_ahead: SKEW_AHEAD },
  clock: 'request',
};

// RequestError is a request that cannot be served; its message becomes the
// reply's error.
class RequestError extends Error {}

function log(msg) {
  process.stderr.write(`${NAME}: ${msg}\n`);
}

// Counter arithmetic. `exact` keeps counters as BigInt, as they must be;
// `jsNumber` keeps them as JS numbers, which is what a verifier built on
// JSON.parse and an npm OTP library does, and is wrong past 2^53. Both
// compute the HMAC input with writeBigUInt64BE.
const exact = {
  name: 'BigInt',
  parse: (text) => LosslessJSON.parse(text),
  stringify: (obj) => LosslessJSON.stringify(obj),
  // integer returns v as a BigInt when it is a JSON integer, else null.
  integer(v) {
    if (LosslessJSON.isLosslessNumber(v) && /^-?[0-9]+$/.test(v.value)) return BigInt(v.value);
    return null;
  },
  // seconds returns a JSON number (integer or not) as whole seconds.
  seconds(v) {
    if (!LosslessJSON.isLosslessNumber(v)) return null;
    if (/^-?[0-9]+$/.test(v.value)) return BigInt(v.value);
    const f = Number(v.value);
    return Number.isFinite(f) ? BigInt(Math.floor(f)) : null;
  },
  add: (c, k) => c + BigInt(k),
  max: MAX_COUNTER,
  inRange: (c) => c >= 0n && c <= MAX_COUNTER,
  toBig: (c) => c,
};

const jsNumber = {
  name: 'number',
  parse: (text) => JSON.parse(text),
  stringify: (obj) => JSON.stringify(obj),
  integer: (v) => (typeof v === 'number' && Number.isInteger(v) ? v : null),
  seconds: (v) => (typeof v === 'number' && Number.isFinite(v) ? Math.floor(v) : null),
  add: (c, k) => c + k,
  max: Number(MAX_COUNTER),
  // The careful-looking check a JS developer writes: but the counter was
  // already rounded by JSON.parse, and c+1 past 2^53 rounds again.
  inRange: (c) => Number.isSafeInteger(c) && c >= 0,
  toBig: (c) => BigInt(c),
};

// hotp returns the RFC 4226 code of counter (a BigInt) as a string.
function hotp(key, counter, digits, hash) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const mac = crypto.createHmac(hash, key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f; // dynamic truncation, section 5.3
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

// floorDiv divides BigInts rounding toward minus infinity.
function floorDiv(a, b) {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

// Token is one enrolled token and the verifier's state for it.
class Token {
  constructor(num, { kind, hash, digits, key, counter, period, t0 }) {
    this.num = num;
    this.kind = kind;
    this.hash = hash;
    this.digits = digits;
    this.key = key;
    this.counter = counter; // HOTP: next expected counter c
    this.period = period; // TOTP: step length in seconds (BigInt)
    this.t0 = t0; // TOTP: Unix second where step 0 begins (BigInt)
    this.lastStep = null; // TOTP: last accepted step, never reused
    this.failures = 0; // consecutive rejected well-formed checks
    this.locked = false;
  }

  // wellFormed: exactly `digits` ASCII digits. No sign, no white space, no
  // other Unicode digits ([0-9] in a JS regular expression is ASCII only).
  wellFormed(code) {
    return typeof code === 'string' && code.length === this.digits && /^[0-9]+$/.test(code);
  }

  matches(counter, code) {
    const want = Buffer.from(hotp(this.key, this.num.toBig(counter), this.digits, this.hash), 'ascii');
    const got = Buffer.from(code, 'ascii');
    // timingSafeEqual: the time taken does not depend on how many leading
    // digits of a wrong code are right. wellFormed made the lengths equal.
    return want.length === got.length && crypto.timingSafeEqual(want, got);
  }

  // checkHOTP accepts the first counter c+k, 0 <= k <= L, whose code
  // matches; no counter past the last one is tried.
  checkHOTP(code) {
    const n = this.num;
    for (let k = 0; k <= LOOK_AHEAD; k++) {
      const c = n.add(this.counter, k);
      if (c > n.max) break;
      if (this.matches(c, code)) {
        this.counter = n.add(c, 1);
        return true;
      }
    }
    return false;
  }

  checkTOTP(code, now) {
    const stepNow = floorDiv(now - this.t0, this.period);
    for (let d = -SKEW_BACK; d <= SKEW_AHEAD; d++) {
      const step = stepNow + BigInt(d);
      if (step < 0n || step > MAX_COUNTER) continue;
      if (this.lastStep !== null && step <= this.lastStep) continue; // RFC 6238 section 5.2
      if (this.matchesStep(step, code)) {
        this.lastStep = step;
        return true;
      }
    }
    return false;
  }

  matchesStep(step, code) {
    const want = Buffer.from(hotp(this.key, step, this.digits, this.hash), 'ascii');
    const got = Buffer.from(code, 'ascii');
    return want.length === got.length && crypto.timingSafeEqual(want, got);
  }

  // resync accepts N consecutive codes whose first is the code of c+k,
  // 0 <= k <= R; c then becomes one past the last. Every start is tried
  // with the whole sequence, so a chance match of the first code earlier in
  // the window does not hide the genuine pair.
  resync(codes) {
    const n = this.num;
    const count = codes.length;
    for (let k = 0; k <= RESYNC_WINDOW; k++) {
      const start = n.add(this.counter, k);
      if (n.add(start, count - 1) > n.max) break;
      if (codes.every((code, i) => this.matches(n.add(start, i), code))) {
        this.counter = n.add(start, count);
        return true;
      }
    }
    return false;
  }
}

// Verifier holds the tokens and answers requests.
class Verifier {
  constructor(num) {
    this.num = num;
    this.tokens = new Map();
  }

  // handle returns the reply fields (besides id) for one decoded request.
  handle(req) {
    const op = req.op;
    if (typeof op !== 'string') throw new RequestError('missing or non-string op');
    if (!OPS.includes(op)) return { ok: false, error: `unsupported op ${JSON.stringify(op)}`, unsupported: true };
    return this[op](req);
  }

  hello(req) {
    const protocol = this.num.integer(req.protocol);
    if (protocol === null || Number(protocol) !== PROTOCOL) {
      throw new RequestError(`unsupported protocol (want ${PROTOCOL})`);
    }
    return { ok: true, name: NAME, ops: OPS, profile: PROFILE };
  }

  enroll(req) {
    const tok = req.token;
    if (!isObject(tok)) throw new RequestError('enroll: missing token object');
    const serial = needSerial(tok);
    if (tok.kind !== 'hotp' && tok.kind !== 'totp') throw new RequestError('enroll: unknown kind');
    const alg = tok.algorithm === undefined ? 'SHA1' : tok.algorithm;
    if (!Object.hasOwn(HASHES, alg)) throw new RequestError('enroll: unsupported algorithm');
    const digits = tok.digits === undefined ? 6 : this.num.integer(tok.digits);
    if (digits === null || !DIGITS.includes(Number(digits))) throw new RequestError('enroll: unsupported digits');
    if (typeof tok.secret !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(tok.secret)) {
      throw new RequestError('enroll: secret is not a non-empty hex string');
    }
    const fields = { kind: tok.kind, hash: HASHES[alg], digits: Number(digits), key: Buffer.from(tok.secret, 'hex') };
    if (tok.kind === 'hotp') {
      const counter = tok.counter === undefined ? this.num.integer(zero(this.num)) : this.num.integer(tok.counter);
      if (counter === null || !this.num.inRange(counter)) {
        throw new RequestError('enroll: counter is not an integer in 0..2^64-1');
      }
      fields.counter = counter;
    } else {
      const period = tok.period === undefined ? 30n : exactInteger(this.num, tok.period);
      const t0 = tok.t0 === undefined ? 0n : exactInteger(this.num, tok.t0);
      if (period === null || period <= 0n) throw new RequestError('enroll: period is not a positive integer');
      if (t0 === null) throw new RequestError('enroll: t0 is not an integer');
      Object.assign(fields, { period, t0 });
    }
    this.tokens.set(serial, new Token(this.num, fields)); // enrolling again replaces
    return { ok: true };
  }

  check(req) {
    const serial = needSerial(req);
    const code = req.code;
    if (typeof code !== 'string') throw new RequestError('check: code is not a string');
    const token = this.tokens.get(serial);
    if (token === undefined) return { ok: true, accepted: false }; // unknown serial: just no
    if (token.locked) return { ok: true, accepted: false, locked: true };
    // A malformed code is refused before any HMAC and does not count
    // toward lockout: it cannot be a guess at a code.
    if (!token.wellFormed(code)) return { ok: true, accepted: false };
    let accepted;
    if (token.kind === 'hotp') {
      accepted = token.checkHOTP(code);
    } else {
      const now = exactSeconds(this.num, req.time);
      if (now === null) throw new RequestError('check: missing or non-numeric time');
      accepted = token.checkTOTP(code, now);
    }
    if (accepted) {
      token.failures = 0;
    } else if (++token.failures >= LOCKOUT_AFTER && !token.locked) {
      token.locked = true;
      log(`serial ${serial}: locked after ${token.failures} rejected checks`);
    }
    return token.locked ? { ok: true, accepted, locked: true } : { ok: true, accepted };
  }

  resync(req) {
    const serial = needSerial(req);
    const codes = req.codes;
    if (!Array.isArray(codes) || !codes.every((c) => typeof c === 'string')) {
      throw new RequestError('resync: codes is not a list of strings');
    }
    const token = this.tokens.get(serial);
    if (token === undefined) return { ok: true, accepted: false };
    if (token.locked) return { ok: true, accepted: false, locked: true }; // resync does not unlock
    if (token.kind !== 'hotp' || codes.length !== RESYNC_CODES || !codes.every((c) => token.wellFormed(c))) {
      return { ok: true, accepted: false };
    }
    // A rejected resync does not count; an accepted one resets the count of
    // consecutive failures, as an accepted check does.
    const accepted = token.resync(codes);
    if (accepted) token.failures = 0;
    return { ok: true, accepted };
  }

  unlock(req) {
    const serial = needSerial(req);
    const token = this.tokens.get(serial);
    if (token === undefined) throw new RequestError(`unlock: unknown serial ${serial}`);
    token.locked = false;
    token.failures = 0;
    return { ok: true };
  }
}

function zero(num) {
  return num === exact ? LosslessJSON.parse('0') : 0;
}

// exactInteger and exactSeconds read period, t0 and time as BigInts in
// both modes: only the HOTP counter shows the difference.
function exactInteger(num, v) {
  const i = num.integer(v);
  return i === null ? null : BigInt(i);
}

function exactSeconds(num, v) {
  const s = num.seconds(v);
  return s === null ? null : BigInt(s);
}

function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !LosslessJSON.isLosslessNumber(v);
}

function needSerial(obj) {
  if (typeof obj.serial !== 'string' || obj.serial === '') throw new RequestError('missing or non-string serial');
  return obj.serial;
}

// answer turns one request text into one reply text.
function answer(verifier, text) {
  const num = verifier.num;
  let id = num === exact ? LosslessJSON.parse('0') : 0;
  let reply;
  try {
    let req;
    try {
      req = num.parse(text);
    } catch (err) {
      throw new RequestError(`malformed request: ${err.message}`);
    }
    if (!isObject(req)) throw new RequestError('request is not a JSON object');
    if (num.integer(req.id) === null) throw new RequestError('missing or non-integer id');
    id = req.id; // echoed as it came, digit for digit
    reply = verifier.handle(req);
  } catch (err) {
    if (err instanceof RequestError) {
      reply = { ok: false, error: err.message };
    } else {
      // A bug here must not end the session; the message names no secret.
      log(`internal error: ${err.name}`);
      reply = { ok: false, error: `internal error: ${err.name}` };
    }
  }
  return num.stringify({ id, ...reply });
}

function serveExec(verifier) {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    process.stdout.write(answer(verifier, line) + '\n');
  });
  // EOF on stdin: readline closes and the process ends by itself.
}

const MAX_BODY = 1 << 20;

function serveHTTP(verifier, addr, prefix) {
  const m = /^(.*):([0-9]+)$/.exec(addr);
  if (!m) {
    log(`--http ${addr}: want HOST:PORT`);
    process.exit(2);
  }
  const host = m[1].replace(/^\[(.*)\]$/, '$1');
  const base = prefix.replace(/\/+$/, '');
  const server = http.createServer((req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'POST' || !req.url.startsWith(base + '/')) {
      send(404, JSON.stringify({ id: 0, ok: false, error: 'not found: POST ' + base + '/<op>' }));
      return;
    }
    const op = req.url.slice(base.length + 1);
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        send(413, JSON.stringify({ id: 0, ok: false, error: 'request body over 1 MiB' }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      const text = Buffer.concat(chunks).toString('utf8');
      // The body names its op too; the path must agree with it.
      let reply = answer(verifier, text);
      if (!/^[a-z-]+$/.test(op)) reply = verifier.num.stringify({ id: 0, ok: false, error: 'bad op in path' });
      send(200, reply);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(m[2]), host, () => {
    const a = server.address();
    const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    log(`listening on http://${h}:${a.port}${base}/`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function main(argv) {
  let num = exact;
  let httpAddr = null;
  let prefix = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--js-number-counters') {
      num = jsNumber;
    } else if (a === '--http' && i + 1 < argv.length) {
      httpAddr = argv[++i];
    } else if (a === '--prefix' && i + 1 < argv.length) {
      prefix = argv[++i];
    } else {
      log(`unknown argument ${JSON.stringify(a)} (want --http HOST:PORT, --prefix /PATH, --js-number-counters)`);
      process.exit(2);
    }
  }
  const verifier = new Verifier(num);
  if (httpAddr === null) {
    serveExec(verifier);
  } else {
    serveHTTP(verifier, httpAddr, prefix);
  }
}

if (require.main === module) {
  main(process.argv.slice(2));
}

module.exports = { hotp, answer, Verifier, exact, jsNumber, MAX_COUNTER };
