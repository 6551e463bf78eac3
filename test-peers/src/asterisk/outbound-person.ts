import type { Logger } from '@ai-agent/common';
import { CallerSession } from '../caller/session.ts';
import type { ScriptStep } from '../caller/script.ts';
import type { Channel } from './channel.ts';

/** Who picks up a dialled endpoint: a scripted person, recorded like a caller. */
export interface OutboundPerson {
  script: readonly ScriptStep[];
  /** Hang up when the script ends (default true). */
  hangupAtEnd?: boolean;
  /** Called as the person answers, with their session (what they hear) and their channel's id. */
  onAnswer?: (person: CallerSession, channelId: string) => void;
}

/**
 * Gives an answered outbound channel a person: their speech is the channel's audio, what the channel hears is
 * recorded, and their hangup is the far end's. The script's audio loads first (as a person takes a moment to
 * speak after picking up); the call's media ticks from the answer on.
 */
export function attachPerson(
  ch: Channel, person: OutboundPerson, log: Logger, remoteHangup: (ch: Channel, cause: number) => void,
): CallerSession {
  const session = new CallerSession({ script: person.script, log, hangupAtEnd: person.hangupAtEnd });
  ch.session = session;
  ch.media = {
    pull: (now) => session.pull(now),
    push: (frame) => session.hear(frame),
    close: () => {},
  };
  session.line = {
    sendDtmf: () => {},
    hangup: () => remoteHangup(ch, 16),
  };
  person.onAnswer?.(session, ch.id);
  void session.prepare().then(
    () => session.run(),
    (err: unknown) => session.remoteEnded('error', (err as Error).message),
  );
  return session;
}
