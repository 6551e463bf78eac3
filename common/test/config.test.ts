import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, engineConfigSchema, loadYamlConfig, readSecret } from '@ai-agent/common';

const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
let n = 0;
function file(text: string): string {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, text);
  return path;
}

const GOOD = `ari:\n  url: http://127.0.0.1:8088\n  username: ai\n  app: ai-agent\n`;

describe('engine config', () => {
  it('loads the shipped default with env interpolation and typed placeholders', () => {
    const cfg = loadYamlConfig('config/ai-agent.yaml', engineConfigSchema, { HEALTH_PORT: '15001', ARI_APP: 'sales' });
    assert.equal(cfg.control.port, 15001);
    assert.equal(cfg.ari.app, 'sales');
    assert.equal(cfg.ari.url, 'http://127.0.0.1:8088');
    assert.equal(cfg.logging.show_phone_numbers, false);
  });

  // Each bad input gives one line naming the key and the reason, and never echoes a value.
  const table: Array<{ name: string; yaml: string; env?: Record<string, string>; key: string; reason: RegExp }> = [
    { name: 'YAML syntax', yaml: 'ari: [\n  url: x', key: '(yaml)', reason: /syntax error at line \d+/ },
    { name: 'duplicate key', yaml: `${GOOD}ari:\n  url: x\n`, key: '(yaml)', reason: /syntax error/ },
    { name: 'missing section', yaml: 'control:\n  port: 1\n', key: 'ari', reason: /expected object/i },
    { name: 'wrong type', yaml: `${GOOD}control:\n  port: "abc"\n`, key: 'control.port', reason: /expected number/i },
    { name: 'out of range', yaml: `${GOOD}control:\n  port: 70000\n`, key: 'control.port', reason: /65535/ },
    { name: 'unknown key (typo)', yaml: `${GOOD}logging:\n  levle: info\n`, key: 'logging', reason: /levle/ },
    // A key's name is quoted in the reason: its line breaks and control characters come out escaped.
    { name: 'unknown key with a line break in its name', yaml: `${GOOD}"ev\\nil\\u001b": 1\n`, key: '(root)', reason: /"ev\\u000ail\\u001b"/ },
    { name: 'bad enum', yaml: `${GOOD}logging:\n  level: loud\n`, key: 'logging.level', reason: /expected one of/i },
    { name: 'bad app name', yaml: GOOD.replace('app: ai-agent', 'app: "a b"'), key: 'ari.app', reason: /letters/ },
    { name: 'credentials in URL', yaml: GOOD.replace('http://127', 'http://u:pw@127'), key: 'ari.url', reason: /credentials/ },
    { name: 'secret in YAML', yaml: `${GOOD}  password: hunter2hunter2\n`, key: 'ari.password', reason: /ARI_PASSWORD/ },
    { name: 'unset env var', yaml: GOOD.replace('username: ai', 'username: ${NOPE_NOT_SET}'), key: 'ari.username', reason: /NOPE_NOT_SET is not set/ },
    { name: 'malformed placeholder', yaml: GOOD.replace('username: ai', 'username: ${1bad}'), key: 'ari.username', reason: /malformed/ },
    { name: 'URL that does not parse', yaml: GOOD.replace('http://127.0.0.1:8088', '"http://[bad"'), key: 'ari.url', reason: /not a valid URL|Invalid URL/ },
    {
      name: 'YAML alias bomb',
      yaml: `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`,
      key: '(yaml)',
      reason: /aliases expand too far/,
    },
    {
      name: 'secret variable interpolated into an ordinary value',
      yaml: GOOD.replace('username: ai', 'username: "hello ${HEALTH_API_TOKEN}"'),
      env: { HEALTH_API_TOKEN: 'hunter2hunter2hunter2' },
      key: 'ari.username',
      reason: /HEALTH_API_TOKEN.*secret variable/,
    },
    { name: 'env value of wrong type', yaml: `${GOOD}control:\n  port: \${HEALTH_PORT}\n`, env: { HEALTH_PORT: 'eighty' }, key: 'control.port', reason: /expected number/i },
    {
      name: 'a dialplan AudioSocket source that is not an address',
      yaml: `${GOOD}telephony:\n  dialplan_audiosocket: { enabled: true, allowed_sources: [127.0.0.1, 10.0.0.0/33] }\n`,
      key: 'telephony.dialplan_audiosocket.allowed_sources',
      reason: /"10\.0\.0\.0\/33" is not an IP address or CIDR/,
    },
    {
      name: 'chan_websocket client mode without its websocket_client.conf entry',
      yaml: `${GOOD}telephony:\n  transport: websocket\n  websocket_connection: client\n`,
      key: 'telephony.websocket_client',
      reason: /required with websocket_connection: client/,
    },
    {
      name: 'several engine processes with chan_websocket client mode (Asterisk dials one URL)',
      yaml: `${GOOD}shards: 2\ntelephony:\n  transport: websocket\n  websocket_connection: client\n  websocket_client: engine\n`,
      key: 'shards',
      reason: /must be 1 or auto with websocket_connection: client/,
    },
    { name: 'a shard count that is not a number or auto', yaml: `${GOOD}shards: many\n`, key: 'shards', reason: /expected auto or a number of processes from 1 to 64/ },
    {
      name: 'a warm transfer endpoint with dial options',
      yaml: `${GOOD}contexts:\n  default:\n    tools: [transfer]\n    transfer_targets:\n      desk: { mode: warm, endpoint: "PJSIP/200&PJSIP/300" }\n`,
      key: 'contexts.default.transfer_targets.desk.endpoint',
      reason: /Tech\/resource/,
    },
    {
      name: 'a warm transfer target without an endpoint',
      yaml: `${GOOD}contexts:\n  default:\n    tools: [transfer]\n    transfer_targets:\n      desk: { mode: warm, ring_timeout_seconds: 20 }\n`,
      key: 'contexts.default.transfer_targets.desk.endpoint',
      reason: /expected string/,
    },
  ];
  for (const row of table) {
    it(`rejects ${row.name}`, () => {
      const path = file(row.yaml);
      assert.throws(
        () => loadYamlConfig(path, engineConfigSchema, row.env ?? {}),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.equal(err.key, row.key);
          assert.match(err.reason, row.reason);
          assert.equal(err.line().split('\n').length, 1);
          assert.ok(!err.line().includes('hunter2'), 'a secret value leaked into the error');
          return true;
        },
      );
    });
  }

  it('reads secrets from env or from the file named by *_FILE, never both', () => {
    const secretFile = join(dir, 'token');
    writeFileSync(secretFile, 'from-a-file-0123456789\n');
    assert.equal(readSecret('X_TOKEN', { X_TOKEN_FILE: secretFile }), 'from-a-file-0123456789');
    assert.equal(readSecret('X_TOKEN', { X_TOKEN: 'direct-value' }), 'direct-value');
    assert.throws(() => readSecret('X_TOKEN', { X_TOKEN: 'a', X_TOKEN_FILE: secretFile }), /not both/);
    assert.throws(() => readSecret('X_TOKEN', { X_TOKEN_FILE: join(dir, 'missing') }), /X_TOKEN_FILE: cannot read/);
    assert.throws(() => readSecret('X_TOKEN', { X_TOKEN: 'short' }, 16), /X_TOKEN: must be at least 16/);
  });
});
