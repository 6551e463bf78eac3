import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Scrubber, maskPhoneNumber, registerEnvSecrets, scrub } from '@ai-agent/common';

describe('scrubber', () => {
  it('masks registered secrets wherever they appear, including URL-encoded and base64 forms', () => {
    const s = new Scrubber();
    const secret = 'pl4nted/secret+value';
    s.addSecret(secret);
    const out = s.scrub(`a ${secret} b ${encodeURIComponent(secret)} c ${Buffer.from(secret).toString('base64')}`);
    assert.ok(!out.includes(secret));
    assert.ok(!out.includes(encodeURIComponent(secret)));
    assert.ok(!out.includes(Buffer.from(secret).toString('base64')));
    assert.equal(out.match(/\[REDACTED\]/g)?.length, 3);
  });

  it('masks credential shapes it was never told about', () => {
    const s = new Scrubber();
    const cases: Array<[string, string]> = [
      ['Authorization: Bearer abc.def-123456', 'abc.def-123456'],
      ['Authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
      ['Authorization: Token 0123456789abcdef0123456789abcdef01234567', '0123456789abcdef0123456789abcdef01234567'],
      ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl'],
      ['key sk-proj-AbCdEfGhIjKlMnOpQrStUv012345 end', 'sk-proj-AbCdEfGhIjKlMnOpQrStUv012345'],
      ['ws://127.0.0.1:8088/ari/events?app=x&api_key=user:hunter2pw', 'hunter2pw'],
      ['GET /x?token=t0ps3cr3tvalue&y=1', 't0ps3cr3tvalue'],
      ['http://admin:p4ssw0rd@db.local:5432/x', 'p4ssw0rd'],
      ['deepgram 0123456789abcdef0123456789abcdef01234567', '0123456789abcdef0123456789abcdef01234567'],
    ];
    for (const [text, secret] of cases) {
      const out = s.scrub(text);
      assert.ok(!out.includes(secret), `${text} -> ${out}`);
    }
  });

  it('keeps the last four digits of caller numbers unless told to show them', () => {
    const s = new Scrubber();
    s.addPhoneNumber('5551234567');
    assert.equal(s.scrub('caller 5551234567 rang'), 'caller ***4567 rang');
    assert.equal(s.scrub('from +44 20 7946 0958.'), 'from ***0958.');
    assert.equal(s.scrub('sip:4155550100@pbx'), 'sip:***0100@pbx');
    s.showPhoneNumbers = true;
    assert.equal(s.scrub('caller 5551234567 rang'), 'caller 5551234567 rang');
    assert.equal(maskPhoneNumber('1234'), '***');
  });

  it('leaves ordinary log text alone', () => {
    const s = new Scrubber();
    const line = '{"level":30,"time":"2026-11-25T02:07:55.776Z","port":15000,"msg":"listening on 127.0.0.1:15000"}';
    assert.equal(s.scrub(line), line);
  });

  it('registers secret-looking env values at start, but not the admin UI auth mode', () => {
    registerEnvSecrets({ ADMIN_AUTH: 'modevalue-not-a-secret', SOME_API_TOKEN: 'tokenvalue-0123456789', SOME_TOKEN_FILE: '/run/secrets/file-path' });
    assert.equal(scrub('modevalue-not-a-secret tokenvalue-0123456789 /run/secrets/file-path'), 'modevalue-not-a-secret [REDACTED] /run/secrets/file-path');
  });
});
