import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestVerifier, safeEqual, signRequest, isLoopbackAddress, isLoopbackHost } from '@ai-agent/common';

const SECRET = 'a-service-secret-of-at-least-32-chars!!';

describe('request signing', () => {
  const req = { method: 'POST', path: '/reload', body: '{"a":1}' };

  it('accepts a fresh signed request once and refuses its replay', () => {
    const v = new RequestVerifier({ callers: new Map([['admin-ui', SECRET]]) });
    const headers = signRequest('admin-ui', SECRET, req);
    assert.deepEqual(v.verify(headers, req), { ok: true, service: 'admin-ui' });
    assert.deepEqual(v.verify(headers, req), { ok: false, reason: 'replayed_nonce' });
  });

  it('names each failure reason', () => {
    let now = Date.now();
    const v = new RequestVerifier({ callers: new Map([['admin-ui', SECRET]]), now: () => now });
    const good = signRequest('admin-ui', SECRET, req, now);
    const { ['x-ai-nonce']: _nonce, ...missing } = good;
    assert.equal(v.verify(missing, req).ok, false);
    assert.deepEqual(v.verify(missing, req), { ok: false, reason: 'missing_header' });
    assert.deepEqual(v.verify(signRequest('intruder', SECRET, req, now), req), { ok: false, reason: 'caller_not_allowed' });
    assert.deepEqual(v.verify(signRequest('admin-ui', 'x'.repeat(40), req, now), req), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(v.verify(good, { ...req, body: '{"a":2}' }), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(v.verify(good, { ...req, path: '/calls' }), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(v.verify(signRequest('admin-ui', SECRET, req, now - 31_000), req), { ok: false, reason: 'stale_timestamp' });
    assert.deepEqual(v.verify(signRequest('admin-ui', SECRET, req, now + 31_000), req), { ok: false, reason: 'stale_timestamp' });
  });

  it('refuses a replay for as long as its timestamp is accepted, then as stale', () => {
    const start = Date.now();
    let now = start;
    const v = new RequestVerifier({ callers: new Map([['admin-ui', SECRET]]), now: () => now });
    // Stamped as far ahead as the skew allows: its timestamp stays acceptable until 2 × skew after it first came.
    const ahead = signRequest('admin-ui', SECRET, req, start + 29_000);
    assert.deepEqual(v.verify(ahead, req), { ok: true, service: 'admin-ui' });
    for (const later of [1_000, 30_000, 58_000]) {
      now = start + later;
      assert.deepEqual(v.verify(ahead, req), { ok: false, reason: 'replayed_nonce' }, `${later} ms later`);
    }
    now = start + 61_000;
    assert.deepEqual(v.verify(ahead, req), { ok: false, reason: 'stale_timestamp' });
    assert.throws(() => new RequestVerifier({ callers: new Map(), skewMs: 30_000, nonceTtlMs: 45_000 }), /at least twice skewMs/);
  });

  it('a full nonce store refuses new requests instead of forgetting a live nonce, and frees as nonces expire', () => {
    let now = Date.now();
    const v = new RequestVerifier({ callers: new Map([['admin-ui', SECRET]]), now: () => now, maxNonces: 3 });
    const first = signRequest('admin-ui', SECRET, req, now);
    assert.equal(v.verify(first, req).ok, true);
    now += 20_000;
    for (let i = 0; i < 2; i++) assert.equal(v.verify(signRequest('admin-ui', SECRET, req, now), req).ok, true);
    assert.deepEqual(v.verify(signRequest('admin-ui', SECRET, req, now), req), { ok: false, reason: 'nonce_store_full' });
    // The oldest nonce is still remembered: its replay inside the skew is refused as a replay.
    now += 5_000;
    assert.deepEqual(v.verify(first, req), { ok: false, reason: 'replayed_nonce' });
    // Once the first nonce has expired (60 s after it came), there is room again.
    now += 36_000;
    assert.deepEqual(v.verify(signRequest('admin-ui', SECRET, req, now), req), { ok: true, service: 'admin-ui' });
    assert.deepEqual(v.verify(signRequest('admin-ui', SECRET, req, now), req), { ok: false, reason: 'nonce_store_full' });
  });
});

describe('auth primitives', () => {
  it('compares tokens exactly', () => {
    assert.equal(safeEqual('abc', 'abc'), true);
    assert.equal(safeEqual('abc', 'abd'), false);
    assert.equal(safeEqual('abc', 'abcd'), false);
    assert.equal(safeEqual('', ''), true);
  });

  it('recognises loopback socket addresses only', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(a), true, a);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', '::', undefined, '', 'localhost', '128.0.0.1'])
      assert.equal(isLoopbackAddress(a), false, String(a));
    assert.equal(isLoopbackHost('localhost'), true);
    assert.equal(isLoopbackHost('0.0.0.0'), false);
  });
});
