// Self-test of verifier.js: node --test examples/node/test/verifier.test.js
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { hotp, answer, Verifier, exact, jsNumber } = require('../verifier.js');

const KEY = Buffer.from('12345678901234567890', 'ascii');
const APPENDIX_D = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];

test('RFC 4226 Appendix D', () => {
  APPENDIX_D.forEach((want, c) => assert.strictEqual(hotp(KEY, BigInt(c), 6, 'sha1'), want));
});

function session(num) {
  const v = new Verifier(num);
  let id = 0;
  return (req) => JSON.parse(answer(v, JSON.stringify({ id: ++id, ...req }).replace(/"@(\d+)"/g, '$1')));
}

// enrollAt enrolls the Appendix D secret at a counter given as decimal
// text, so that no JS number touches it on the way in.
function enrollAt(send, counter) {
  return send({ op: 'enroll', token: { serial: 's', kind: 'hotp', algorithm: 'SHA1', digits: 6, secret: KEY.toString('hex'), counter: '@' + counter } });
}

test('counters past 2^53 are exact with BigInt', () => {
  const send = session(exact);
  const start = (1n << 53n) - 1n;
  assert.deepStrictEqual(enrollAt(send, start), { id: 1, ok: true });
  for (let c = start; c < start + 4n; c++) {
    assert.strictEqual(send({ op: 'check', serial: 's', code: hotp(KEY, c, 6, 'sha1'), time: 0 }).accepted, true, `counter ${c}`);
  }
});

test('the last counter is 2^64-1 and nothing follows it', () => {
  const send = session(exact);
  const last = (1n << 64n) - 1n;
  enrollAt(send, last);
  assert.strictEqual(send({ op: 'check', serial: 's', code: hotp(KEY, last, 6, 'sha1'), time: 0 }).accepted, true);
  assert.strictEqual(send({ op: 'check', serial: 's', code: hotp(KEY, 0n, 6, 'sha1'), time: 0 }).accepted, false);
});

test('a request id is echoed digit for digit', () => {
  const v = new Verifier(exact);
  assert.strictEqual(answer(v, '{"id":18446744073709551615,"op":"hello","protocol":1}').slice(0, 30), '{"id":18446744073709551615,"ok');
});

test('JS-number counters lose the code after 2^53 (the wrong way)', () => {
  const send = session(jsNumber);
  const start = (1n << 53n) - 1n;
  enrollAt(send, start);
  const results = [];
  for (let c = start; c < start + 4n; c++) {
    results.push(send({ op: 'check', serial: 's', code: hotp(KEY, c, 6, 'sha1'), time: 0 }).accepted);
  }
  assert.deepStrictEqual(results, [true, true, false, true]); // 2^53+1 is never computed
});

test('input hygiene: only exactly Digit ASCII digits', () => {
  const send = session(exact);
  enrollAt(send, 0n);
  for (const bad of ['+755224', ' 755224', '755224 ', '55224', '7552240', '٧٥٥٢٢٤', '７５５２２４', '']) {
    assert.strictEqual(send({ op: 'check', serial: 's', code: bad, time: 0 }).accepted, false, JSON.stringify(bad));
  }
  assert.strictEqual(send({ op: 'check', serial: 's', code: '755224', time: 0 }).accepted, true);
});
