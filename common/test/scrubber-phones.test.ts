import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Scrubber } from '@ai-agent/common';

describe('scrubber: caller numbers of calls in progress', () => {
  it('masks a registered number however its digits are grouped, and no longer once its call has ended', () => {
    const s = new Scrubber();
    s.addPhoneNumber('+1 (415) 555-0123');
    for (const text of ['14155550123', '+14155550123', '1-415-555-0123', '1 415 555 0123', '(1) 415.555.0123', 'tel:14155550123']) {
      const out = s.scrub(`caller ${text} said hi`);
      assert.ok(out.includes('***0123') && !out.includes('555'), `${text} -> ${out}`);
    }
    // Only the number is masked, not the digits around it.
    assert.equal(s.scrub('2026-01-05 1-415-555-0123 rang'), '2026-01-05 ***0123 rang');
    s.removePhoneNumber('+1 (415) 555-0123');
    assert.equal(s.scrub('caller 14155550123 said hi'), 'caller 14155550123 said hi');
  });

  it('keeps a number registered by two calls until both have ended', () => {
    const s = new Scrubber();
    s.addPhoneNumber('5551234567');
    s.addPhoneNumber('555-123-4567');
    s.removePhoneNumber('5551234567');
    assert.equal(s.scrub('from 5551234567'), 'from ***4567');
    s.removePhoneNumber('5551234567');
    assert.equal(s.scrub('from 5551234567'), 'from 5551234567');
  });

  it('masks the longest registered number where several start, and each one in a run', () => {
    const s = new Scrubber();
    s.addPhoneNumber('12345');
    s.addPhoneNumber('1234567890');
    s.addPhoneNumber('4155550100');
    assert.equal(s.scrub('a 1234567890 b'), 'a ***7890 b');
    assert.equal(s.scrub('a 1234567890 4155550100 b'), 'a ***7890 ***0100 b');
    assert.equal(s.scrub('id 9912345'), 'id 99***2345');
  });

  it('costs the same per call however many calls came before', () => {
    const s = new Scrubber();
    const line = '{"level":20,"time":"2026-11-25T02:07:55.776Z","channelId":"1764036475.1234","caller":"+1555NUMBER","msg":"call state"}';
    // 5000 calls whose numbers are never unregistered: each new number and the first line logged after it.
    const started = performance.now();
    for (let i = 0; i < 5000; i++) {
      const number = `+1555${1_000_000 + i}`;
      s.addPhoneNumber(number);
      const out = s.scrub(line.replace('+1555NUMBER', number));
      assert.ok(!out.includes(number.slice(1)), out);
    }
    const ms = performance.now() - started;
    // Rebuilding one pattern of every number seen costs milliseconds per call by then, seconds in all.
    assert.ok(ms < 1000, `5000 calls took ${ms.toFixed(0)} ms`);
  });
});
