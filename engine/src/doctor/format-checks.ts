import { fail, pass, type CheckResult } from './check.ts';
import type { DoctorContext } from './context.ts';

/**
 * Formats that pass the schema but that Asterisk mishandles on the wire. chan_rtp sets no receive mapping for
 * dynamic payload types, so RTP sent back with slin16's PT (118) is dropped without a word (observed:
 * asterisk-behaviour.md); the engine answers slin16 calls in µ-law unless told otherwise.
 */
export function formatChecks(ctx: DoctorContext): CheckResult[] {
  const { telephony: t, media } = ctx.config;
  if (t.transport !== 'rtp' || t.rtp_format !== 'slin16') return [];
  const title = 'RTP reply format';
  if (media.rtp.slin16_reply === 'slin16') {
    return [
      fail(
        'media.format.rtp',
        title,
        `replies in slin16 (payload type ${media.rtp.slin16_payload_type}) are dropped by Asterisk's chan_rtp: ` +
          'the caller hears nothing (one-way audio)',
        'set media.rtp.slin16_reply: ulaw (the default), or telephony.rtp_format: ulaw',
      ),
    ];
  }
  return [pass('media.format.rtp', title, 'slin16 from Asterisk, µ-law (PT 0) back: the reply Asterisk plays')];
}
