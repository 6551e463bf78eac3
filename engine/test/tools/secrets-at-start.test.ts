// The engine as a real process: an HTTP tool's header secret, or the webhook signing secret, missing from the
// environment stops the start with one line naming the key; a reload that adds a tool whose secret is missing is
// refused, naming it, and the running config stays.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startService } from '@ai-agent/common/testing';
import { testConfig } from '../control/engine-config.ts';

const ENGINE = 'engine/src/main.ts';
const CRM_TOKEN = 'crm-start-token-0a1b2c3d4e';

const tool = (name: string, secret: string) => ({
  name,
  description: 'Look a customer up.',
  url: 'https://crm.example.com/customers/{id}',
  headers: { Authorization: `Bearer \${env:${secret}}` },
  parameters: { properties: { id: { type: 'string' } }, required: ['id'] },
});
const egress = { allow: [{ host: 'crm.example.com' }] };

describe('HTTP tool and webhook secrets at start and reload', () => {
  const configs: Array<{ remove(): void }> = [];
  after(() => configs.forEach((c) => c.remove()));

  it('a missing header secret stops the start, naming the header and the variable', async () => {
    const config = testConfig({ egress, contexts: { default: { http_tools: [tool('crm', 'CRM_TOKEN')] } } });
    configs.push(config);
    const engine = startService(ENGINE, { HEALTH_PORT: '0', ...config.env });
    assert.equal(await engine.exited, 2);
    assert.match(engine.stderr(), /config error in .*ai-agent\.yaml: contexts\.default\.http_tools\.0\.headers\.Authorization: environment variable CRM_TOKEN \(or CRM_TOKEN_FILE\) is not set/);
  });

  it('a webhook without SERVICE_SECRET_ENGINE stops the start, naming it', async () => {
    const config = testConfig({ egress, webhooks: { post_call: { url: 'https://crm.example.com/hooks/ended' } } });
    configs.push(config);
    const engine = startService(ENGINE, { HEALTH_PORT: '0', ...config.env });
    assert.equal(await engine.exited, 2);
    assert.match(engine.stderr(), /SERVICE_SECRET_ENGINE: is required to sign webhooks/);
  });

  it('a reload adding a tool whose secret is missing is refused; the secret read at start never reaches the log', async () => {
    const config = testConfig({ egress, contexts: { default: { http_tools: [tool('crm', 'CRM_TOKEN')] } } });
    configs.push(config);
    const engine = startService(ENGINE, { HEALTH_PORT: '0', ...config.env, CRM_TOKEN });
    try {
      const line = await engine.waitFor(/engine control server listening/, 60_000);
      const base = `http://127.0.0.1:${(JSON.parse(line) as { address: { port: number } }).address.port}`;
      config.write({ egress, contexts: { default: { http_tools: [tool('crm', 'CRM_TOKEN'), tool('billing', 'BILLING_TOKEN')] } } });
      const res = await fetch(`${base}/reload`, { method: 'POST' });
      const body = (await res.json()) as { key?: string; reason?: string };
      assert.equal(res.status, 400);
      assert.equal(body.key, 'contexts.default.http_tools.1.headers.Authorization');
      assert.match(body.reason ?? '', /BILLING_TOKEN/);
      const state = (await (await fetch(`${base}/config/state`)).json()) as { running: { version: number } };
      assert.equal(state.running.version, 1);
    } finally {
      await engine.stop();
    }
    assert.ok(!(engine.stdout() + engine.stderr()).includes(CRM_TOKEN));
  });
});
