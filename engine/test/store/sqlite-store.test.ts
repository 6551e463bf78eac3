import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { createLogger, registerSecret, scrubber } from '@ai-agent/common';
import { LATEST_SCHEMA_VERSION, SchemaVersionError, migrate } from '../../src/store/migrations.ts';
import { TOOL_ARGUMENTS_NOT_STORED, type RedactionPolicy, type ToolArgumentsPolicy } from '../../src/store/record-redaction.ts';
import { RetentionJob } from '../../src/store/retention.ts';
import { SqliteCallStore } from '../../src/store/sqlite-store.ts';
import type { CallRecord } from '../../src/store/types.ts';

const log = createLogger({ service: 'store-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const root = mkdtempSync(join(tmpdir(), 'call-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

let dbCounter = 0;
const freshPath = (): string => join(root, `dir${++dbCounter}`, 'nested', 'calls.sqlite');

function policy(toolArguments: ToolArgumentsPolicy = 'redacted', showPhoneNumbers = false): RedactionPolicy {
  return { toolArguments: () => toolArguments, showPhoneNumbers: () => showPhoneNumbers };
}

function open(path: string, redaction = policy()): SqliteCallStore {
  return new SqliteCallStore({ path, redaction, log });
}

const t = (second: number): string => new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString();

/** A complete call through every write the store has. */
function recordCall(store: SqliteCallStore, id: string): void {
  store.begin({ id, channelId: `chan-${id}`, context: 'sales', transport: 'rtp', codec: 'ulaw', callerNumber: '+15551234567', callerName: 'Ada', startedAt: t(0) });
  store.answered(id, t(1));
  store.addTurn(id, { speaker: 'agent', text: 'Hello, how can I help?', startedAt: t(1), endedAt: t(3), interrupted: false, latency: { ttsFirstAudioMs: 120 } });
  store.addTurn(id, {
    speaker: 'caller', text: 'I want to order', startedAt: t(4), endedAt: t(6), interrupted: false,
  });
  store.addTurn(id, {
    speaker: 'agent', text: 'Sure, what', startedAt: t(7), endedAt: t(8), interrupted: true,
    latency: { endpointingMs: 200, sttFinalMs: 80, llmFirstTokenMs: 310, firstSentenceMs: 450, ttsFirstAudioMs: 130, engineOverheadMs: 12, totalMs: 790 },
  });
  store.addEvent(id, { kind: 'barge_in', at: t(8), reactionMs: 95, heardText: 'Sure, what' });
  store.addEvent(id, { kind: 'tool_call', at: t(9), name: 'lookup_order', arguments: '{"order":"A-17"}', result: 'found' });
  store.addEvent(id, { kind: 'provider_error', at: t(10), provider: 'deepgram', stage: 'stt', message: 'socket closed' });
  store.finish(id, { endedAt: t(12), outcome: 'caller_hangup', hangupCause: 'normal clearing' });
}

describe('SqliteCallStore', () => {
  it('keeps a complete call record across a close and reopen', async () => {
    const path = freshPath();
    const store = open(path);
    recordCall(store, 'call-1');
    const before = await store.get('call-1');
    await store.close();

    const reopened = open(path);
    const record = (await reopened.get('call-1')) as CallRecord;
    await reopened.close();
    assert.deepEqual(record, before);
    assert.equal(record.context, 'sales');
    assert.equal(record.codec, 'ulaw');
    assert.equal(record.answeredAt, t(1));
    assert.equal(record.endedAt, t(12));
    assert.equal(record.outcome, 'caller_hangup');
    assert.equal(record.hangupCause, 'normal clearing');
    assert.equal(record.callerNumber, '***4567', 'caller number masked by default');
    assert.deepEqual(record.turns.map((x) => [x.speaker, x.text, x.interrupted]), [
      ['agent', 'Hello, how can I help?', false],
      ['caller', 'I want to order', false],
      ['agent', 'Sure, what', true],
    ]);
    assert.deepEqual(record.turns[2]!.latency, {
      endpointingMs: 200, sttFinalMs: 80, llmFirstTokenMs: 310, firstSentenceMs: 450, ttsFirstAudioMs: 130, engineOverheadMs: 12, totalMs: 790,
    });
    assert.equal(record.turns[1]!.latency, undefined);
    assert.deepEqual(record.events, [
      { kind: 'barge_in', at: t(8), reactionMs: 95, heardText: 'Sure, what' },
      { kind: 'tool_call', at: t(9), name: 'lookup_order', arguments: '{"order":"A-17"}', result: 'found' },
      { kind: 'provider_error', at: t(10), provider: 'deepgram', stage: 'stt', message: 'socket closed' },
    ]);
  });

  it('uses WAL and creates the directory 0700 and the files 0600', async () => {
    const path = freshPath();
    const store = open(path);
    recordCall(store, 'perm');
    await store.get('perm');
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, 'the WAL file inherits the database mode');
    const probe = new BetterSqlite3(path, { readonly: true });
    assert.equal(probe.pragma('journal_mode', { simple: true }), 'wal');
    probe.close();
    await store.close();
  });

  it('scrubs every text it writes: secrets, credential shapes and phone numbers', async () => {
    const secret = `canary-${randomBytes(10).toString('hex')}`;
    registerSecret(secret);
    const path = freshPath();
    const store = open(path);
    store.begin({ id: 'scrub', context: 'support', transport: 'audiosocket', codec: 'slin16', callerName: `Eve ${secret}`, startedAt: t(0) });
    store.addTurn('scrub', { speaker: 'caller', text: `my key is ${secret} and call me on +44 20 7946 0958`, startedAt: t(1), interrupted: false });
    store.addEvent('scrub', { kind: 'barge_in', at: t(2), heardText: `token=${secret}` });
    store.addEvent('scrub', { kind: 'false_barge_in', at: t(2), reason: 'noise', transcript: `said ${secret}`, speechMs: 200 });
    store.addEvent('scrub', { kind: 'provider_error', at: t(3), provider: 'openai', stage: 'llm', message: `401 for Bearer ${secret}` });
    store.addEvent('scrub', { kind: 'tool_call', at: t(4), name: 'note', arguments: `{"text":"${secret}"}`, result: `saved ${secret}` });
    store.addEvent('scrub', { kind: 'dtmf', at: t(5), digits: '4921' });
    store.finish('scrub', { endedAt: t(6), outcome: 'error', hangupCause: `upstream said ${secret}` });
    const record = (await store.get('scrub'))!;
    await store.close();

    const serialized = JSON.stringify(record);
    assert.ok(!serialized.includes(secret), 'no planted secret in the record');
    assert.ok(!serialized.includes('7946 0958'), 'phone number in the transcript masked');
    assert.match(record.turns[0]!.text, /\*\*\*0958/);
    assert.deepEqual(record.events.at(-1), { kind: 'dtmf', at: t(5), digits: '****' });
    // And not just in what we read back: the bytes on disk.
    const onDisk = readFileSync(path).toString('latin1');
    assert.ok(!onDisk.includes(secret));
  });

  it('stores tool arguments per policy: full, redacted or none', async () => {
    const secret = `toolcanary-${randomBytes(8).toString('hex')}`;
    registerSecret(secret);
    const stored = async (mode: ToolArgumentsPolicy): Promise<string> => {
      const store = open(freshPath(), policy(mode));
      store.begin({ id: 'x', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
      store.addEvent('x', { kind: 'tool_call', at: t(1), name: 'note', arguments: `{"pin":"${secret}"}`, result: 'ok' });
      const event = (await store.get('x'))!.events[0]!;
      await store.close();
      assert.equal(event.kind, 'tool_call');
      return event.kind === 'tool_call' ? event.arguments : '';
    };
    assert.equal(await stored('full'), `{"pin":"${secret}"}`);
    assert.equal(await stored('redacted'), '{"pin":"[REDACTED]"}');
    assert.equal(await stored('none'), TOOL_ARGUMENTS_NOT_STORED);
  });

  it('keeps numbers in full only when show_phone_numbers is set', async () => {
    const store = open(freshPath(), policy('redacted', true));
    const previous = scrubber.showPhoneNumbers;
    scrubber.showPhoneNumbers = true;
    try {
      store.begin({ id: 'n', context: 'c', transport: 'rtp', codec: 'ulaw', callerNumber: '+15550001111', startedAt: t(0) });
      store.addEvent('n', { kind: 'dtmf', at: t(1), digits: '12#' });
      const record = (await store.get('n'))!;
      assert.equal(record.callerNumber, '+15550001111');
      assert.deepEqual(record.events[0], { kind: 'dtmf', at: t(1), digits: '12#' });
    } finally {
      scrubber.showPhoneNumbers = previous;
      await store.close();
    }
  });

  it('refuses bad writes without throwing, counts them, and keeps serving other calls', async () => {
    const store = open(freshPath());
    store.addTurn('never-begun', { speaker: 'caller', text: 'hi', startedAt: t(0), interrupted: false });
    store.addEvent('never-begun', { kind: 'dtmf', at: t(0), digits: '1' });
    store.begin({ id: 'ok', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: 'not a time' });
    store.begin({ id: 'ok', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
    store.begin({ id: 'ok', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) }); // duplicate id
    store.addTurn('ok', { speaker: 'agent', text: 'hello', startedAt: t(1), interrupted: false, latency: { totalMs: Number.NaN } });
    const record = (await store.get('ok'))!;
    assert.equal(store.counters.writeErrors, 4);
    assert.equal(record.turns.length, 1);
    assert.equal(record.turns[0]!.latency, undefined, 'a non-finite latency is not stored');
    assert.equal(await store.get('never-begun'), undefined);
    await store.close();
  });

  it('ends a call once: the first end wins', async () => {
    const store = open(freshPath());
    store.begin({ id: 'e', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
    store.finish('e', { endedAt: t(5), outcome: 'drained', hangupCause: 'drain' });
    store.finish('e', { endedAt: t(6), outcome: 'caller_hangup' });
    const record = (await store.get('e'))!;
    assert.equal(record.outcome, 'drained');
    assert.equal(record.endedAt, t(5));
    await store.close();
  });

  it('lists newest first with a turn count, paging after the last id seen', async () => {
    const store = open(freshPath());
    for (let i = 0; i < 5; i++) {
      store.begin({ id: `c${i}`, context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(i * 10) });
      for (let k = 0; k < i; k++) store.addTurn(`c${i}`, { speaker: 'caller', text: 'x', startedAt: t(i * 10 + 1), interrupted: false });
    }
    const first = await store.list({ limit: 2 });
    assert.deepEqual(first.map((c) => [c.id, c.turnCount]), [['c4', 4], ['c3', 3]]);
    const next = await store.list({ limit: 10, before: first.at(-1)!.id });
    assert.deepEqual(next.map((c) => c.id), ['c2', 'c1', 'c0']);
    // Calls that started in the same millisecond page without loss or repetition.
    for (const id of ['t-a', 't-b', 't-c']) store.begin({ id, context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(59) });
    const page1 = await store.list({ limit: 2 });
    const page2 = await store.list({ limit: 2, before: page1.at(-1)!.id });
    assert.deepEqual([...page1, ...page2].map((c) => c.id), ['t-c', 't-b', 't-a', 'c4']);
    await store.close();
  });

  it('purges calls that ended before the cutoff, and nothing else', async () => {
    const path = freshPath();
    const store = open(path);
    store.begin({ id: 'old-ended', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: '2025-01-01T00:00:00.000Z' });
    store.addTurn('old-ended', { speaker: 'caller', text: 'x', startedAt: '2025-01-01T00:00:01.000Z', interrupted: false });
    store.addEvent('old-ended', { kind: 'dtmf', at: '2025-01-01T00:00:02.000Z', digits: '1' });
    store.finish('old-ended', { endedAt: '2025-01-01T00:01:00.000Z', outcome: 'completed' });
    store.begin({ id: 'old-still-open', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: '2025-01-01T00:00:00.000Z' });
    store.begin({ id: 'recent', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: '2026-03-01T00:00:00.000Z' });
    store.finish('recent', { endedAt: '2026-03-01T00:05:00.000Z', outcome: 'completed' });

    const job = new RetentionJob(store, () => ({ retentionDays: 30, purgeIntervalMinutes: 60 }), log, () => Date.parse('2026-03-10T00:00:00Z'));
    assert.equal(await job.runOnce(), 1);
    assert.equal(await store.get('old-ended'), undefined);
    assert.ok(await store.get('old-still-open'), 'a call that has not ended is never purged');
    assert.ok(await store.get('recent'));
    await store.close();
    // Its turns and events went with it.
    const probe = new BetterSqlite3(path, { readonly: true });
    assert.equal((probe.prepare("SELECT count(*) AS n FROM turns WHERE call_id = 'old-ended'").get() as { n: number }).n, 0);
    assert.equal((probe.prepare("SELECT count(*) AS n FROM events WHERE call_id = 'old-ended'").get() as { n: number }).n, 0);
    probe.close();
  });

  it('closes records a previous process left open', async () => {
    const path = freshPath();
    const first = open(path);
    first.begin({ id: 'orphan', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
    await first.close();
    const second = open(path);
    assert.equal(await second.closeAbandoned(t(30)), 1);
    const record = (await second.get('orphan'))!;
    assert.equal(record.outcome, 'error');
    assert.equal(record.endedAt, t(30));
    await second.close();
  });
});

describe('schema migrations', () => {
  it('brings a version-1 database to the latest version, keeping and backfilling its records', async () => {
    const path = freshPath();
    const store = open(path);
    await store.close();
    rmSync(path);
    // A database as the first schema left it, with a call in it.
    const old = new BetterSqlite3(path);
    assert.deepEqual(migrate(old, 1), [1]);
    old.exec(`INSERT INTO calls (id, context, transport, codec, started_at, ended_at, outcome)
              VALUES ('v1-call', 'sales', 'rtp', 'ulaw', '${t(0)}', '${t(9)}', 'completed')`);
    old.exec(`INSERT INTO turns (call_id, seq, speaker, text, started_at, interrupted) VALUES
              ('v1-call', 1, 'agent', 'hi', '${t(1)}', 0), ('v1-call', 2, 'caller', 'hello', '${t(2)}', 0)`);
    old.exec(`INSERT INTO events (call_id, seq, kind, at, data) VALUES ('v1-call', 1, 'barge_in', '${t(3)}', '{"heardText":"h"}')`);
    old.close();

    const migrated = open(path);
    assert.equal((await migrated.list({ limit: 1 }))[0]!.turnCount, 2, 'turn count backfilled by migration 2');
    assert.equal((await migrated.get('v1-call'))!.turns.length, 2);
    migrated.addTurn('v1-call', { speaker: 'agent', text: 'bye', startedAt: t(4), interrupted: false });
    assert.equal((await migrated.list({ limit: 1 }))[0]!.turnCount, 3);
    await migrated.close();

    const probe = new BetterSqlite3(path, { readonly: true });
    const versions = probe.prepare('SELECT version FROM schema_version ORDER BY version').all() as Array<{ version: number }>;
    assert.deepEqual(versions.map((v) => v.version), Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
    assert.equal((probe.prepare("SELECT barge_in_count AS n FROM calls WHERE id = 'v1-call'").get() as { n: number }).n, 1);
    probe.close();
  });

  it('refuses a database from a newer engine and leaves it untouched', async () => {
    const path = freshPath();
    await open(path).close();
    const db = new BetterSqlite3(path);
    db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 1, 'future', t(0));
    db.close();
    assert.throws(() => open(path), SchemaVersionError);
    const probe = new BetterSqlite3(path, { readonly: true });
    const rows = probe.prepare('SELECT version FROM schema_version ORDER BY version').all() as Array<{ version: number }>;
    probe.close();
    assert.equal(rows.length, LATEST_SCHEMA_VERSION + 1);
    assert.equal(rows.at(-1)!.version, LATEST_SCHEMA_VERSION + 1);
  });
});
