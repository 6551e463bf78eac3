import { randomUUID } from 'node:crypto';
import type { MediaFormat } from '../audio/formats.ts';
import { AudioSocketLeg } from '../audiosocket/audiosocket-leg.ts';
import { CallerSession } from '../caller/session.ts';
import { peerLog, runDirectCall, type DirectCall, type DirectCallOptions } from './direct-call.ts';

export interface AudioSocketCallOptions extends DirectCallOptions {
  host?: string;
  port: number;
  /** Defaults to a random UUID. */
  uuid?: string;
  /** slin (0x10, default) or slin16 (0x12); ulaw/alaw reproduce Asterisk's mis-tagged 0x10 frames. */
  format?: MediaFormat;
  /** apps/app_audiosocket.c hangs up after 2000 ms with no audio either way; null disables. */
  inactivityTimeoutMs?: number | null;
}

/**
 * A call through the dialplan application `AudioSocket(uuid,host:port)` (apps/app_audiosocket.c):
 * the channel is already answered, Asterisk connects, sends the UUID frame, then audio.
 */
export async function placeAudioSocketCall(opts: AudioSocketCallOptions): Promise<DirectCall & { uuid: string; leg: AudioSocketLeg }> {
  const log = peerLog(opts.log);
  const uuid = opts.uuid ?? randomUUID();
  const session = new CallerSession({ script: opts.script, log, transmitSilence: opts.transmitSilence, hangupAtEnd: opts.hangupAtEnd });
  await session.prepare();
  const leg = new AudioSocketLeg({
    host: opts.host ?? '127.0.0.1',
    port: opts.port,
    uuid,
    format: opts.format ?? 'slin',
    log,
    inactivityTimeoutMs: opts.inactivityTimeoutMs === null ? undefined : opts.inactivityTimeoutMs ?? 2000,
  });
  leg.onInbound = (audible, at) => session.agentFrame(audible, at);
  leg.onEnd = (why) => {
    if (why === 'peer-hangup') return;
    session.note('asterisk', `AudioSocket ended: ${why}`);
    session.remoteEnded(why === 'engine-hangup' || why === 'engine-closed' ? 'engine-hangup' : why === 'timeout' ? 'network' : 'error', why);
  };
  await leg.connect();
  return { ...runDirectCall(session, leg), uuid, leg };
}
