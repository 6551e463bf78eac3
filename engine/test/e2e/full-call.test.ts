import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startService, type ServiceProcess } from '@ai-agent/common/testing';
import { startAsteriskPeer, say, waitForAgentSilence, pause, type AsteriskPeer } from '@ai-agent/test-peers';

// The whole product as an operator runs it: the engine and the local AI server as real processes, Asterisk
// played by the test peer, the caller speaking synthesised lines. Nothing in-process but the peer.

const TRANSPORTS = [
  { transport: 'rtp', format: 'rtp_format: ulaw' },
  { transport: 'audiosocket', format: 'audiosocket_format: slin' },
  { transport: 'websocket', format: 'websocket_format: ulaw' },
] as const;

function engineConfig(dir: string, localAiPort: number, transport: string, format: string): string {
  const path = join(dir, `engine-${transport}.yaml`);
  writeFileSync(
    path,
    `ari:
  url: \${ARI_URL}
  username: \${ARI_USERNAME}
  app: ai-agent
control:
  port: 0
logging:
  level: \${E2E_LOG_LEVEL:-info}
telephony:
  transport: ${transport}
  ${format}
media:
  rtp: { port_min: 0, port_max: 0 }
  audiosocket: { port: 0 }
  websocket: { port: 0 }
providers:
  local: { type: local_ai, url: "ws://127.0.0.1:${localAiPort}" }
store:
  path: ${join(dir, `calls-${transport}.sqlite`)}
contexts:
  default:
    greeting: Thank you for calling. How can I help?
    tools: [hangup]
`,
  );
  return path;
}

async function json(url: string): Promise<unknown> {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return r.json();
}

describe('a whole call through the real engine and local AI server', { timeout: 240_000 }, () => {
  let localAi: ServiceProcess;
  let localAiPort: number;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-'));

  before(async () => {
    localAi = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0' });
    const line = await localAi.waitFor(/local AI server listening/, 60_000);
    localAiPort = (JSON.parse(line) as { port: number }).port;
  });
  after(async () => {
    await localAi?.stop();
  });

  for (const { transport, format } of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let peer: AsteriskPeer;
      let engine: ServiceProcess;
      let control: string;

      before(async () => {
        peer = await startAsteriskPeer({ username: 'ai-agent' });
        engine = startService('engine/src/main.ts', {
          AI_AGENT_CONFIG: engineConfig(dir, localAiPort, transport, format),
          ARI_URL: peer.url,
          ARI_USERNAME: peer.username,
          ARI_PASSWORD: peer.password,
          E2E_LOG_LEVEL: process.env.E2E_LOG_LEVEL,
        });
        const line = await engine.waitFor(/engine control server listening/);
        control = `http://127.0.0.1:${(JSON.parse(line) as { address: { port: number } }).address.port}`;
        await engine.waitFor(/providers ready/, 60_000);
        assert.equal(await peer.waitForApp('ai-agent', 15_000), true);
      });
      after(async () => {
        await engine?.stop();
        if (process.env.E2E_LOG_FILE) (await import('node:fs')).writeFileSync(`${process.env.E2E_LOG_FILE}.${transport}`, engine.stdout());
        await peer?.close();
      });

      it('greets, answers a question, and hangs up when the caller says goodbye', async () => {
        const ready = await fetch(`${control}/ready`);
        assert.equal(ready.status, 200, await ready.text());
        const call = await peer.placeCall({
          callerId: { number: '4155550199', name: 'E2E' },
          script: [
            waitForAgentSilence(700, 15_000),
            say('tts:what are your opening hours'),
            waitForAgentSilence(700, 20_000),
            say('tts:okay goodbye'),
            pause(15_000),
          ],
        });
        const report = await call.done;
        // The call record says the same, with both sides of the conversation (written once teardown is done).
        let recorded: { id: string; outcome?: string } | undefined;
        for (let i = 0; i < 50 && !recorded?.outcome; i++) {
          if (i) await new Promise((r) => setTimeout(r, 100));
          recorded = ((await json(`${control}/calls`)) as { recent: Array<{ id: string; outcome?: string }> }).recent[0];
        }
        assert.ok(recorded, 'no call record');
        const { record: detail } = (await json(`${control}/calls/${recorded.id}`)) as {
          record: { turns: Array<{ speaker: string; text: string }>; callerNumber?: string; transport: string };
        };
        assert.equal(detail.transport, transport);
        assert.equal(detail.callerNumber, '***0199');
        const agentText = detail.turns.filter((t) => t.speaker === 'agent').map((t) => t.text.toLowerCase()).join(' | ');
        assert.match(agentText, /open|hours|monday|am|pm/, `the agent did not answer the hours question: ${agentText}`);
        assert.ok(detail.turns.some((t) => t.speaker === 'caller'), 'no caller turn recorded');
        assert.ok(report.firstAgentAudioMs !== null, 'no greeting was heard');
        assert.ok(report.turns.length >= 2, `expected two answered turns, got ${JSON.stringify(report.turns)}`);
        assert.equal(recorded.outcome, 'completed', JSON.stringify(detail.turns));
        assert.equal(report.endedBy, 'engine-hangup', `the agent should hang up; transcript: ${JSON.stringify(report.transcript)}`);

        assert.ok(!engine.stdout().includes('4155550199'), 'the caller number leaked into the log');
      });
    });
  }
});
