// Steps both kinds of conversation (pipeline and speech-to-speech agent) take to end a call.
import type { Logger } from '@ai-agent/common';
import type { CallControl, CallOutcome, MediaStream } from '../call/index.ts';
import type { ConversationHooks } from './types.ts';

/** Resolves once everything queued on `media` so far has played (or was dropped). */
export function playedOut(media: MediaStream): Promise<void> {
  if (media.closed || media.queuedSamples === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const id = media.mark();
    const onMark = (markId: string): void => {
      if (markId !== id) return;
      media.off('mark', onMark);
      resolve();
    };
    media.on('mark', onMark);
  });
}

/** Asterisk plays its stock apology (our own voice failed); a failure is logged, never thrown. */
export async function playStockApology(hooks: ConversationHooks | undefined, log: Logger): Promise<void> {
  if (!hooks?.playStockPrompt) return;
  try {
    await hooks.playStockPrompt('apology');
  } catch (err) {
    log.warn({ err }, 'stock apology could not be played');
  }
}

/** Asks telephony to hang up; a failure is logged (the caller may already be gone). */
export async function requestHangup(control: CallControl, outcome: CallOutcome, log: Logger): Promise<void> {
  try {
    await control.hangup(outcome);
  } catch (err) {
    log.warn({ err }, 'hangup failed');
  }
}
