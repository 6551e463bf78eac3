// A tool that ends or moves the call acts only once the caller has heard what the agent said before it, even
// when the caller's voice had just paused the agent (a tentative barge-in) as the model asked for the tool.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ChatMessage, LlmEvent, LlmProvider, ToolSchema } from '../../src/providers/types.ts';
import { prompt8k } from './helpers/audio.ts';
import { closeVad, startCall, until } from './helpers/harness.ts';
import { sleep } from './helpers/rtp-caller.ts';
import { ScriptedStt, ScriptedTts, TTS_MS_PER_CHAR } from './helpers/scripted-providers.ts';

after(closeVad);

/** Says `text`, then asks for `tool` only when the test lets it (so the request lands during a pause). */
class AnnouncingLlm implements LlmProvider {
  readonly name = 'announcing-llm';
  readonly tools: ToolSchema[][] = [];
  private release!: () => void;
  private readonly released = new Promise<void>((r) => (this.release = r));
  constructor(private readonly text: string, private readonly tool: { name: string; args: unknown }) {}
  letToolGo(): void {
    this.release();
  }
  async *chat(_m: readonly ChatMessage[], tools: readonly ToolSchema[], signal: AbortSignal): AsyncIterable<LlmEvent> {
    this.tools.push([...tools]);
    yield { type: 'text', text: this.text };
    await this.released;
    if (signal.aborted) return;
    yield { type: 'tool_call', call: { id: 'c1', name: this.tool.name, arguments: JSON.stringify(this.tool.args) } };
  }
}

const ANNOUNCEMENT = "Of course. I'm putting you through to a member of our team now.";
const CONTEXT = {
  greeting: '',
  tools: ['hangup', 'transfer'],
  transfer_targets: { operator: { context: 'from-internal', extension: '100' } },
};

describe('tools that end the call wait for the announcement before them', () => {
  for (const tool of [{ name: 'transfer', args: { target: 'operator' } }, { name: 'hangup', args: {} }]) {
    test(`caller speech pauses the agent as it asks for ${tool.name}: the caller still hears the whole announcement first`, async (t) => {
      const llm = new AnnouncingLlm(ANNOUNCEMENT, tool);
      const tts = new ScriptedTts();
      const stt = new ScriptedStt(['I would like to talk to a person', 'please']);
      const call = await startCall({ providers: { stt, llm, tts }, context: CONTEXT });
      t.after(() => call.close());

      await call.caller.say(prompt8k('vm-goodbye'));
      const first = await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 5000);
      assert.ok(first !== null, 'the agent answered');
      await sleep(600);
      // The caller's trailing word over the agent: it pauses the announcement; the tool request lands then.
      const saidAt = performance.now();
      const said = call.caller.say(prompt8k('digits/1'));
      assert.ok(await until(() => call.caller.speechOnsetAt > saidAt, 2000));
      assert.ok(await until(() => performance.now() - call.caller.speechOnsetAt > 120, 2000));
      llm.letToolGo();
      await said;

      const acted = () => (tool.name === 'transfer' ? call.control.transfers.length : call.control.hangups.length) > 0;
      assert.ok(await until(acted, 10_000), `${tool.name} happened`);
      const actedAt = performance.now();
      const last = call.caller.audibleAt[call.caller.audibleAt.length - 1]!;
      const fullMs = ANNOUNCEMENT.length * TTS_MS_PER_CHAR;
      const heardMs = call.caller.audibleMs(first);
      // A pause and resume can lose a frame at the seam; the defect lost seconds.
      assert.ok(heardMs >= fullMs - 200, `the caller heard ${heardMs} ms of a ${fullMs} ms announcement before the ${tool.name}`);
      assert.ok(actedAt >= last, `${tool.name} came after the announcement's last frame`);
      const agent = call.sink.turns.find((x) => x.speaker === 'agent');
      assert.equal(agent?.text, ANNOUNCEMENT, `the record holds the whole announcement: ${JSON.stringify(call.sink.turns)}`);
      assert.equal(agent?.interrupted, false);
      assert.equal(call.conv.stats.bargeIns, 0);
    });
  }

  test('a call that cannot transfer is never offered the transfer tool', async (t) => {
    const llm = new AnnouncingLlm('Sure.', { name: 'hangup', args: {} });
    const stt = new ScriptedStt(['I would like to talk to a person']);
    const call = await startCall({ providers: { stt, llm, tts: new ScriptedTts() }, context: CONTEXT, actions: { transfer: false, sendDtmf: false } });
    t.after(() => call.close());
    await call.caller.say(prompt8k('vm-goodbye'));
    assert.ok(await until(() => llm.tools.length === 1, 5000));
    assert.deepEqual(llm.tools[0]!.map((x) => x.name), ['hangup']);
    llm.letToolGo();
  });
});
