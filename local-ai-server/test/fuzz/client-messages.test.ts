// Property-based fuzzing (fast-check, seeded) of the local AI server's gate for client text frames: whatever a
// client sends, parsing never throws, and only a message that is one of the protocol's types gets through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fuzzSettings } from '@ai-agent/common/testing';
import { parseClientMessage } from '../../src/protocol-schema.ts';

/** Every client message type of protocol.ts. */
const TYPES = ['stt.start', 'stt.grammar', 'stt.end', 'tts.start', 'tts.text', 'tts.end', 'tts.cancel', 'chat', 'chat.cancel', 'ping'];

test('fuzz local AI protocol: any text frame is a valid message or a coded refusal, never a throw', () => {
  const frame = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.json({ maxDepth: 4 }),
    // Near-misses: a known type with arbitrary fields, so the validator's branches are reached.
    fc.record({ type: fc.constantFrom(...TYPES), id: fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)) }, { requiredKeys: ['type'] })
      .chain((base) => fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }).map((extra) => JSON.stringify({ ...extra, ...base }))),
  );
  fc.assert(
    fc.property(frame, (text) => {
      const result = parseClientMessage(text);
      if (result.ok) {
        assert.ok(TYPES.includes(result.message.type), `accepted an unknown type: ${result.message.type}`);
        return;
      }
      assert.ok(result.code === 'bad_json' || result.code === 'invalid_message');
      assert.equal(result.reason.includes('\n'), false);
    }),
    fuzzSettings('local-ai-client-messages'),
  );
});
