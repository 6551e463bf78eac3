import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { createLogger, registerSecret, scrubber } from '@ai-agent/common';
import { Pacer } from '../../../src/audio/pacer.ts';
import { PURGE_BATCH } from '../../../src/store/call-rows.ts';
import { TOOL_ARGUMENTS_NOT_STORED, type ToolArgumentsPolicy } from '../../../src/store/record-redaction.ts';
import { RetentionJob } from '../../../src/store/retention.ts';
import type { CallRecord, CallStore } from '../../../src/store/types.ts';
import { policy, type StoreBackend } from './store-backend.ts';

// The behaviour every call store owes the engine, whatever database is behind it: run by each backend's test
// file (sqlite-store, store-lock, postgres-store) against a real database of its kind.

const log = createLogger({ service: 'store-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const t = (second: number): string => new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString();

/** A complete call through every write the store has. */
export function recordCall(store: CallStore, id: string): void {
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

/** The record a store must give back for recordCall (caller number masked by default). */
export function assertRecordedCall(record: CallRecord): void {
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
}

/** Records: what is kept, how it is scrubbed, refused, ended, listed, purged and closed at start. */
export function callStoreCases(backend: StoreBackend): void {
  it('keeps a complete call record across a close and reopen', async () => {
    const location = await backend.fresh();
    const store = backend.open(location);
    recordCall(store, 'call-1');
    const before = await store.get('call-1');
    await store.close();

    const reopened = backend.open(location);
    const record = (await reopened.get('call-1')) as CallRecord;
    await reopened.close();
    assert.deepEqual(record, before);
    assertRecordedCall(record);
  });

  it('scrubs every text it writes: secrets, credential shapes and phone numbers', async () => {
    const secret = `canary-${randomBytes(10).toString('hex')}`;
    registerSecret(secret);
    const location = await backend.fresh();
    const store = backend.open(location);
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
    // And not just in what we read back: everything the database holds.
    const stored = await backend.stored(location);
    assert.ok(stored.includes('support'), 'the stored data was read');
    assert.ok(!stored.includes(secret));
  });

  it('stores tool arguments per policy: full, redacted or none', async () => {
    const secret = `toolcanary-${randomBytes(8).toString('hex')}`;
    registerSecret(secret);
    const stored = async (mode: ToolArgumentsPolicy): Promise<string> => {
      const store = backend.open(await backend.fresh(), { redaction: policy(mode) });
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
    const store = backend.open(await backend.fresh(), { redaction: policy('redacted', true) });
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
    const store = backend.open(await backend.fresh());
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
    const store = backend.open(await backend.fresh());
    store.begin({ id: 'e', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
    store.finish('e', { endedAt: t(5), outcome: 'drained', hangupCause: 'drain' });
    store.finish('e', { endedAt: t(6), outcome: 'caller_hangup' });
    const record = (await store.get('e'))!;
    assert.equal(record.outcome, 'drained');
    assert.equal(record.endedAt, t(5));
    await store.close();
  });

  it('lists newest first with a turn count, paging after the last id seen', async () => {
    const store = backend.open(await backend.fresh());
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

  it('filters the list by start time, context, outcome and caller (as stored: masked), with paging', async () => {
    const store = backend.open(await backend.fresh());
    const calls = [
      { id: 'f0', context: 'sales', callerNumber: '+15551110001', callerName: 'Ada Lovelace', outcome: 'completed' },
      { id: 'f1', context: 'support', callerNumber: '+15552220002', callerName: 'Grace Hopper', outcome: 'caller_hangup' },
      { id: 'f2', context: 'sales', callerNumber: '+15553330003', callerName: '100%_sure', outcome: 'caller_hangup' },
      { id: 'f3', context: 'sales', callerNumber: '+15554440004', callerName: 'Ada Byron', outcome: undefined },
      { id: 'f4', context: 'support', callerNumber: undefined, callerName: undefined, outcome: 'error' },
    ] as const;
    calls.forEach((c, i) => {
      store.begin({ id: c.id, context: c.context, transport: 'rtp', codec: 'ulaw', callerNumber: c.callerNumber, callerName: c.callerName, startedAt: t(i * 10) });
      if (c.outcome) store.finish(c.id, { endedAt: t(i * 10 + 5), outcome: c.outcome });
    });
    const ids = async (query: Omit<Parameters<typeof store.list>[0], 'limit'>, limit = 10): Promise<string[]> =>
      (await store.list({ limit, ...query })).map((c) => c.id);

    assert.deepEqual(await ids({ from: t(10), to: t(30) }), ['f2', 'f1'], 'from inclusive, to exclusive');
    assert.deepEqual(await ids({ from: '2026-01-01T13:00:10+01:00' }), ['f4', 'f3', 'f2', 'f1'], 'any zone, compared as instants');
    assert.deepEqual(await ids({ context: 'sales' }), ['f3', 'f2', 'f0']);
    assert.deepEqual(await ids({ outcome: 'caller_hangup' }), ['f2', 'f1']);
    assert.deepEqual(await ids({ outcome: 'in_progress' }), ['f3']);
    assert.deepEqual(await ids({ caller: 'ada' }), ['f3', 'f0'], 'name, any case');
    assert.deepEqual(await ids({ caller: '0002' }), ['f1'], 'the last digits of a masked number');
    assert.deepEqual(await ids({ caller: '5552220002' }), [], 'digits the store masked cannot be searched for');
    assert.deepEqual(await ids({ caller: '%_' }), ['f2'], '% and _ match themselves');
    assert.deepEqual(await ids({ context: 'sales', outcome: 'caller_hangup', caller: 'sure', from: t(0), to: t(60) }), ['f2']);
    assert.deepEqual(await ids({ context: 'nowhere' }), []);
    // Paging continues within the filter.
    const page1 = await ids({ context: 'sales' }, 2);
    assert.deepEqual(page1, ['f3', 'f2']);
    assert.deepEqual(await ids({ context: 'sales', before: page1.at(-1)! }, 2), ['f0']);
    assert.deepEqual(await ids({ caller: 'ada', before: 'f3' }), ['f0']);
    await store.close();

    const unmasked = backend.open(await backend.fresh(), { redaction: policy('redacted', true) });
    unmasked.begin({ id: 'u', context: 'c', transport: 'rtp', codec: 'ulaw', callerNumber: '+15552220002', startedAt: t(0) });
    assert.deepEqual((await unmasked.list({ limit: 5, caller: '5552220002' })).map((c) => c.id), ['u'], 'full numbers with show_phone_numbers');
    await unmasked.close();
  });

  it('purges calls that ended before the cutoff, and nothing else', async () => {
    const location = await backend.fresh();
    const store = backend.open(location);
    store.begin({ id: 'old-ended', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: '2025-01-01T00:00:00.000Z' });
    store.addTurn('old-ended', { speaker: 'caller', text: 'x', startedAt: '2025-01-01T00:00:01.000Z', interrupted: false });
    store.addEvent('old-ended', { kind: 'dtmf', at: '2025-01-01T00:00:02.000Z', digits: '1' });
    store.finish('old-ended', { endedAt: '2025-01-01T00:01:00.000Z', outcome: 'completed' });
    store.begin({ id: 'old-still-open', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: '2025-01-01T00:00:00.000Z' });
    store.begin({ id: 'recent', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: '2026-03-01T00:00:00.000Z' });
    store.finish('recent', { endedAt: '2026-03-01T00:05:00.000Z', outcome: 'completed' });

    const job = new RetentionJob(store, () => ({ retentionDays: 30, purgeIntervalMinutes: 60 }), log, () => Date.parse('2026-03-10T00:00:00Z'));
    const probe = await backend.probe(location);
    try {
      await store.get('recent');
      assert.equal(await probe.rowsOf('turns', 'old-ended'), 1, 'the probe sees the turn before the purge');
      assert.equal(await job.runOnce(), 1);
      assert.equal(await store.get('old-ended'), undefined);
      assert.ok(await store.get('old-still-open'), 'a call that has not ended is never purged');
      assert.ok(await store.get('recent'));
      await store.close();
      // Its turns and events went with it.
      assert.equal(await probe.rowsOf('turns', 'old-ended'), 0);
      assert.equal(await probe.rowsOf('events', 'old-ended'), 0);
    } finally {
      await probe.close();
    }
  });

  it('closes records a previous process left open', async () => {
    const location = await backend.fresh();
    const first = backend.open(location);
    first.begin({ id: 'orphan', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
    await first.close();
    const second = backend.open(location);
    assert.equal(await second.closeAbandoned(t(30)), 1);
    const record = (await second.get('orphan'))!;
    assert.equal(record.outcome, 'error');
    assert.equal(record.endedAt, t(30));
    await second.close();
  });
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** Another connection in the way: a held write lock, and a large purge sharing the database with new writes. */
export function contentionCases(backend: StoreBackend): void {
  it('keeps the pacer on time while another connection holds the write lock for 2 s, and writes everything once it is released', async (tc) => {
    const location = await backend.fresh();
    const store = backend.open(location);
    store.begin({ id: 'call', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
    await store.get('call');
    const pacer = new Pacer();
    const tickTimes: number[] = [];
    const removeSink = pacer.add({ sendTick: () => void tickTimes.push(performance.now()), receiveTick: () => undefined });
    try {
      const lockedAt = await backend.lockWrites(location, 2000);
      const first = pacer.stats.ticks;
      const lastBefore = tickTimes.length - 1;
      const skippedBefore = pacer.stats.skippedTicks;
      // A call's records as it goes on: a turn and an event every 50 ms while the database is locked.
      let written = 0;
      for (; written < 30; written++) {
        store.addTurn('call', { speaker: 'caller', text: `turn ${written}`, startedAt: t(1), interrupted: false });
        store.addEvent('call', { kind: 'dtmf', at: t(1), digits: '1' });
        await sleep(50);
      }
      // Answered after every write above: once the lock is gone.
      const record = await store.get('call');
      const readAfter = performance.now() - lockedAt;
      const lateness = Array.from({ length: pacer.stats.ticks - first }, (_, i) => pacer.lateness[(first + i) & (pacer.lateness.length - 1)]!);
      const times = tickTimes.slice(lastBefore);
      const longestGap = Math.max(...times.slice(1).map((time, i) => time - times[i]!));
      const skipped = pacer.stats.skippedTicks - skippedBefore;
      tc.diagnostic(`${lateness.length} ticks during the lock: lateness p50 ${percentile(lateness, 50).toFixed(2)} ms, ` +
        `p99 ${percentile(lateness, 99).toFixed(2)} ms; longest gap between ticks ${longestGap.toFixed(1)} ms, ${skipped} skipped`);

      assert.ok(readAfter >= 1900, `the writes waited for the lock: stored ${readAfter.toFixed(0)} ms after it was taken`);
      assert.equal(record?.turns.length, written, 'every turn written during the lock is stored');
      assert.equal(record?.events.length, written, 'every event written during the lock is stored');
      assert.equal(store.counters.writeErrors, 0);
      // Waiting on the lock on the event loop would stop the clock for the whole 2 s (its ticks skipped, not
      // late). The bounds leave room for the machine's own noise only.
      assert.ok(lateness.length >= 70, `ticks ${lateness.length}`);
      assert.ok(percentile(lateness, 50) <= 2, `median lateness ${percentile(lateness, 50).toFixed(2)} ms`);
      assert.ok(longestGap < 250, `no tick for ${longestGap.toFixed(1)} ms`);
      assert.ok(skipped < 10, `skipped ${skipped} ticks`);
    } finally {
      removeSink();
      await store.close();
    }
  });

  it('purges in bounded batches: a write made during a large purge lands before the purge ends', async (tc) => {
    const location = await backend.fresh();
    await backend.open(location).close();
    const calls = PURGE_BATCH * 20;
    await backend.seedEndedCalls(location, calls);

    const store = backend.open(location);
    const probe = await backend.probe(location);
    try {
      await store.list({ limit: 1 });
      const purge = store.purgeEndedBefore('2026-01-01T00:00:00.000Z');
      // Sent once the purge has visibly begun (its first batch committed): behind one DELETE of every expired
      // call, it would wait for all of them. A write that arrives with the purge request goes first by design.
      while ((await probe.callsWithPrefix('old-')) === calls) await sleep(1);
      store.begin({ id: 'new', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
      const record = await store.get('new');
      const left = await probe.callsWithPrefix('old-');
      assert.ok(record);
      tc.diagnostic(`expired calls still there when the write landed: ${left} of ${calls}`);
      assert.ok(left > 0 && left < calls, `${left} expired calls left when the write landed`);
      assert.equal(await purge, calls);
      assert.deepEqual((await store.list({ limit: 10 })).map((c) => c.id), ['new']);
    } finally {
      await probe.close();
      await store.close();
    }
  });
}
