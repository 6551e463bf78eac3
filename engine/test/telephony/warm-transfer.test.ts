import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import ari, { type Client } from 'ari-client';
import { createLogger } from '@ai-agent/common';
import { hangup, pause, startAsteriskPeer, type AsteriskPeer, type CallReport } from '@ai-agent/test-peers';
import { WarmTransfer } from '../../src/telephony/warm-transfer.ts';
import type { WarmTransferTarget } from '../../src/call/index.ts';

// The warm transfer's ARI steps when it does not end in a bridged pair, against the Asterisk test peer through
// ari-client: whatever happened, the caller is back with the agent (or gone) and nothing is left ringing.

const log = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const APP = 'ai-agent';

const target = (endpoint: string, ringTimeoutSeconds = 5): WarmTransferTarget => ({ name: 'desk', endpoint, ringTimeoutSeconds, mohClass: 'default' });

describe('warm transfer that does not connect', () => {
  let peer: AsteriskPeer;
  let client: Client;
  const callers: Array<(id: string) => void> = [];

  before(async () => {
    peer = await startAsteriskPeer({
      username: 'e',
      password: 'p',
      endpoints: {
        'PJSIP/busy': { busyAfterMs: 200 },
        'PJSIP/hangs-up': { answerAfterMs: 200, person: { script: [pause(300), hangup()] } },
        'PJSIP/rings': {},
      },
    });
    client = await ari.connect(peer.url, 'e', 'p');
    client.on('StasisStart', (event, channel) => {
      if (!event.args.includes('warm-transfer')) callers.shift()?.(channel.id);
    });
    await client.start(APP);
  });
  after(async () => {
    await client?.stop();
    await peer?.close();
  });

  /** A caller in an agent bridge, as a call session leaves it. */
  async function bridgedCaller(script: Parameters<AsteriskPeer['placeCall']>[0]['script']): Promise<{ id: string; bridgeId: string; done: Promise<CallReport> }> {
    const entered = new Promise<string>((resolve) => callers.push(resolve));
    const call = await peer.placeCall({ script, answered: true });
    const id = await entered;
    const bridge = await client.bridges.create({ type: 'mixing' });
    await client.bridges.addChannel({ bridgeId: bridge.id, channel: id });
    return { id, bridgeId: bridge.id, done: call.done };
  }

  const transfer = (caller: { id: string; bridgeId: string }) =>
    new WarmTransfer({ ari: client, app: APP, callId: 'call-1', caller: { id: caller.id, callerNumber: '2001' }, agentBridgeId: caller.bridgeId, log });

  /** The caller is in the agent's bridge, with no music left playing. */
  function backWithAgent(caller: { id: string; bridgeId: string }): void {
    const ch = peer.core.channels.get(caller.id);
    assert.ok(ch, 'the caller is still on the line');
    assert.equal(ch.bridge?.id, caller.bridgeId, 'the caller is back in the agent bridge');
    assert.equal(ch.musicOnHold, null, 'the music stopped');
  }

  it('a busy target: the result says busy (cause 17) and the caller is back with the agent', async () => {
    const caller = await bridgedCaller([pause(1500)]);
    let briefed = false;
    const result = await transfer(caller).run(target('PJSIP/busy'), async () => void (briefed = true));
    assert.deepEqual(result, { status: 'busy', detail: 'busy (cause 17)' });
    assert.equal(briefed, false);
    backWithAgent(caller);
    const report = await caller.done;
    assert.ok(report.transcript.some((e) => /music on hold started/.test(e.text)), JSON.stringify(report.transcript));
  });

  it('a target that hangs up during the briefing: the briefing is dropped and the caller is back with the agent', async () => {
    const caller = await bridgedCaller([pause(1500)]);
    const result = await transfer(caller).run(target('PJSIP/hangs-up'), () => new Promise((r) => setTimeout(r, 5000)));
    assert.deepEqual(result, { status: 'failed', detail: 'the target hung up during the briefing' });
    backWithAgent(caller);
    await caller.done;
  });

  it('the caller hangs up on hold: the ringing target is hung up', async () => {
    const caller = await bridgedCaller([pause(600), hangup()]);
    const started = Date.now();
    const result = await transfer(caller).run(target('PJSIP/rings', 30), async () => undefined);
    assert.equal(result.status, 'caller_gone');
    assert.ok(Date.now() - started < 5000, 'it did not wait for the ring timeout');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual([...peer.core.channels.values()].filter((c) => c.name.startsWith('PJSIP/rings')), [], 'the target is no longer ringing');
  });
});
