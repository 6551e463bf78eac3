// Property-based fuzzing (fast-check, seeded) of what operators and other services hand the product: the YAML
// configuration (any text, and the shipped file with random edits) and the signature headers of
// service-to-service requests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError, engineConfigSchema, parseYaml, RequestVerifier, signRequest, SIGNATURE_HEADERS, validateConfig } from '@ai-agent/common';
import { fuzzSettings, REPO_ROOT } from '@ai-agent/common/testing';

/** The loader's two steps, as the engine and `/reload` run them: anything wrong must be a one-line ConfigError. */
function load(text: string): void {
  try {
    validateConfig(parseYaml(text, 'fuzz.yaml'), engineConfigSchema, {}, 'fuzz.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${(err as Error)?.stack ?? String(err)}`);
    assert.equal(err.line().split('\n').length, 1, 'one line naming the key');
  }
}

test('fuzz config: any text is a config or a one-line error naming the key', () => {
  const yamlish = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.array(fc.tuple(fc.stringMatching(/^[a-z_]{1,12}$/), fc.constantFrom(':', ': ', ':\n  ', ': [', ': {', ': &a ', ': *a', ': ${', ': !!'), fc.string({ maxLength: 20 })), { maxLength: 12 })
      .map((lines) => lines.map(([k, sep, v]) => `${k}${sep}${v}`).join('\n')),
  );
  fc.assert(fc.property(yamlish, load), fuzzSettings('config-arbitrary'));
});

test('fuzz config: the shipped configuration with random edits still loads or fails with a ConfigError', () => {
  const shipped = readFileSync(`${REPO_ROOT}/config/ai-agent.yaml`, 'utf8');
  const edit = fc.record({
    at: fc.nat({ max: shipped.length }),
    cut: fc.nat({ max: 40 }),
    insert: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('\n', '  ', ': ', '- ', '{', '[', '"', "'", '&x ', '*x', '${X}', '\t', '#', '~', '!!binary ', '0x1', '1e999', '-1')),
  });
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
      let text = shipped;
      for (const e of edits) {
        const at = Math.min(e.at, text.length);
        text = text.slice(0, at) + e.insert + text.slice(at + e.cut);
      }
      load(text);
    }),
    // ~6 ms a case (the whole shipped file parsed and validated): 3 000 cases take the ~20 s the other targets' 10 000 do.
    fuzzSettings('config-shipped-edits', 0.3),
  );
});

const SECRET = 'fuzz-secret-fuzz-secret-fuzz-secret-01';
const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  path: fc.stringMatching(/^\/[A-Za-z0-9/_?=&.%-]{0,60}$/),
  body: fc.option(fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), { nil: undefined }),
});

test('fuzz signatures: arbitrary header values never throw and are never accepted', () => {
  const verifier = new RequestVerifier({ callers: new Map([['admin-ui', SECRET]]) });
  const value = fc.oneof(fc.string({ maxLength: 80 }), fc.constant('admin-ui'), fc.stringMatching(/^[0-9a-f]{64}$/), fc.integer().map(String), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }));
  const headers = fc.record({
    [SIGNATURE_HEADERS.service]: value,
    [SIGNATURE_HEADERS.timestamp]: fc.oneof(value, fc.constant(String(Math.floor(Date.now() / 1000)))),
    [SIGNATURE_HEADERS.nonce]: value,
    [SIGNATURE_HEADERS.signature]: value,
  }, { requiredKeys: [] });
  fc.assert(
    fc.property(headers, request, (bag, req) => {
      const result = verifier.verify(bag as Record<string, string | string[]>, req);
      assert.equal(result.ok, false);
    }),
    fuzzSettings('signature-arbitrary'),
  );
});

test('fuzz signatures: a signed request verifies once, and changing any one part of it is refused', () => {
  const part = fc.constantFrom('method', 'path', 'body', 'timestamp', 'nonce', 'service', 'signature');
  fc.assert(
    fc.property(request, part, fc.uint8Array({ minLength: 1, maxLength: 4 }), (req, changed, noise) => {
      const verifier = new RequestVerifier({ callers: new Map([['admin-ui', SECRET], ['engine', 'another-secret-another-secret-0001']]) });
      const headers = signRequest('admin-ui', SECRET, req);
      const tampered = { ...req };
      const bag: Record<string, string> = { ...headers };
      const extra = Buffer.from(noise).toString('hex');
      if (changed === 'method') tampered.method = req.method === 'GET' ? 'POST' : 'GET';
      if (changed === 'path') tampered.path = `${req.path}${extra}`;
      if (changed === 'body') tampered.body = Buffer.concat([req.body ?? Buffer.alloc(0), Buffer.from(noise)]);
      if (changed === 'timestamp') bag[SIGNATURE_HEADERS.timestamp] = String(Number(headers[SIGNATURE_HEADERS.timestamp]) - 1);
      if (changed === 'nonce') bag[SIGNATURE_HEADERS.nonce] = `${headers[SIGNATURE_HEADERS.nonce]}${extra}`;
      if (changed === 'service') bag[SIGNATURE_HEADERS.service] = 'engine';
      if (changed === 'signature') bag[SIGNATURE_HEADERS.signature] = `${extra}${headers[SIGNATURE_HEADERS.signature]}`.slice(0, 64);
      assert.equal(verifier.verify(bag, tampered).ok, false, `${changed} changed and still accepted`);
      assert.deepEqual(verifier.verify(headers, req), { ok: true, service: 'admin-ui' });
      assert.equal(verifier.verify(headers, req).ok, false, 'a replay is refused');
    }),
    fuzzSettings('signature-tamper'),
  );
});
