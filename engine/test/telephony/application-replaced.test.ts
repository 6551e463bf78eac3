// A second ARI connection registering the engine's Stasis app takes its calls away (Asterisk sends it
// ApplicationReplaced and routes the app's events elsewhere): the engine must stop saying it is ready.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import type { ServiceProcess } from '@ai-agent/common/testing';
import { startEngine, startLocalAi, type EngineUnderTest } from '../e2e/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'app-replaced-'));
let ai: { proc: ServiceProcess; port: number };
let sut: EngineUnderTest;

before(async () => {
  ai = await startLocalAi();
  sut = await startEngine({ dir, name: 'replaced', localAiPort: ai.port, telephony: 'transport: rtp' });
});
after(async () => {
  await sut?.stop();
  await ai?.proc.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function ready(): Promise<{ status: number; waiting: string[] }> {
  const res = await fetch(`${sut.control}/ready`);
  const body = (await res.json()) as { waiting?: string[] };
  return { status: res.status, waiting: body.waiting ?? [] };
}

test('another connection taking over the Stasis app makes the engine not ready, and says why', async () => {
  assert.equal((await ready()).status, 200);
  const events = new URL('/ari/events', sut.peer.url.replace(/^http/, 'ws'));
  events.searchParams.set('app', 'ai-agent');
  events.searchParams.set('api_key', `${sut.peer.username}:${sut.peer.password}`);
  const intruder = new WebSocket(events);
  await new Promise((resolve, reject) => intruder.once('open', resolve).once('error', reject));
  try {
    await sut.engine.waitFor(/Stasis application taken over by another ARI connection/, 5000);
    const after = await ready();
    assert.equal(after.status, 503);
    assert.deepEqual(after.waiting, ['ari']);
  } finally {
    intruder.close();
  }
});
