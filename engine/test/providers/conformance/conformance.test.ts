// One conformance suite for every STT, LLM and TTS adapter, local and cloud, each with its real SDK or client
// against the test peer's fake of its vendor (loopback only). See cases.ts for what each must do.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { llmConformance, sttConformance, ttsConformance } from './cases.ts';
import { deepgramSubjects, localAiSubjects, openAiSubjects, type LlmSubject, type SttSubject, type TtsSubject } from './subjects.ts';

/** No adapter may leave a promise rejection unhandled, whatever its vendor does. */
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

interface Stages {
  stt?: SttSubject;
  llm?: LlmSubject;
  tts?: TtsSubject;
}

const VENDORS: Array<[string, () => Promise<Stages>]> = [
  ['local AI', localAiSubjects],
  ['OpenAI', openAiSubjects],
  ['Deepgram', deepgramSubjects],
];

for (const [vendor, start] of VENDORS) {
  describe(`${vendor} adapters`, () => {
    let stages: Stages = {};
    before(async () => {
      stages = await start();
    });
    after(async () => {
      await Promise.all([stages.stt?.stop(), stages.llm?.stop(), stages.tts?.stop()]);
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
    });
    // Which stages a vendor has is known before its fake starts.
    if (vendor !== 'Deepgram') describe('LLM', () => llmConformance(() => stages.llm!));
    describe('TTS', () => ttsConformance(() => stages.tts!));
    describe('STT', () => sttConformance(() => stages.stt!));
  });
}
