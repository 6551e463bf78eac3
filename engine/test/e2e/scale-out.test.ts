import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startPostgres, startService, type PostgresServer } from '@ai-agent/common/testing';
import {
  pause,
  say,
  startAsteriskPeer,
  startLocalAiFake,
  waitForAgentSilence,
  type AsteriskPeer,
  type LocalAiFake,
  type PlacedCall,
} from '@ai-agent/test-peers';
import { getJson, startEngine, type EngineUnderTest, type StoredCall } from './helpers.ts';

// Scale-out: two real engine processes sharing one PostgreSQL call history, one Asterisk (the test peer) sending
// calls to each engine's own Stasis app, the local AI server played by its stand-in. Every call through either
// engine is recorded completely; an engine that restarts closes only its own calls; a draining engine finishes
// its calls while the other takes new ones.

interface FullRecord extends StoredCall {
  hangupCause?: string;
  channelId?: string;
  answeredAt?: string;
  endedAt?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A short call: the greeting, one question, the answer, then the caller hangs up. */
const SHORT_CALL = [waitForAgentSilence(500, 15_000), say('tts:hello there'), waitForAgentSilence(500, 15_000)];
/** A call that stays up for `ms` after the greeting. */
const longCall = (ms: number) => [waitForAgentSilence(500, 15_000), pause(ms)];

describe('several engines sharing one PostgreSQL call history', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-scale-'));
  let pg: PostgresServer;
  let databaseUrl: string;
  let fake: LocalAiFake;
  let peer: AsteriskPeer;
  const engines: Record<'a' | 'b', EngineUnderTest> = {} as never;

  const launch = (name: 'a' | 'b'): Promise<EngineUnderTest> =>
    startEngine({
      dir,
      name,
      app: `ai-agent-${name}`,
      sharedPeer: peer,
      localAiPort: Number(new URL(fake.url).port),
      telephony: 'transport: rtp\nrtp_format: ulaw',
      storeConfig: `backend: postgres\nengine_id: engine-${name}`,
      limits: 'drain_timeout_seconds: 30',
      env: { DATABASE_URL: databaseUrl, LOCAL_WS_AUTH_TOKEN: fake.token },
    });

  before(async () => {
    [pg, fake, peer] = await Promise.all([startPostgres(), startLocalAiFake({ token: 'scale-out-local-token-0123' }), startAsteriskPeer({ username: 'ai-agent' })]);
    databaseUrl = await pg.createDatabase();
    // One after the other: two engines loading at once on a busy 2-core host start slower than in turn.
    engines.a = await launch('a');
    engines.b = await launch('b');
  });
  after(async () => {
    await Promise.all(Object.values(engines).map((e) => e?.stop()));
    await Promise.all([peer?.close(), fake?.close()]);
    await pg?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const place = (engine: 'a' | 'b', script: Parameters<AsteriskPeer['placeCall']>[0]['script'], number: string): Promise<PlacedCall> =>
    peer.placeCall({ app: `ai-agent-${engine}`, callerId: { number, name: 'Scale' }, script });

  /** The record of a caller channel, read through `control` (either engine: the history is shared). */
  async function recordOf(control: string, channelId: string): Promise<FullRecord | undefined> {
    const { recent } = await getJson<{ recent: Array<{ id: string; channelId?: string }> }>(`${control}/calls?limit=100`);
    const found = recent.find((c) => c.channelId === channelId);
    return found ? (await getJson<{ record: FullRecord }>(`${control}/calls/${found.id}`)).record : undefined;
  }

  async function waitForRecord(control: string, channelId: string, done: (r: FullRecord) => boolean, timeoutMs = 15_000): Promise<FullRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A read fails while the engine's call database is away: asked again.
      const record = await recordOf(control, channelId).catch(() => undefined);
      if (record && done(record)) return record;
      if (Date.now() > deadline) throw new Error(`record of ${channelId} not as expected: ${JSON.stringify(record)}`);
      await sleep(100);
    }
  }

  const owners = async (): Promise<Map<string, string>> =>
    new Map((await pg.admin("SELECT channel_id || '=' || engine_id FROM calls", new URL(databaseUrl).pathname.slice(1))).split('\n').filter(Boolean)
      .map((line) => line.split('=') as [string, string]));

  function assertComplete(record: FullRecord): void {
    assert.ok(record.answeredAt && record.endedAt, JSON.stringify(record));
    assert.equal(record.outcome, 'caller_hangup', JSON.stringify(record));
    assert.deepEqual(record.turns.map((t) => t.speaker), ['agent', 'caller', 'agent'], JSON.stringify(record.turns));
    assert.equal(record.turns[1]!.text, 'hello');
    assert.equal(record.turns[2]!.text, 'Hello from the local fake.');
    assert.ok(record.callerNumber?.startsWith('***'), 'the caller number is masked');
  }

  it('records every call through either engine completely, in one history both engines read', async () => {
    const calls = await Promise.all(
      (['a', 'b', 'a', 'b', 'a', 'b'] as const).map((engine, i) => place(engine, SHORT_CALL, `41555501${i}0`).then((call) => ({ engine, call }))),
    );
    const reports = await Promise.all(calls.map(({ call }) => call.done));
    for (const report of reports) assert.equal(report.endedBy, 'caller-hangup', JSON.stringify(report.transcript));

    const owner = await owners();
    for (const { engine, call } of calls) {
      const viaA = await waitForRecord(engines.a.control, call.channelId!, (r) => r.outcome !== undefined);
      assertComplete(viaA);
      assert.deepEqual(await recordOf(engines.b.control, call.channelId!), viaA, 'both engines read the same record');
      assert.equal(owner.get(call.channelId!), `engine-${engine}`);
    }
    for (const e of Object.values(engines)) {
      const metrics = await (await fetch(`${e.control}/metrics`)).text();
      assert.doesNotMatch(metrics, /^ai_agent_store_write_errors_total [1-9]/m);
      assert.match(metrics, /^ai_agent_store_pending_writes 0$/m);
      assert.match(metrics, /^ai_agent_calls_total\{context="default",outcome="caller_hangup"\} 3$/m, 'each engine counts its own calls');
    }
  });

  it('an engine that crashes and restarts closes its own calls left open, never the other engine\'s live call', async () => {
    const onA = await place('a', longCall(60_000), '4155550301');
    // Longer than a restart can take on a busy host; the callers hang up when the test has seen what it needs.
    const onB = await place('b', longCall(60_000), '4155550302');
    await Promise.all([onA, onB].map((call) => waitForRecord(engines.a.control, call.channelId!, (r) => r.turns.length >= 1)));

    await engines.a.restart('SIGKILL');
    const abandoned = await waitForRecord(engines.a.control, onA.channelId!, (r) => r.endedAt !== undefined);
    assert.equal(abandoned.outcome, 'error');
    assert.equal(abandoned.hangupCause, 'engine stopped before the call ended');
    const live = await recordOf(engines.a.control, onB.channelId!);
    assert.equal(live?.endedAt, undefined, 'the restart did not close engine b\'s live call');

    // Engine b's call goes on until its caller hangs up, and is recorded as such.
    onB.session.hangup();
    const report = await onB.done;
    assert.equal(report.endedBy, 'caller-hangup');
    const ended = await waitForRecord(engines.b.control, onB.channelId!, (r) => r.endedAt !== undefined);
    assert.equal(ended.outcome, 'caller_hangup');
    onA.session.hangup();
    await onA.done;
  });

  it('takes calls while the database is down, and stores their records once it is back', async () => {
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(`${engines.a.control}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    const retriesBefore = await metric('ai_agent_store_write_retries_total');
    await pg.down();
    let call: PlacedCall;
    try {
      call = await place('a', SHORT_CALL, '4155550501');
      const report = await call.done;
      assert.equal(report.endedBy, 'caller-hangup');
      assert.ok(report.firstAgentAudioMs !== null, 'the caller heard the greeting');
      assert.ok(report.turns.length >= 1 && report.agentSpurts.length >= 2, `the agent answered: ${JSON.stringify(report.transcript)}`);
      assert.ok((await metric('ai_agent_store_pending_writes')) > 0, 'the records wait');
      assert.ok((await metric('ai_agent_store_write_retries_total')) > retriesBefore, 'and are retried');
      // The history is refused rather than answered stale; the calls in progress are still listed.
      const history = await fetch(`${engines.a.control}/calls`);
      assert.equal(history.status, 200);
      const listed = (await history.json()) as { active: unknown[]; recent: unknown[]; historyUnavailable?: boolean };
      assert.ok(Array.isArray(listed.active) && listed.recent.length === 0 && listed.historyUnavailable === true, JSON.stringify(listed));
      const one = await fetch(`${engines.a.control}/calls/no-such-call`);
      assert.equal(one.status, 503);
      assert.equal(((await one.json()) as { error: string }).error, 'call history is unavailable');
    } finally {
      await pg.up();
    }
    assertComplete(await waitForRecord(engines.a.control, call.channelId!, (r) => r.outcome !== undefined, 45_000));
    assert.equal(await metric('ai_agent_store_pending_writes'), 0);
    assert.equal(await metric('ai_agent_store_write_errors_total'), 0);
    assert.match(engines.a.engine.stdout(), /call database available again/);
    assert.ok(!engines.a.engine.stdout().includes(pg.password), 'the database password is never logged');
  });

  it('refuses to start on a database a newer engine migrated, saying why', async () => {
    const newer = await pg.createDatabase();
    const database = new URL(newer).pathname.slice(1);
    // As a newer engine would have left it, owned by the engines' role.
    await pg.admin(`SET ROLE ${pg.user}; CREATE TABLE schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL);
      INSERT INTO schema_version VALUES (999, 'from a newer engine', now())`, database);
    const engine = startService('engine/src/main.ts', {
      AI_AGENT_CONFIG: join(dir, 'engine-a.yaml'), ARI_URL: peer.url, ARI_USERNAME: peer.username, ARI_PASSWORD: peer.password,
      DATABASE_URL: newer, LOCAL_WS_AUTH_TOKEN: fake.token,
    });
    const exit = await Promise.race([engine.exited, delay(30_000, 'still running', { ref: false })]);
    if (exit === 'still running') await engine.stop('SIGKILL');
    assert.equal(exit, 2);
    assert.match(engine.stderr(), /refusing to start: call store: call database has schema version 999, newer than this engine knows/);
    assert.ok(!(engine.stdout() + engine.stderr()).includes(pg.password), 'the database password is never printed');
    assert.equal(await pg.admin('SELECT count(*) FROM schema_version', database), '1', 'the database was left as it was');
  });

  // Last: engine b is not started again.
  it('a draining engine finishes its call while the other engine takes new ones', async () => {
    const onB = await place('b', [...longCall(4_000), say('tts:hello there'), waitForAgentSilence(500, 15_000)], '4155550401');
    await waitForRecord(engines.b.control, onB.channelId!, (r) => r.turns.length >= 1);
    // SIGTERM, as systemd or Docker stop the engine: a drain.
    engines.b.engine.child.kill('SIGTERM');
    await engines.b.engine.waitFor(/draining: no new calls/);
    const ready = await fetch(`${engines.b.control}/ready`).catch(() => undefined);
    assert.equal(ready?.status, 503, 'a draining engine is not ready (load balancers stop sending it calls)');

    // New calls go to engine a meanwhile.
    const onA = await place('a', SHORT_CALL, '4155550402');
    assert.equal((await onA.done).endedBy, 'caller-hangup');
    assertComplete(await waitForRecord(engines.a.control, onA.channelId!, (r) => r.outcome !== undefined));

    // Engine b's call ran to its end, then engine b exited cleanly.
    assert.equal((await onB.done).endedBy, 'caller-hangup');
    assert.equal(await engines.b.engine.exited, 0);
    const drained = await waitForRecord(engines.a.control, onB.channelId!, (r) => r.outcome !== undefined);
    assertComplete(drained);
    assert.match(engines.b.engine.stdout(), /"activeAtStart":1,"hungUp":0,"abandoned":0/);
  });
});
