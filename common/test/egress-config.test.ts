// The `egress:`, `http_tools:` and `webhooks:` config: every mistake is one ConfigError naming its key, a secret
// only ever comes from the environment, and a destination the allowlist would refuse fails at start.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, engineConfigSchema, loadYamlConfig } from '@ai-agent/common';

const dir = mkdtempSync(join(tmpdir(), 'egress-cfg-'));
let n = 0;
function load(yaml: string, env: Record<string, string> = {}) {
  const path = join(dir, `c${n++}.yaml`);
  writeFileSync(path, `ari: { url: "http://127.0.0.1:8088", username: ai, app: ai-agent }\n${yaml}`);
  return loadYamlConfig(path, engineConfigSchema, env);
}

const EGRESS = 'egress:\n  allow: [{ host: crm.example.com }, { host: "*.hooks.example.com" }, { cidr: 127.0.0.1/32, http: true }]\n';
const tool = (fields: string) => `${EGRESS}contexts:\n  sales:\n    http_tools:\n      - { name: crm, description: Look up., url: "https://crm.example.com/c/{id}", parameters: { properties: { id: { type: string } } }${fields} }\n`;

describe('egress, HTTP tool and webhook config', () => {
  it('loads a full example; secret references stay unresolved in the config', () => {
    const cfg = load(
      `${tool(', headers: { Authorization: "Bearer ${env:CRM_TOKEN}", X-Api-Token: "${env:CRM_TOKEN}" }, response: { fields: { name: customer.name, first: "orders[0].id" } }')}` +
        'webhooks:\n  pre_call: { url: "https://lookup.hooks.example.com/pre", defaults: { customer_name: there } }\n  post_call: { url: "http://127.0.0.1:9/post" }\n',
    );
    const crm = cfg.contexts.sales!.http_tools[0]!;
    assert.equal(crm.headers.Authorization, 'Bearer ${env:CRM_TOKEN}');
    assert.equal(crm.method, 'GET');
    assert.equal(crm.timeout_ms, 5000);
    assert.equal(crm.response.max_chars, 2000);
    assert.equal(cfg.webhooks.pre_call!.timeout_ms, 1500);
    assert.equal(cfg.webhooks.outbox.dir, 'data/webhook-outbox');
    assert.equal(cfg.egress.max_redirects, 3);
  });

  const table: Array<{ name: string; yaml: string; key: string; reason: RegExp }> = [
    { name: 'an argument in the host', yaml: tool('').replace('crm.example.com/c/{id}', '{id}.example.com/c'), key: 'contexts.sales.http_tools.0.url', reason: /must be in the path or the query, never the host/ },
    { name: 'credentials in a tool URL', yaml: tool('').replace('https://crm', 'https://u:p@crm'), key: 'contexts.sales.http_tools.0.url', reason: /credentials/ },
    { name: 'an undeclared argument', yaml: tool('').replace('{id}', '{other}'), key: 'contexts.sales.http_tools.0.url', reason: /\{other\} is not in parameters\.properties/ },
    { name: 'a GET argument with nowhere to go', yaml: tool('').replace('/c/{id}', '/c'), key: 'contexts.sales.http_tools.0.parameters.properties.id', reason: /not used in the url \(GET sends no body\)/ },
    { name: 'retries on POST', yaml: tool(', method: POST, retries: 2'), key: 'contexts.sales.http_tools.0.retries', reason: /only idempotent methods/ },
    { name: 'a literal credential in a header', yaml: tool(', headers: { Authorization: "Bearer sk-live-abcdef" }'), key: 'contexts.sales.http_tools.0.headers.Authorization', reason: /take it from the environment/ },
    { name: 'a literal secret under a secret-looking header', yaml: tool(', headers: { X-Api-Token: "abcdef123456" }'), key: 'contexts.sales.http_tools.0.headers.X-Api-Token', reason: /secrets are not allowed in the config file/ },
    { name: 'a malformed secret reference', yaml: tool(', headers: { Authorization: "Bearer ${env:1BAD}" }'), key: 'contexts.sales.http_tools.0.headers.Authorization', reason: /malformed/ },
    { name: 'a connection header', yaml: tool(', headers: { Host: evil.example.com }'), key: 'contexts.sales.http_tools.0.headers.Host', reason: /set by the engine/ },
    { name: 'a built-in tool name', yaml: tool('').replace('name: crm', 'name: hangup'), key: 'contexts.sales.http_tools.0.name', reason: /already a tool name/ },
    { name: 'a tool host outside the allowlist', yaml: tool('').replace('crm.example.com/c', 'other.example.com/c'), key: 'contexts.sales.http_tools.0.url', reason: /host other\.example\.com is not in the egress allowlist/ },
    { name: 'plain http to a host without http: true', yaml: tool('').replace('https://crm', 'http://crm'), key: 'contexts.sales.http_tools.0.url', reason: /plain http to crm\.example\.com is not allowed/ },
    { name: 'a bad JSON path', yaml: tool(', response: { fields: { a: "x..y" } }'), key: 'contexts.sales.http_tools.0.response.fields.a', reason: /dotted path/ },
    { name: 'an invalid pattern', yaml: tool('').replace('{ type: string }', '{ type: string, pattern: "(" }'), key: 'contexts.sales.http_tools.0.parameters.properties.id.pattern', reason: /not a valid regular expression/ },
    { name: 'a nested object argument', yaml: tool('').replace('{ type: string }', '{ type: object }'), key: 'contexts.sales.http_tools.0.parameters.properties.id.type', reason: /string|number|integer|boolean|Invalid/ },
    { name: 'an allow rule with both host and cidr', yaml: 'egress:\n  allow: [{ host: a.example.com, cidr: 10.0.0.0/8 }]\n', key: 'egress.allow.0', reason: /exactly one of host or cidr/ },
    { name: 'an allow range that does not parse', yaml: tool('').replace('{ cidr: 127.0.0.1/32, http: true }', '{ cidr: 10.0.0.0/33 }'), key: 'egress.allow.2.cidr', reason: /not an address or CIDR/ },
    { name: 'an allow range mixing internal and public', yaml: 'egress:\n  allow: [{ cidr: 0.0.0.0/0 }]\n', key: 'egress.allow.0.cidr', reason: /mixes internal addresses/ },
    { name: 'a webhook over plain http to a remote host', yaml: `${EGRESS}webhooks:\n  post_call: { url: "http://crm.example.com/x" }\n`, key: 'webhooks.post_call.url', reason: /https:\/\/ \(http:\/\/ only to a loopback host/ },
    { name: 'a webhook host outside the allowlist', yaml: `${EGRESS}webhooks:\n  pre_call: { url: "https://elsewhere.example.org/x" }\n`, key: 'webhooks.pre_call.url', reason: /elsewhere\.example\.org is not in the egress allowlist/ },
    { name: 'a webhook for an unknown context', yaml: `${EGRESS}webhooks:\n  post_call: { url: "https://crm.example.com/x", contexts: [nope] }\n`, key: 'webhooks.post_call.contexts.0', reason: /no context "nope"/ },
    { name: 'an outbox backoff that shrinks', yaml: 'webhooks:\n  outbox: { retry_initial_ms: 5000, retry_max_ms: 1000 }\n', key: 'webhooks.outbox.retry_max_ms', reason: /must not be below/ },
  ];
  for (const row of table) {
    it(`rejects ${row.name}`, () => {
      assert.throws(
        () => load(row.yaml),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.equal(err.key, row.key, err.line());
          assert.match(err.reason, row.reason);
          assert.ok(!err.line().includes('sk-live') && !err.line().includes('abcdef123456'), 'a secret value leaked into the error');
          return true;
        },
      );
    });
  }
});
