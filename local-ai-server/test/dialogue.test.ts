// The responder as the engine uses it: chat requests over the server, answered by the YAML dialogue, driven
// from what the recognizer actually heard.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startService } from '@ai-agent/common/testing';
import type { ChatEvent, LocalAiClient } from '../src/client.ts';
import type { ChatMessage, ToolSpec } from '../src/protocol.ts';
import { recognise, suiteClient } from './harness.ts';

const TOOLS: ToolSpec[] = [
  { name: 'transfer', description: 'Transfer the caller', parameters: { type: 'object', properties: { target: { type: 'string' } } } },
  { name: 'hangup', description: 'End the call', parameters: { type: 'object', properties: {} } },
];

interface Reply {
  text: string;
  tools: Array<{ name: string; arguments: Record<string, unknown> }>;
  done?: Extract<ChatEvent, { type: 'done' }>;
}

async function ask(client: LocalAiClient, messages: ChatMessage[], tools: ToolSpec[] | undefined = TOOLS): Promise<Reply> {
  const reply: Reply = { text: '', tools: [] };
  for await (const ev of client.chat(messages, tools)) {
    if (ev.type === 'delta') reply.text += ev.text;
    else if (ev.type === 'tool_call') reply.tools.push({ name: ev.name, arguments: ev.arguments });
    else reply.done = ev;
  }
  return reply;
}

/** Plays a conversation: each caller line is added to the history with the reply it got. */
async function converse(client: LocalAiClient, lines: string[]): Promise<Reply[]> {
  const history: ChatMessage[] = [];
  const replies: Reply[] = [];
  for (const line of lines) {
    history.push({ role: 'user', content: line });
    const reply = await ask(client, history);
    history.push({ role: 'assistant', content: reply.text });
    replies.push(reply);
  }
  return replies;
}

describe('dialogue responder', () => {
  const suite = suiteClient();

  it('greets when the caller has said nothing yet', async () => {
    const reply = await ask(suite.client, []);
    assert.match(reply.text, /Thank you for calling/);
    assert.equal(reply.done?.reason, 'stop');
  });

  it('fills slots across turns and hints the grammar for each answer', async () => {
    const [ask1, ask2, done] = await converse(suite.client, ['i forgot my pass word', 'four one two seven', 'yes please']);
    assert.match(ask1.text, /account number/);
    assert.deepEqual(ask1.done?.expect, { grammar: { builtin: 'digits' } });
    assert.match(ask2.text, /I heard 4 1 2 7/);
    assert.deepEqual(ask2.done?.expect, { grammar: { builtin: 'yesno' } });
    assert.match(done.text, /reset link for account 4 1 2 7/);
    assert.deepEqual(done.tools, []);
  });

  it('abandons the request when the caller says no, and repeats on request', async () => {
    const replies = await converse(suite.client, ['reset my password', 'nine nine one one', 'no', 'say that again']);
    assert.match(replies[2].text, /won't send anything/);
    assert.equal(replies[3].text, replies[2].text);
  });

  it('falls back, then escalates to a person after repeated misunderstanding', async () => {
    const replies = await converse(suite.client, ['banana', 'purple elephant', 'xylophone']);
    assert.match(replies[0].text, /didn't catch that/);
    assert.deepEqual(replies[2].tools, [{ name: 'transfer', arguments: { target: 'operator' } }]);
  });

  it('calls only tools the request offers', async () => {
    const reply = await ask(suite.client, [{ role: 'user', content: 'goodbye' }], [TOOLS[0]]);
    assert.match(reply.text, /Goodbye/);
    assert.deepEqual(reply.tools, []);
    assert.equal(reply.done?.reason, 'stop');
  });

  it('never announces an action the call cannot carry out: the intent\'s unavailable reply instead', async () => {
    const reply = await ask(suite.client, [{ role: 'user', content: 'I want to talk to a person' }], TOOLS.filter((t) => t.name !== 'transfer'));
    assert.doesNotMatch(reply.text, /putting you through/i);
    assert.match(reply.text, /can't put you through/i);
    assert.deepEqual(reply.tools, []);
    assert.equal(reply.done?.reason, 'stop');
  });

  it('after an action: says nothing more when it worked, and that it could not be done when it failed', async () => {
    const history: ChatMessage[] = [
      { role: 'user', content: 'I want to talk to a person' },
      { role: 'assistant', content: "Of course. I'm putting you through to a member of our team now." },
    ];
    const worked = await ask(suite.client, [...history, { role: 'tool', name: 'transfer', content: 'The caller was transferred to operator.' }]);
    assert.equal(worked.text, '');
    assert.deepEqual(worked.tools, []);
    const failed = await ask(suite.client, [...history, { role: 'tool', name: 'transfer', content: 'error: transfer failed: no route' }]);
    assert.match(failed.text, /can't do that/i);
    assert.deepEqual(failed.tools, [], 'the failed action is not asked for again');
  });

  it('drives a call to a transfer and a hangup from recognised speech', async (ctx) => {
    // The caller is a different voice (rms) than the agent, sent as 8 kHz µ-law like a phone line.
    const say = async (text: string): Promise<string> => {
      const parts: Uint8Array[] = [];
      for await (const c of suite.client.synthesize(text, { sampleRate: 8000, encoding: 'mulaw', voice: 'rms' })) parts.push(c);
      return (await recognise(suite.client, [Buffer.concat(parts)])).join(' ');
    };
    const heardTransfer = await say('Hello, I would like to talk to a real person please.');
    const transfer = await ask(suite.client, [{ role: 'user', content: heardTransfer }]);
    ctx.diagnostic(`heard "${heardTransfer}"`);
    assert.deepEqual(transfer.tools, [{ name: 'transfer', arguments: { target: 'operator' } }], heardTransfer);
    assert.equal(transfer.done?.reason, 'tool_call');

    const heardHours = await say('What are your opening hours?');
    const heardBye = await say('No thanks, goodbye.');
    ctx.diagnostic(`heard "${heardHours}", then "${heardBye}"`);
    const [hours, bye] = await converse(suite.client, [heardHours, heardBye]);
    assert.match(hours.text, /Monday to Friday/, heardHours);
    assert.deepEqual(bye.tools, [{ name: 'hangup', arguments: {} }], heardBye);
  });

  it('cancels a chat on abort', async () => {
    const abort = new AbortController();
    abort.abort(new Error('hangup'));
    await assert.rejects(async () => {
      for await (const _ of suite.client.chat([{ role: 'user', content: 'hello' }], TOOLS, abort.signal)) {
        // nothing arrives after an abort
      }
    }, /hangup/);
    assert.match((await ask(suite.client, [{ role: 'user', content: 'opening hours' }])).text, /Monday/);
  });
});

describe('optional engines without their model files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-ai-models-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names the missing or invalid file, keeps serving, and refuses what it cannot do', async () => {
    const notGguf = join(dir, 'model.gguf');
    writeFileSync(notGguf, 'this is not a model');
    const proc = startService('local-ai-server/src/main.ts', {
      LOCAL_WS_PORT: '0',
      LLM_MODEL_PATH: notGguf,
      LOCAL_STT_ENGINE: 'sherpa',
      SHERPA_STT_ENCODER: join(dir, 'missing-encoder.onnx'),
      LOCAL_TTS_ENGINE: 'sherpa',
    });
    try {
      const line = await proc.waitFor(/local AI server listening/);
      const out = proc.stdout();
      assert.match(out, /LLM_MODEL_PATH\): .*model\.gguf is not a GGUF model file/);
      assert.match(out, /stt\.sherpa\.encoder: model file not found: .*missing-encoder\.onnx/);
      assert.match(out, /tts\.sherpa\.model is not set/);
      const { port } = JSON.parse(line) as { port: number };
      const { LocalAiClient } = await import('../src/client.ts');
      const c = await LocalAiClient.connect(`ws://127.0.0.1:${port}`);
      assert.deepEqual(c.capabilities.stt, []);
      assert.equal(c.capabilities.llm, 'dialogue');
      await assert.rejects(c.openStt({ encoding: 'mulaw', sampleRate: 8000 }), /engine_unavailable|sherpa/);
      await c.close();
    } finally {
      await proc.stop();
    }
  });

  it('names a model path that does not exist', async () => {
    const proc = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0', LLM_MODEL_PATH: join(dir, 'nope.gguf') });
    try {
      await proc.waitFor(/local AI server listening/);
      assert.match(proc.stdout(), /LLM_MODEL_PATH\): model file not found: .*nope\.gguf/);
    } finally {
      await proc.stop();
    }
  });
});
