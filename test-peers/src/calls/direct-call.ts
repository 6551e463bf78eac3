import type { Logger } from '@ai-agent/common';
import { createLogger } from '@ai-agent/common';
import { CallerSession, type CallReport } from '../caller/session.ts';
import type { ScriptStep } from '../caller/script.ts';
import { sharedClock } from '../clock.ts';
import type { MediaEndpoint } from '../media-endpoint.ts';

export interface DirectCallOptions {
  script: readonly ScriptStep[];
  transmitSilence?: boolean;
  hangupAtEnd?: boolean;
  log?: Logger;
}

export interface DirectCall {
  session: CallerSession;
  done: Promise<CallReport>;
}

export function peerLog(log?: Logger): Logger {
  return log ?? createLogger({ service: 'asterisk-test-peer', level: process.env.PEER_LOG_LEVEL ?? 'warn' });
}

/**
 * A caller wired straight to one media leg, as when the dialplan runs AudioSocket() or
 * Dial(WebSocket/…) without ARI: the leg carries the caller's audio out and the agent's audio back,
 * both on the shared 20 ms clock.
 */
export function runDirectCall(session: CallerSession, leg: MediaEndpoint): DirectCall {
  const stop = sharedClock.add((now) => {
    if (session.isEnded) return;
    leg.push(session.pull(now), now);
    session.hear(leg.pull(now));
  });
  session.line = {
    sendDtmf: (digit) => leg.sendDtmf?.(digit),
    hangup: () => leg.close(),
  };
  void session.done.then(() => {
    stop();
    leg.close();
  });
  session.run();
  return { session, done: session.done };
}
