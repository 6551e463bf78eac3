import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { hangup, pause, placeAudioSocketCall, say, startLocalAiFake, waitForAgentSilence, type LocalAiFake, type PlacedCall } from '@ai-agent/test-peers';
import { getJson, startEngine, type EngineUnderTest, type StoredCall } from './helpers.ts';

// One engine spread over two processes (`shards: 2`), started by one command: process 1 keeps the operator's
// Stasis app and moves callers to process 2's app when it is less loaded (ARI channels/move), and passes dialplan
// AudioSocket connections on the same way (the socket itself, over IPC). Checked from
// outside: which app Asterisk (the test peer) has each caller in, the one control plane's live calls, records
// and metrics, and what happens to a caller whose process is killed.

const APP = 'ai-agent';
const SHARD_APP = 'ai-agent-shard-2';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface FullRecord extends StoredCall {
  channelId?: string;
  hangupCause?: string;
}

describe('one engine over two processes (shards: 2)', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-shards-'));
  let fake: LocalAiFake;
  let sut: EngineUnderTest;

  before(async () => {
    fake = await startLocalAiFake({ token: 'shards-local-token-0123456789' });
    sut = await startEngine({
      dir,
      name: 'shards',
      localAiPort: Number(new URL(fake.url).port),
      telephony: 'transport: rtp\nrtp_format: ulaw\ndialplan_audiosocket: { enabled: true, allowed_sources: [127.0.0.1/8] }',
      sections: 'shards: 2',
      env: { LOCAL_WS_AUTH_TOKEN: fake.token },
    });
    assert.equal(await sut.peer.waitForApp(SHARD_APP, 60_000), true, 'process 2 did not register its Stasis app');
    await sut.engine.waitFor(/new callers may be moved to it/, 30_000);
  });
  after(async () => {
    await sut?.stop();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The Stasis app a caller channel is in now, as Asterisk sees it. */
  const appOf = (call: PlacedCall): string | null | undefined => sut.peer.core.channels.get(call.channelId!)?.stasisApp;

  async function recordOf(channelId: string): Promise<FullRecord> {
    for (let i = 0; ; i++) {
      const { recent } = await getJson<{ recent: Array<{ id: string; channelId?: string; outcome?: string }> }>(`${sut.control}/calls?limit=50`);
      const found = recent.find((c) => c.channelId === channelId);
      if (found?.outcome) return (await getJson<{ record: FullRecord }>(`${sut.control}/calls/${found.id}`)).record;
      if (i > 100) throw new Error(`no finished record for ${channelId}: ${JSON.stringify(recent)}`);
      await sleep(100);
    }
  }

  it('spreads callers over both processes; one control plane shows, records and counts them all', async () => {
    const script = [waitForAgentSilence(500, 20_000), say('tts:hello there'), waitForAgentSilence(500, 20_000), pause(1500)];
    const calls: PlacedCall[] = [];
    for (let i = 0; i < 4; i++) {
      calls.push(await sut.peer.placeCall({ app: APP, callerId: { number: `+1555010${i}`, name: 'Shard' }, script }));
      // One at a time, so each placement sees the loads the previous ones left.
      await sleep(300);
    }
    // Least-loaded placement: two callers in each process.
    const apps = calls.map(appOf).sort();
    assert.deepEqual(apps, [APP, APP, SHARD_APP, SHARD_APP], `callers' apps: ${apps.join(', ')}`);

    // Process 1's /calls lists the live calls of both processes.
    let active: Array<{ channelId?: string; state: string }> = [];
    for (let i = 0; i < 50 && active.length < 4; i++, await sleep(100)) ({ active } = await getJson<{ active: typeof active }>(`${sut.control}/calls`));
    assert.deepEqual(active.map((c) => c.channelId).sort(), calls.map((c) => c.channelId).sort());

    const reports = await Promise.all(calls.map((c) => c.done));
    for (const report of reports) assert.equal(report.endedBy, 'caller-hangup', report.error);
    for (const call of calls) {
      const record = await recordOf(call.channelId!);
      assert.equal(record.outcome, 'caller_hangup');
      assert.ok(record.turns.some((t) => t.speaker === 'caller' && /hello/i.test(t.text)), JSON.stringify(record.turns));
      assert.ok(record.turns.filter((t) => t.speaker === 'agent').length >= 2, 'greeting and answer recorded');
      // Redaction happens in the one store, whichever process took the call.
      assert.match(record.callerNumber ?? '', /^\*+\d{4}$/);
    }

    // The metrics of both processes, merged: every call once.
    const text = await (await fetch(`${sut.control}/metrics`)).text();
    const ended = [...text.matchAll(/^ai_agent_calls_total\{[^}]*outcome="caller_hangup"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(ended, 4, text.split('\n').filter((l) => l.startsWith('ai_agent_calls_total')).join('\n'));
  });

  it('spreads dialplan AudioSocket calls too: process 1 passes the connection on, and the call converses', async () => {
    // Process 1's listener (the one the dialplan's AudioSocket() dials); process 2's takes no dialplan call itself.
    const lines = sut.engine.stdout().split('\n');
    const listening = lines.filter((l) => /audiosocket listening/.test(l)).map((l) => JSON.parse(l) as { shard: number; port: number });
    const port = listening.find((l) => l.shard === 1)!.port;
    const startedIn = (shard: number): number =>
      sut.engine.stdout().split('\n').filter((l) => /dialplan AudioSocket call started/.test(l) && (JSON.parse(l) as { shard: number }).shard === shard).length;
    const script = [waitForAgentSilence(500, 20_000), say('tts:hello there'), waitForAgentSilence(500, 20_000), hangup()];
    const calls = [];
    for (let i = 0; i < 4; i++) {
      calls.push(await placeAudioSocketCall({ port, script }));
      // One at a time, so each placement sees the loads the previous ones left.
      await sleep(300);
    }
    const reports = await Promise.all(calls.map((c) => c.done));
    for (const report of reports) assert.equal(report.endedBy, 'caller-hangup', report.error);
    assert.deepEqual([startedIn(1), startedIn(2)], [2, 2], 'dialplan calls started in process 1 and in process 2');
    // Their records (the only calls here without an Asterisk channel), written through process 1's store.
    let dialplan: Array<{ id: string; channelId?: string; outcome?: string }> = [];
    for (let i = 0; i < 100; i++, await sleep(100)) {
      const { recent } = await getJson<{ recent: typeof dialplan }>(`${sut.control}/calls?limit=50`);
      dialplan = recent.filter((c) => !c.channelId);
      if (dialplan.length === 4 && dialplan.every((c) => c.outcome)) break;
    }
    assert.equal(dialplan.length, 4, JSON.stringify(dialplan));
    for (const { id } of dialplan) {
      const { record } = await getJson<{ record: FullRecord }>(`${sut.control}/calls/${id}`);
      assert.equal(record.outcome, 'caller_hangup', JSON.stringify(record));
      // The caller's words reached the process that took the call whole, after the UUID process 1 read.
      assert.ok(record.turns.some((t) => t.speaker === 'caller' && /hello/i.test(t.text)), JSON.stringify(record.turns));
      assert.ok(record.turns.filter((t) => t.speaker === 'agent').length >= 2, 'greeting and answer recorded');
    }

    // Process 2's own listener (its port is in its log) takes no dialplan call itself, even from loopback.
    const own = connect(listening.find((l) => l.shard === 2)!.port, '127.0.0.1');
    await once(own, 'connect');
    own.write(Buffer.concat([Buffer.from([0x01, 0, 16]), Buffer.from(randomUUID().replaceAll('-', ''), 'hex')]));
    await once(own, 'close');
    const metrics = await (await fetch(`${sut.control}/metrics`)).text();
    assert.match(metrics, /ai_agent_media_rejected_total\{[^}]*source="audiosocket"[^}]*reason="source_not_allowed"[^}]*\} 1$/m);
  });

  it('a process killed mid-call: its caller is hung up and recorded, and the process comes back and takes calls', async () => {
    const long = [waitForAgentSilence(500, 20_000), pause(60_000)];
    const first = await sut.peer.placeCall({ app: APP, callerId: { number: '+15550200', name: 'Stays' }, script: long });
    await sleep(300);
    const second = await sut.peer.placeCall({ app: APP, callerId: { number: '+15550201', name: 'Moved' }, script: long });
    await sleep(500);
    assert.equal(appOf(first), APP);
    assert.equal(appOf(second), SHARD_APP);
    const started = [...sut.engine.stdout().matchAll(/^.*"engine process started".*$/gm)].map((m) => JSON.parse(m[0]) as { pid: number });
    const pid = started.at(-1)!.pid;

    process.kill(pid, 'SIGKILL');
    const report = await second.done;
    assert.equal(report.endedBy, 'engine-hangup', 'the moved caller is hung up, not left in silence');
    const record = await recordOf(second.channelId!);
    assert.equal(record.outcome, 'error');
    assert.equal(record.hangupCause, 'engine process 2 stopped');
    assert.equal(appOf(first), APP, "process 1's caller carries on");

    // Started again; its app comes back and it takes the next caller (process 1 is busier).
    await sut.engine.waitFor(/engine process stopped unexpectedly/, 5_000);
    assert.equal(await sut.peer.waitForApp(SHARD_APP, 60_000), true);
    const readyLines = () => [...sut.engine.stdout().matchAll(/new callers may be moved to it/g)].length;
    for (let i = 0; i < 300 && readyLines() < 2; i++) await sleep(100);
    const third = await sut.peer.placeCall({ app: APP, callerId: { number: '+15550202', name: 'Back' }, script: long });
    await sleep(500);
    assert.equal(appOf(third), SHARD_APP);

    // An operator's hangup through process 1 reaches the call in either process.
    for (const call of [third, first]) {
      let id: string | undefined;
      for (let i = 0; i < 50 && !id; i++, await sleep(100)) {
        const { active } = await getJson<{ active: Array<{ id: string; channelId?: string }> }>(`${sut.control}/calls`);
        id = active.find((c) => c.channelId === call.channelId)?.id;
      }
      const res = await fetch(`${sut.control}/calls/${id}/hangup`, { method: 'POST' });
      assert.equal(res.status, 202);
      assert.equal((await call.done).endedBy, 'engine-hangup');
      assert.equal((await recordOf(call.channelId!)).outcome, 'completed');
    }
  });

  it('a reload through process 1 reaches every process', async () => {
    const file = join(dir, 'engine-shards.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('Thank you for calling. How can I help?', 'Welcome back to the reloaded line.'));
    const res = await fetch(`${sut.control}/reload`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
    // Process 2 rereads after process 1 answered: give it a moment before calls test it.
    await sleep(500);
    const script = [waitForAgentSilence(500, 20_000), pause(500)];
    const calls = [await sut.peer.placeCall({ app: APP, callerId: { number: '+15550300', name: 'Reload' }, script })];
    await sleep(300);
    calls.push(await sut.peer.placeCall({ app: APP, callerId: { number: '+15550301', name: 'Reload' }, script }));
    await sleep(300);
    assert.deepEqual(calls.map(appOf).sort(), [APP, SHARD_APP]);
    for (const call of calls) {
      await call.done;
      const record = await recordOf(call.channelId!);
      assert.equal(record.turns[0]?.text, 'Welcome back to the reloaded line.', `${call.channelId}: ${JSON.stringify(record.turns)}`);
    }
  });

  it('the call limits count the calls of every process', async () => {
    const file = join(dir, 'engine-shards.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}limits:\n  max_concurrent_calls: 1\n`);
    assert.equal((await fetch(`${sut.control}/reload`, { method: 'POST' })).status, 200);
    await sleep(500);
    const first = await sut.peer.placeCall({ app: APP, callerId: { number: '+15550400', name: 'First' }, script: [waitForAgentSilence(500, 20_000), pause(60_000)] });
    await sleep(300);
    // Process 2 has no call: the second caller goes there, and process 1's count (one call) refuses it.
    const second = await sut.peer.placeCall({ app: APP, callerId: { number: '+15550401', name: 'Second' }, script: [pause(20_000)] });
    await sleep(300);
    assert.equal(appOf(second), SHARD_APP);
    assert.equal((await second.done).endedBy, 'engine-hangup');
    assert.equal((await recordOf(second.channelId!)).outcome, 'rejected_busy');
    const channel = sut.peer.core.channels.get(first.channelId!);
    assert.equal(channel?.stasisApp, APP, 'the first call carries on');
    let id: string | undefined;
    for (let i = 0; i < 50 && !id; i++, await sleep(100)) {
      const { active } = await getJson<{ active: Array<{ id: string; channelId?: string }> }>(`${sut.control}/calls`);
      id = active.find((c) => c.channelId === first.channelId)?.id;
    }
    await fetch(`${sut.control}/calls/${id}/hangup`, { method: 'POST' });
    await first.done;
  });

  // Last: it ends process 1.
  it('process 1 killed: the other process finishes its call, records it in the store itself, and stops', async () => {
    const started = [...sut.engine.stdout().matchAll(/^.*"engine process started".*$/gm)].map((m) => JSON.parse(m[0]) as { pid: number });
    const pid = started.at(-1)!.pid;
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.ok(alive());
    // The limit the previous test set is lifted.
    const file = join(dir, 'engine-shards.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('limits:\n  max_concurrent_calls: 1\n', ''));
    assert.equal((await fetch(`${sut.control}/reload`, { method: 'POST' })).status, 200);
    // One caller in each process; process 2's is still talking when process 1 dies.
    const script = [waitForAgentSilence(500, 20_000), say('tts:hello there'), waitForAgentSilence(500, 20_000), pause(1500), say('tts:thank you'), waitForAgentSilence(500, 20_000)];
    const calls = [];
    for (let i = 0; i < 2; i++) {
      calls.push(await sut.peer.placeCall({ app: APP, callerId: { number: `+1555030${i}` }, script }));
      await sleep(300);
    }
    let second: PlacedCall | undefined;
    for (let i = 0; i < 50 && !second; i++, await sleep(100)) second = calls.find((c) => appOf(c) === SHARD_APP);
    assert.ok(second, `callers' apps: ${calls.map(appOf).join(', ')}`);
    // Once process 1 has written the call's start (its store answers with the open record).
    await getJson<{ active: unknown[] }>(`${sut.control}/calls`);
    for (let i = 0; i < 50; i++, await sleep(100)) {
      const { recent } = await getJson<{ recent: Array<{ channelId?: string }> }>(`${sut.control}/calls?limit=50`);
      if (recent.some((c) => c.channelId === second.channelId)) break;
    }
    process.kill(sut.engine.child.pid!, 'SIGKILL');
    const killedAt = Date.now();
    const report = await second.done;
    assert.equal(report.endedBy, 'caller-hangup', 'process 2 let its caller finish');
    for (let i = 0; i < 300 && alive(); i++) await sleep(100);
    assert.equal(alive(), false, 'process 2 outlived process 1');
    // Its call's turns after process 1 died, and its outcome, are in the store (written by process 2 itself).
    const db = new BetterSqlite3(join(dir, 'calls-shards.sqlite'), { readonly: true });
    try {
      const row = db.prepare('SELECT id, outcome FROM calls WHERE channel_id = ?').get(second.channelId) as { id: string; outcome: string | null };
      assert.equal(row?.outcome, 'caller_hangup', JSON.stringify(row));
      // Both of the caller's turns and both answers (the stand-in recogniser hears "hello" each time).
      const turns = db.prepare('SELECT speaker, started_at FROM turns WHERE call_id = ? ORDER BY seq').all(row.id) as Array<{ speaker: string; started_at: string }>;
      assert.equal(turns.filter((t) => t.speaker === 'caller').length, 2, JSON.stringify(turns));
      assert.ok(turns.some((t) => Date.parse(t.started_at) > killedAt), `a turn after process 1 died: ${JSON.stringify(turns)}`);
    } finally {
      db.close();
    }
  });
});
