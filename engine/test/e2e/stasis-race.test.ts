import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceProcess } from '@ai-agent/common/testing';
import { Prng, hangup, waitForAgent, type CallReport } from '@ai-agent/test-peers';
import { finishedCalls, startEngine, startLocalAi } from './helpers.ts';

// A real Asterisk sends the ExternalMedia channel's StasisStart a few ms after the externalMedia reply (after the
// media WebSocket connects, for chan_websocket), later on a busy host, and refuses to bridge it before (422). Here
// that delay is random in 0–20 ms: every call must still be bridged and hear its greeting.

const CALLS = 200;
/** Calls in flight at once: enough to keep the run short, few enough not to measure the machine. */
const IN_FLIGHT = 4;
const MAX_DELAY_MS = 20;

const TRANSPORTS = [
  { transport: 'rtp', format: 'rtp_format: ulaw' },
  { transport: 'audiosocket', format: 'audiosocket_format: slin' },
  { transport: 'websocket', format: 'websocket_format: ulaw' },
] as const;

describe('the media channel enters Stasis after the externalMedia reply', { timeout: 300_000 }, () => {
  let localAi: ServiceProcess;
  let localAiPort: number;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-race-'));

  before(async () => {
    ({ proc: localAi, port: localAiPort } = await startLocalAi());
  });
  after(async () => {
    await localAi?.stop();
  });

  for (const [index, { transport, format }] of TRANSPORTS.entries()) {
    it(`${CALLS} calls over ${transport} with StasisStart 0–${MAX_DELAY_MS} ms late: every caller hears the greeting`, async () => {
      const prng = new Prng(0x5eed + index);
      const sut = await startEngine({
        dir,
        name: `race-${transport}`,
        localAiPort,
        telephony: `transport: ${transport}\n${format}`,
        peer: { mediaStasisStartDelayMs: () => prng.next() * MAX_DELAY_MS },
      });
      try {
        const reports: CallReport[] = [];
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < CALLS) {
            const n = next++;
            // Hang up at the greeting's first audio: the call was bridged both ways, nothing more is under test.
            const call = await sut.peer.placeCall({
              callerId: { number: `55502${String(n).padStart(5, '0')}` },
              script: [waitForAgent(10_000), hangup()],
            });
            reports.push(await call.done);
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

        const silent = reports.filter((r) => r.firstAgentAudioMs === null);
        assert.equal(silent.length, 0, `${silent.length} of ${CALLS} callers heard no greeting: ${JSON.stringify(silent[0]?.transcript)}`);
        const records = await finishedCalls(sut.control, CALLS, 30_000);
        const failed = records.filter((r) => r.outcome === 'error');
        assert.equal(failed.length, 0, `${failed.length} calls ended with error`);
        assert.doesNotMatch(sut.engine.stdout(), /call setup failed/);
      } finally {
        await sut.stop();
      }
    });
  }
});
