import { maskPhoneNumber, scrub } from '@ai-agent/common';
import type { CallEventRecord, TurnRecord } from '../call/index.ts';
import type { CallStartRecord } from './types.ts';

/** `full`: tool arguments kept verbatim (an operator's opt-in); `redacted`: through the scrubber; `none`: dropped. */
export type ToolArgumentsPolicy = 'full' | 'redacted' | 'none';

export interface RedactionPolicy {
  /** Read per write, so a config reload applies to the next record. */
  toolArguments(): ToolArgumentsPolicy;
  /** `logging.show_phone_numbers`: numbers (caller id, DTMF digits) kept in full. */
  showPhoneNumbers(): boolean;
}

export const TOOL_ARGUMENTS_NOT_STORED = '[not stored]';

/** A number already masked by the caller of the store keeps its last digits instead of being masked twice. */
function maskNumber(value: string | undefined, policy: RedactionPolicy): string | undefined {
  if (value === undefined || policy.showPhoneNumbers() || value.startsWith('***')) return value;
  return maskPhoneNumber(value);
}

const optionalScrub = (text: string | undefined): string | undefined => (text === undefined ? undefined : scrub(text));

/** What a store may write for a call's start: every text scrubbed, the number masked per policy. */
export function redactStart(call: CallStartRecord, policy: RedactionPolicy): CallStartRecord {
  return {
    ...call,
    context: scrub(call.context),
    transport: scrub(call.transport),
    codec: scrub(call.codec),
    callerNumber: maskNumber(call.callerNumber, policy),
    callerName: optionalScrub(call.callerName),
  };
}

export function redactTurn(turn: TurnRecord): TurnRecord {
  return { ...turn, text: scrub(turn.text) };
}

export function redactText(text: string | undefined): string | undefined {
  return optionalScrub(text);
}

export function redactEvent(event: CallEventRecord, policy: RedactionPolicy): CallEventRecord {
  switch (event.kind) {
    case 'barge_in':
      return { ...event, heardText: scrub(event.heardText) };
    case 'false_barge_in':
      return { ...event, reason: scrub(event.reason), transcript: scrub(event.transcript) };
    case 'tool_call': {
      const mode = policy.toolArguments();
      const args = mode === 'full' ? event.arguments : mode === 'redacted' ? scrub(event.arguments) : TOOL_ARGUMENTS_NOT_STORED;
      return { ...event, name: scrub(event.name), arguments: args, result: scrub(event.result) };
    }
    case 'provider_error':
      return { ...event, provider: scrub(event.provider), message: scrub(event.message) };
    case 'dtmf':
      // Digits typed on a keypad are often account numbers or PINs: masked like caller numbers.
      return { ...event, digits: policy.showPhoneNumbers() ? event.digits : '*'.repeat(event.digits.length) };
    case 'usage':
      // Provider names from the config and counts: nothing a caller said.
      return event;
  }
}
