import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startService } from '@ai-agent/common/testing';
import { testConfig } from './engine-config.ts';

const canary = (label: string): string => `${label}${randomBytes(12).toString('hex')}`;

describe('redaction canary: no planted secret leaves the process', () => {
  it('masks secrets from env, *_FILE, headers, URLs and bodies in stdout, stderr, log file and responses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-'));
    const planted = {
      healthToken: canary('health-'),
      ariPasswordFromFile: canary('ari-'),
      unrelatedEnvKey: canary('openai-'), // a secret the engine never reads
      signing: canary('signing-secret-'),
      headerBearer: `sk-proj-${randomBytes(16).toString('hex')}`,
      headerBasic: canary('basic-'),
      urlToken: canary('urltok-'),
      errorText: canary('errtxt-'),
      jwt: `eyJhbGciOiJIUzI1NiJ9.${Buffer.from('{"sub":"x"}').toString('base64url')}.${randomBytes(16).toString('base64url')}`,
    };
    const passwordFile = join(dir, 'ari-password');
    writeFileSync(passwordFile, `${planted.ariPasswordFromFile}\n`);
    const logFile = join(dir, 'engine.log');
    const config = testConfig();
    const engine = startService('engine/src/main.ts', {
      ...config.env,
      HEALTH_PORT: '0',
      LOG_LEVEL: 'debug',
      LOG_FILE: logFile,
      HEALTH_API_TOKEN: planted.healthToken,
      ARI_PASSWORD_FILE: passwordFile,
      OPENAI_API_KEY: planted.unrelatedEnvKey,
      SERVICE_SECRET_ADMIN_UI: planted.signing,
      // The error text is registered as a secret under a name the engine has never heard of.
      CUSTOM_WEBHOOK_SECRET: planted.errorText,
    });
    const responses: string[] = [];
    try {
      const line = await engine.waitFor(/engine control server listening/);
      const port = (JSON.parse(line) as { address: { port: number } }).address.port;
      const base = `http://127.0.0.1:${port}`;
      const send = async (path: string, init: RequestInit = {}): Promise<void> => {
        const r = await fetch(base + path, init);
        responses.push(JSON.stringify([...r.headers]), await r.text());
      };
      // Secrets in the URL (logged with the 404), in headers, and inside errors the framework throws.
      await send(`/nope?token=${planted.urlToken}&api_key=${planted.healthToken}`);
      await send(`/missing/${planted.unrelatedEnvKey}`);
      await send('/reload', { method: 'POST', headers: { authorization: `Bearer ${planted.headerBearer}`, 'x-forwarded-for': planted.jwt } });
      await send('/reload', {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`ai:${planted.headerBasic}`).toString('base64')}` },
      });
      await send('/reload', { method: 'POST', headers: { 'content-type': `application/x-${planted.errorText}-${planted.headerBearer}` }, body: 'x' });
      // Invalid JSON body carrying a secret.
      await send('/reload', { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"t":"${planted.jwt}` });
    } finally {
      await engine.stop();
    }
    config.remove();
    const logged = readFileSync(logFile, 'utf8');
    const everything = [engine.stdout(), engine.stderr(), logged, ...responses].join('\n');
    // The test must have produced output that would have leaked without the scrubber.
    assert.ok(logged.includes('[REDACTED]'), 'expected redacted material in the log file');
    assert.ok(logged.includes('token=[REDACTED]'), 'the request URL was logged, masked');
    for (const [name, value] of Object.entries(planted)) {
      assert.ok(!everything.includes(value), `planted ${name} leaked`);
    }
    assert.ok(!responses.some((r) => /at .*\.ts:\d+|stack/i.test(r)), 'a response carried a stack trace');
  });
});
