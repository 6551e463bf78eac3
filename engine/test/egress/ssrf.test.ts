// The egress guard against server-side request forgery, over real sockets: a DNS server on loopback answering
// the guard's resolver, and HTTP servers on 127.0.0.1, 127.0.0.2 and [::1] that count every request they get.
// A refused request must fail with the policy's reason before any connection, and no server may see it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EgressAllowlist, egressConfigSchema, validateConfig } from '@ai-agent/common';
import { startDnsFake, type DnsFake } from '@ai-agent/test-peers';
import { EgressClient, type EgressRequest } from '../../src/egress/egress-client.ts';
import { EgressError } from '../../src/egress/egress-error.ts';
import { EgressGuard } from '../../src/egress/egress-guard.ts';
import { HostResolver } from '../../src/egress/host-resolver.ts';
import { startTestServer, type TestServer } from './helpers.ts';

function client(dns: DnsFake, allow: unknown[], maxRedirects = 3): EgressClient {
  const config = validateConfig({ allow, dns_servers: [dns.server], max_redirects: maxRedirects }, egressConfigSchema, {});
  return new EgressClient(new EgressGuard(new EgressAllowlist(config.allow), new HostResolver(config.dns_servers)), config.max_redirects);
}

function get(c: EgressClient, url: string, extra: Partial<EgressRequest> = {}) {
  return c.request({ method: 'GET', url: new URL(url), headers: {}, timeoutMs: 2000, maxResponseBytes: 64 * 1024, ...extra });
}

async function failure(promise: Promise<unknown>): Promise<EgressError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof EgressError, `not an EgressError: ${String(err)}`);
    return err;
  }
  assert.fail('the request succeeded');
}

describe('egress guard: SSRF attempts', () => {
  let dns: DnsFake;
  /** Must never be reached by the locked client. */
  let loopback: TestServer;
  /** Must never be reached by anyone. */
  let other: TestServer;
  let v6: TestServer;
  /** Allowlists names only: no address range is opted in. */
  let locked: EgressClient;
  /** Also opts 127.0.0.1 in explicitly (the allowed test server) and `api.test`, which resolves to it. */
  let optedIn: EgressClient;

  before(async () => {
    dns = await startDnsFake();
    [loopback, other, v6] = await Promise.all([startTestServer('127.0.0.1'), startTestServer('127.0.0.2'), startTestServer('::1')]);
    dns.set('api.test', { A: ['127.0.0.1'] });
    dns.set('evil.test', { A: ['127.0.0.2'] });
    dns.set('evil6.test', { AAAA: ['::1'] });
    dns.set('mixed.test', { A: ['93.184.215.14', '127.0.0.1'] });
    dns.set('metadata.test', { A: ['169.254.169.254'] });
    dns.set('mapped.test', { AAAA: ['::ffff:127.0.0.1'] });
    // DNS rebinding: the first answer is the allowed address, every later one the forbidden one.
    dns.set('rebind.test', (type, previous) => (type === 'A' ? [previous === 0 ? '127.0.0.1' : '127.0.0.2'] : []));
    const names = ['evil.test', 'evil6.test', 'mixed.test', 'metadata.test', 'mapped.test', 'allowed', 'api.test'];
    locked = client(dns, names.map((host) => ({ host, http: true })));
    optedIn = client(dns, [
      { host: 'api.test', http: true },
      { host: 'rebind.test', http: true },
      { host: 'localhost', http: true },
      { cidr: '127.0.0.1/32', http: true },
    ]);
  });
  after(async () => {
    await Promise.all([dns.close(), loopback.close(), other.close(), v6.close()]);
  });

  const p = (s: TestServer) => s.port;
  const cases: Array<[string, () => string, RegExp]> = [
    ['loopback literal', () => `http://127.0.0.1:${p(loopback)}/`, /127\.0\.0\.1 is not in the egress allowlist/],
    ['IPv6 loopback literal', () => `http://[::1]:${p(v6)}/`, /::1 is not in the egress allowlist/],
    ['cloud metadata literal', () => 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is not in the egress allowlist/],
    ['private literal', () => 'http://10.0.0.1/', /10\.0\.0\.1 is not/],
    ['unspecified address (reaches this host on Linux)', () => `http://0.0.0.0:${p(loopback)}/`, /0\.0\.0\.0 is not/],
    ['carrier-grade NAT literal', () => 'http://100.64.0.1/', /100\.64\.0\.1 is not/],
    ['IPv6 link-local / ULA metadata', () => 'http://[fd00:ec2::254]/', /fd00:ec2::254 is not/],
    ['IPv4-mapped IPv6 literal', () => `http://[::ffff:127.0.0.1]:${p(loopback)}/`, /::ffff:7f00:1 is not/],
    ['IPv4-compatible IPv6 literal', () => `http://[::127.0.0.1]:${p(loopback)}/`, /::7f00:1 is not/],
    ['decimal IPv4 spelling', () => `http://2130706433:${p(loopback)}/`, /127\.0\.0\.1 is not/],
    ['octal IPv4 spelling', () => `http://0177.0.0.1:${p(loopback)}/`, /127\.0\.0\.1 is not/],
    ['hex IPv4 spelling', () => `http://0x7f.1:${p(loopback)}/`, /127\.0\.0\.1 is not/],
    ['userinfo trick', () => `http://allowed@127.0.0.1:${p(loopback)}/`, /credentials/],
    ['userinfo with an allowed host', () => `http://user:pw@evil.test:${p(other)}/`, /credentials/],
    ['name resolving to loopback', () => `http://evil.test:${p(other)}/`, /evil\.test resolves to 127\.0\.0\.2, a loopback address/],
    ['name resolving to IPv6 loopback', () => `http://evil6.test:${p(v6)}/`, /evil6\.test resolves to ::1, a loopback address/],
    ['name resolving to public and private addresses', () => `http://mixed.test:${p(loopback)}/`, /resolves to 127\.0\.0\.1/],
    ['name resolving to the metadata address', () => 'http://metadata.test/', /resolves to 169\.254\.169\.254, a cloud metadata address/],
    ['name resolving to an IPv4-mapped loopback', () => `http://mapped.test:${p(loopback)}/`, /resolves to ::ffff:127\.0\.0\.1, a loopback address/],
    ['host not allowlisted', () => 'http://example.com/', /example\.com is not in the egress allowlist/],
    ['scheme other than http(s)', () => 'file:///etc/passwd', /scheme file: is not allowed/],
  ];

  for (const [name, url, reason] of cases) {
    test(`refused: ${name}`, async () => {
      const hits = loopback.requests.length + other.requests.length + v6.requests.length;
      const err = await failure(get(locked, url()));
      assert.equal(err.failure, 'refused', err.message);
      assert.match(err.message, reason);
      assert.equal(loopback.requests.length + other.requests.length + v6.requests.length, hits, 'a server was reached');
    });
  }

  test('refused: plain http to a host whose rule does not allow it', async () => {
    const https = client(dns, [{ host: 'api.test' }, { cidr: '127.0.0.1/32' }]);
    const err = await failure(get(https, `http://api.test:${loopback.port}/`));
    assert.match(err.message, /plain http to api\.test is not allowed/);
  });

  test('a broad range does not opt internal addresses in: 0.0.0.0/0 and ::/0 are config errors', () => {
    for (const cidr of ['0.0.0.0/0', '::/0', '100.0.0.0/8']) {
      assert.throws(() => validateConfig({ allow: [{ cidr }] }, egressConfigSchema, {}), /allow\.0\.cidr: mixes internal addresses/);
    }
    assert.throws(() => validateConfig({ allow: [{ host: '127.0.0.1' }] }, egressConfigSchema, {}), /allow\.0\.host: an address: use cidr/);
  });

  describe('redirects, followed by hand and checked again at every hop', () => {
    const redirectTo = (target: string) => (_req: unknown, res: import('node:http').ServerResponse) => res.writeHead(302, { location: target }).end();

    const targets: Array<[string, () => string, RegExp]> = [
      ['another loopback address', () => `http://127.0.0.2:${p(other)}/secret`, /127\.0\.0\.2 is not in the egress allowlist/],
      ['the metadata address', () => 'http://169.254.169.254/latest/meta-data/iam/', /169\.254\.169\.254 is not/],
      ['a private address', () => 'http://10.0.0.1/', /10\.0\.0\.1 is not/],
      ['IPv6 loopback', () => `http://[::1]:${p(v6)}/`, /::1 is not/],
      ['a name resolving to loopback', () => `http://evil.test:${p(other)}/`, /evil\.test is not in the egress allowlist/],
      ['a decimal spelling of another loopback address', () => `http://2130706434:${p(other)}/`, /127\.0\.0\.2 is not/],
      ['userinfo', () => `http://api.test@127.0.0.2:${p(other)}/`, /credentials/],
    ];
    for (const [name, target, reason] of targets) {
      test(`refused: a redirect to ${name}`, async () => {
        loopback.route('/hop', redirectTo(target()));
        const before = other.requests.length + v6.requests.length;
        const err = await failure(get(optedIn, `http://api.test:${loopback.port}/hop`));
        assert.equal(err.failure, 'refused', err.message);
        assert.match(err.message, reason);
        assert.equal(other.requests.length + v6.requests.length, before, 'the redirect target was reached');
      });
    }

    test('an allowed redirect is followed; a credential header does not follow it to another origin', async () => {
      loopback.route('/moved', redirectTo(`http://127.0.0.1:${loopback.port}/landing`));
      const res = await get(optedIn, `http://api.test:${loopback.port}/moved`, { headers: { authorization: 'Bearer secret-crm-token-123' } });
      assert.equal(res.status, 200);
      assert.equal(res.url.pathname, '/landing');
      const [first, second] = loopback.requests.slice(-2);
      assert.equal(first!.headers.authorization, 'Bearer secret-crm-token-123');
      assert.equal(first!.headers.host, `api.test:${loopback.port}`);
      assert.equal(second!.url, '/landing');
      assert.equal(second!.headers.authorization, undefined, 'the credential followed the redirect to another origin');
    });

    test('redirect loops stop at max_redirects', async () => {
      loopback.route('/loop', redirectTo('/loop'));
      const before = loopback.requests.length;
      const err = await failure(get(client(dns, [{ host: 'api.test', http: true }, { cidr: '127.0.0.1/32', http: true }], 2), `http://api.test:${loopback.port}/loop`));
      assert.equal(err.failure, 'too_many_redirects');
      assert.equal(loopback.requests.length - before, 3, 'the first request and two redirects');
    });
  });

  test('DNS rebinding: the connection goes to the address that was checked, resolved once', async () => {
    const before = { other: other.requests.length, queries: dns.queries.filter((q) => q.name === 'rebind.test' && q.type === 'A').length };
    const res = await get(optedIn, `http://rebind.test:${loopback.port}/pinned`);
    assert.equal(res.status, 200);
    assert.equal(loopback.requests.at(-1)!.url, '/pinned');
    assert.equal(loopback.requests.at(-1)!.headers.host, `rebind.test:${loopback.port}`);
    assert.equal(other.requests.length, before.other);
    assert.equal(dns.queries.filter((q) => q.name === 'rebind.test' && q.type === 'A').length - before.queries, 1);
    // Asked again, the name now answers the forbidden address, and the guard refuses it.
    const err = await failure(get(optedIn, `http://rebind.test:${loopback.port}/again`));
    assert.match(err.message, /rebind\.test resolves to 127\.0\.0\.2/);
    assert.equal(other.requests.length, before.other);
  });

  test('a name that does not resolve is a DNS failure, not a connection elsewhere', async () => {
    const err = await failure(get(optedIn, 'http://nowhere.api.test/'));
    assert.match(err.message, /nowhere\.api\.test is not in the egress allowlist/);
    const dnsFail = await failure(get(client(dns, [{ host: '*.test', http: true }]), 'http://unknown.test/'));
    assert.equal(dnsFail.failure, 'dns');
    assert.match(dnsFail.message, /cannot resolve unknown\.test/);
  });
});
