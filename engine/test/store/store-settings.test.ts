import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, createLogger, scrub, type StoreConfig } from '@ai-agent/common';
import { loadEngineConfig, loadEngineSecrets } from '../../src/config/runtime-config.ts';
import { openCallStore } from '../../src/store/open-call-store.ts';
import { postgresTarget } from '../../src/store/postgres-connection.ts';
import { testConfig } from '../control/engine-config.ts';
import { policy } from './helpers/store-backend.ts';

// How the engine is told which call store to use, checked before it takes a call: store.backend, DATABASE_URL
// (or DATABASE_URL_FILE) and the TLS rules for the connection. Every refusal names the key and never the value.

const log = createLogger({ service: 'store-test', level: 'silent' });
const config = testConfig();
after(() => config.remove());

/** Asserts a ConfigError naming `key`, whose text holds none of `secrets`. */
function refused(run: () => unknown, key: string, reason: RegExp, secrets: string[] = []): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.key, key);
    assert.match(err.reason, reason);
    for (const secret of secrets) assert.ok(!err.message.includes(secret), 'the error does not quote the value');
    return true;
  });
}

const store = (overrides: Partial<StoreConfig>): StoreConfig => ({ ...loadEngineConfig(config.env).store, ...overrides });

describe('call store settings', () => {
  it('store.backend defaults to sqlite; an unknown backend is refused naming store.backend', () => {
    assert.equal(loadEngineConfig(config.env).store.backend, 'sqlite');
    config.write({ store: { backend: 'mysql' } });
    assert.throws(() => loadEngineConfig(config.env), (err: unknown) => err instanceof ConfigError && err.key === 'store.backend');
    config.write({ store: { engine_id: 'has spaces' } });
    assert.throws(() => loadEngineConfig(config.env), (err: unknown) => err instanceof ConfigError && err.key === 'store.engine_id');
    config.write();
  });

  it('postgres without DATABASE_URL refuses to start, naming the variable', () => {
    refused(
      () => openCallStore({ config: store({ backend: 'postgres' }), sqlitePath: '/unused', databaseUrl: undefined, engineId: 'e', redaction: policy(), log }),
      'DATABASE_URL',
      /store\.backend is postgres: set DATABASE_URL/,
    );
  });

  it('DATABASE_URL may come from a file, and is then a secret the log scrubber masks', () => {
    const url = 'postgresql://engine:file-held-pass-7f3a@127.0.0.1:5432/calls';
    const file = join(config.dir, 'database_url');
    writeFileSync(file, `${url}\n`);
    assert.equal(loadEngineSecrets({ DATABASE_URL_FILE: file }).databaseUrl, url);
    assert.ok(!scrub(`connecting to ${url}`).includes('file-held-pass-7f3a'));
    refused(() => loadEngineSecrets({ DATABASE_URL: url, DATABASE_URL_FILE: file }), 'DATABASE_URL', /not both/);
  });

  it('plain TCP only to loopback or a Unix socket, unless store.postgres_allow_plaintext', () => {
    const remote = 'postgresql://engine:remote-pass-93c1@10.20.30.40:5432/calls';
    refused(() => postgresTarget(remote, { allowPlaintext: false }), 'DATABASE_URL', /without TLS.*postgres_allow_plaintext/, ['remote-pass-93c1', '10.20.30.40']);
    assert.equal(postgresTarget(remote, { allowPlaintext: true }).plaintextRemote, true);
    assert.equal(postgresTarget('postgresql://engine:x@127.0.0.1/calls', { allowPlaintext: false }).tls, 'disable');
    assert.equal(postgresTarget('postgresql://engine:x@[::1]:6432/calls', { allowPlaintext: false }).connection.port, 6432);
    const socket = postgresTarget('postgresql:///calls?host=/run/postgresql', { allowPlaintext: false });
    assert.equal(socket.connection.host, '/run/postgresql');
    assert.equal(socket.plaintextRemote, false);
  });

  it('sslmode follows libpq: require encrypts, verify-ca checks the chain, verify-full the name too', () => {
    const base = 'postgresql://engine:x@db.internal:5432/calls';
    const caFile = join(config.dir, 'ca.pem');
    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nnot parsed here\n-----END CERTIFICATE-----\n');
    const ssl = (params: string) => postgresTarget(`${base}?${params}`, { allowPlaintext: false }).connection.ssl as Record<string, unknown>;
    assert.equal(ssl('sslmode=require').rejectUnauthorized, false);
    const full = ssl(`sslmode=verify-full&sslrootcert=${caFile}`);
    assert.equal(full.rejectUnauthorized, true);
    assert.equal(full.servername, 'db.internal');
    assert.match(String(full.ca), /BEGIN CERTIFICATE/);
    const ca = ssl(`sslmode=verify-ca&sslrootcert=${caFile}`);
    assert.equal(ca.rejectUnauthorized, true);
    assert.equal(typeof ca.checkServerIdentity, 'function', 'the name is not checked');
    // libpq: require with a root certificate verifies like verify-ca.
    assert.equal(ssl(`sslmode=require&sslrootcert=${caFile}`).rejectUnauthorized, true);
  });

  it('refuses what it would otherwise misread: fallback sslmodes, unknown parameters, other schemes, unreadable files', () => {
    const base = 'postgresql://engine:secret-pass-55@db.internal/calls';
    refused(() => postgresTarget(`${base}?sslmode=prefer`, { allowPlaintext: true }), 'DATABASE_URL', /may fall back to plain text/);
    refused(() => postgresTarget(`${base}?sslmode=verify-full&target_session_attrs=any`, { allowPlaintext: false }), 'DATABASE_URL', /unsupported parameter "target_session_attrs"/);
    refused(() => postgresTarget('mysql://engine:secret-pass-55@db.internal/calls', { allowPlaintext: false }), 'DATABASE_URL', /postgresql:\/\//, ['secret-pass-55']);
    refused(() => postgresTarget(`${base}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem`, { allowPlaintext: false }), 'DATABASE_URL', /sslrootcert: cannot read/);
    refused(() => postgresTarget('postgresql:///calls?host=/run/postgresql&sslmode=require', { allowPlaintext: false }), 'DATABASE_URL', /Unix socket/);
    refused(() => postgresTarget('postgresql://engine:100%sure@127.0.0.1/calls', { allowPlaintext: false }), 'DATABASE_URL', /percent-encoded/, ['100%sure']);
    assert.equal(postgresTarget('postgresql://engine:100%25sure@127.0.0.1/calls', { allowPlaintext: false }).connection.password, '100%sure');
  });
});
