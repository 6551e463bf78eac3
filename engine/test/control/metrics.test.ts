import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineMetrics } from '../../src/control/metrics/engine-metrics.ts';
import { MediaCounterTotals } from '../../src/control/metrics/media-totals.ts';
import { MeteredCallStore } from '../../src/control/metrics/metered-store.ts';
import { metricsRoute } from '../../src/control/routes/metrics-route.ts';
import { SqliteCallStore } from '../../src/store/sqlite-store.ts';
import type { CallOutcome, MediaStreamCounters } from '../../src/call/index.ts';
import { startControl, testLog, type Harness } from './control-harness.ts';
import { FakeRegistry } from './fake-registry.ts';
import { parseExposition, valueOf, type Exposition } from './prometheus-text.ts';

const dir = mkdtempSync(join(tmpdir(), 'metrics-'));
const OUTCOMES: CallOutcome[] = ['completed', 'caller_hangup', 'transferred', 'no_input', 'provider_failure'];
const CONTEXTS = ['sales', 'support', 'billing'];

function streamCounters(): MediaStreamCounters {
  return {
    packetsIn: 0, bytesIn: 0, eventsIn: 0, packetsOut: 0, bytesOut: 0, framesToPipeline: 0, silenceFramesToPipeline: 0, fillerFramesOut: 0,
    outboundDrains: 0, outboundOverflowSamples: 0, flushes: 0, rejected: {},
    jitter: { received: 0, played: 0, concealed: 0, stretched: 0, late: 0, duplicate: 0, resync: 0, shrunk: 0, spurts: 0, jitterMs: 0, targetDelayMs: 0 },
  };
}

describe('GET /metrics', () => {
  let harness: Harness;
  let store: MeteredCallStore;
  const registry = new FakeRegistry();
  const media = new MediaCounterTotals();
  let simulated = 0;

  /** One call as telephony and the pipeline would report it: record writes plus its media stream's counters. */
  function simulateCall(): void {
    const i = simulated++;
    const id = `call-${i}-${Math.random().toString(36).slice(2)}`;
    const context = CONTEXTS[i % CONTEXTS.length]!;
    const startedAt = new Date(Date.now() - 30_000).toISOString();
    registry.add({ id, context, callerNumber: `+1555${String(1_000_000 + i)}` });
    store.begin({ id, context, transport: 'rtp', codec: 'ulaw', callerNumber: `+1555${String(1_000_000 + i)}`, startedAt });
    const counters = streamCounters();
    const untrack = media.track(counters);
    counters.packetsIn += 1500;
    counters.packetsOut += 1400;
    counters.rejected.unknown_source = (counters.rejected.unknown_source ?? 0) + 1;
    counters.jitter.late += 2;
    counters.jitter.concealed += 3;
    counters.outboundDrains += 4;
    store.addTurn(id, { speaker: 'caller', text: `my number is +1 555 ${i}`, startedAt, interrupted: false });
    store.addTurn(id, {
      speaker: 'agent', text: 'ok', startedAt, interrupted: i % 2 === 0,
      latency: { endpointingMs: 200, sttFinalMs: 90, llmFirstTokenMs: 300, firstSentenceMs: 500, ttsFirstAudioMs: 120, engineOverheadMs: 10, totalMs: 850 },
    });
    if (i % 2 === 0) store.addEvent(id, { kind: 'barge_in', at: startedAt, reactionMs: 120, heardText: 'o' });
    else store.addEvent(id, { kind: 'false_barge_in', at: startedAt, reason: 'backchannel', transcript: 'mm-hm', speechMs: 300 });
    if (i % 5 === 0) store.addEvent(id, { kind: 'provider_error', at: startedAt, provider: 'deepgram', stage: 'stt', message: `err ${id}` });
    store.addEvent(id, { kind: 'tool_call', at: startedAt, name: 'hangup', arguments: '{}', result: 'ok' });
    untrack();
    registry.end(id, OUTCOMES[i % OUTCOMES.length]!);
    store.finish(id, { endedAt: new Date().toISOString(), outcome: OUTCOMES[i % OUTCOMES.length]! });
  }

  async function scrape(): Promise<{ text: string; exposition: Exposition }> {
    const r = await fetch(`${harness.base}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    return { text, exposition: parseExposition(text) };
  }

  const ownSeries = (e: Exposition): number => e.samples.filter((s) => s.name.startsWith('ai_agent_')).length;

  before(async () => {
    let metrics!: EngineMetrics;
    const sqlite = new SqliteCallStore({ path: join(dir, 'calls.sqlite'), redaction: { toolArguments: () => 'redacted', showPhoneNumbers: () => false }, log: testLog });
    harness = await startControl((guard) => {
      metrics = new EngineMetrics({
        activeCalls: () => registry.list().map((c) => c.info),
        media: () => media.snapshot(),
        listenerRejections: () => [['rtp', { bad_version: 3, too_short: 1 }]],
        pacer: () => ({ lateTicks: 7, skippedTicks: 1 }),
        authFailures: () => guard.failures,
        admissionRefusals: () => ({ global_limit: 2 }),
        storeWriteErrors: () => sqlite.counters.writeErrors,
      });
      return [metricsRoute(metrics)];
    });
    store = new MeteredCallStore(sqlite, metrics);
  });
  after(async () => {
    await harness.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves valid Prometheus text with the engine series and event-loop lag', async () => {
    // 15 calls cover every (context, outcome) pair the simulation produces.
    for (let i = 0; i < 15; i++) simulateCall();
    registry.add({ id: 'live-1', context: 'sales' });
    const { exposition } = await scrape();
    assert.equal(valueOf(exposition, 'ai_agent_active_calls', { context: 'sales' }), 1);
    assert.equal(valueOf(exposition, 'ai_agent_calls_total', { context: 'sales', outcome: 'completed' }), 1);
    assert.equal(valueOf(exposition, 'ai_agent_calls_total', { context: 'support', outcome: 'caller_hangup' }), 1);
    assert.equal(valueOf(exposition, 'ai_agent_turn_latency_seconds_count', { stage: 'total' }), 15);
    assert.equal(valueOf(exposition, 'ai_agent_turn_latency_seconds_bucket', { stage: 'total', le: '1' }), 15);
    assert.equal(valueOf(exposition, 'ai_agent_turn_latency_seconds_bucket', { stage: 'total', le: '0.75' }), 0);
    assert.equal(valueOf(exposition, 'ai_agent_barge_ins_total'), 8);
    assert.equal(valueOf(exposition, 'ai_agent_barge_in_reaction_seconds_count'), 8);
    assert.equal(valueOf(exposition, 'ai_agent_false_barge_ins_total', { reason: 'backchannel' }), 7);
    assert.equal(valueOf(exposition, 'ai_agent_provider_errors_total', { provider: 'deepgram', stage: 'stt' }), 3);
    assert.equal(valueOf(exposition, 'ai_agent_tool_calls_total', { tool: 'hangup' }), 15);
    assert.equal(valueOf(exposition, 'ai_agent_jitter_buffer_events_total', { event: 'late' }), 30);
    assert.equal(valueOf(exposition, 'ai_agent_jitter_buffer_events_total', { event: 'concealed' }), 45);
    assert.equal(valueOf(exposition, 'ai_agent_media_rejected_total', { source: 'stream', reason: 'unknown_source' }), 15);
    assert.equal(valueOf(exposition, 'ai_agent_media_rejected_total', { source: 'rtp', reason: 'bad_version' }), 3);
    assert.equal(valueOf(exposition, 'ai_agent_playback_queue_drains_total'), 60);
    assert.equal(valueOf(exposition, 'ai_agent_pacer_faults_total', { kind: 'late' }), 7);
    assert.equal(valueOf(exposition, 'ai_agent_admission_refusals_total', { reason: 'global_limit' }), 2);
    assert.equal(exposition.types.get('ai_agent_calls_total'), 'counter');
    assert.ok(exposition.types.has('nodejs_eventloop_lag_seconds'), 'event-loop lag exported');
    assert.ok(exposition.types.has('nodejs_eventloop_lag_p99_seconds'));
  });

  it('counts control auth failures by reason', async () => {
    await fetch(`${harness.base}/metrics`); // loopback: allowed, not a failure
    harness.guard.failures.set('bad_token', 3);
    const { exposition } = await scrape();
    assert.equal(valueOf(exposition, 'ai_agent_control_auth_failures_total', { reason: 'bad_token' }), 3);
  });

  it('stays low-cardinality: 100 more calls add no series, and no call id or number appears', async () => {
    const before = ownSeries((await scrape()).exposition);
    for (let i = 0; i < 100; i++) simulateCall();
    const { text, exposition } = await scrape();
    assert.equal(ownSeries(exposition), before, 'series count unchanged after 100 calls');
    assert.ok(exposition.samples.length < 400, `${exposition.samples.length} series in total`);
    assert.equal(valueOf(exposition, 'ai_agent_turn_latency_seconds_count', { stage: 'total' }), 115);
    assert.doesNotMatch(text, /call-\d+-/);
    assert.doesNotMatch(text, /1555100/);
  });

  it('bounds a label fed with ever-new values: the excess is reported as "other"', async () => {
    for (let i = 0; i < 60; i++) {
      store.begin({ id: `flood-${i}`, context: `ctx${i}`, transport: 'rtp', codec: 'ulaw', startedAt: new Date().toISOString() });
      store.finish(`flood-${i}`, { endedAt: new Date().toISOString(), outcome: 'error' });
    }
    const { exposition } = await scrape();
    const contexts = new Set(exposition.samples.filter((s) => s.name === 'ai_agent_calls_total').map((s) => s.labels.context));
    assert.ok(contexts.size <= 33, `${contexts.size} context values`);
    assert.ok(contexts.has('other'));
  });
});
