// The OpenAI Realtime fake over a plain `ws` client (the SDK's OpenAIRealtimeWS always dials wss://),
// with the SDK's GA event types: server VAD on real speech, responses, barge-in, truncate, tools, faults.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { RealtimeClientEvent, RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import { soundPath } from '../../src/audio/sources.ts';
import { decodeToPcm16, encodePcm16, parseWav, silence, startOpenAiFake, waitUntil, type OpenAiFake } from '../../src/fakes/index.ts';

/** Real speech (8 kHz PCM16, an Asterisk prompt) framed by silence, as a caller would send it. */
function utterance(): Buffer {
  const path = soundPath('activated');
  assert.ok(path, 'Asterisk prompts are installed (Debian asterisk-core-sounds-en-wav)');
  const speech = parseWav(readFileSync(path));
  return Buffer.concat([silence(300, 8000), decodeToPcm16(speech.data, speech.encoding), silence(600, 8000)]);
}

class RealtimeTestClient {
  readonly events: RealtimeServerEvent[] = [];
  readonly ws: WebSocket;
  closeCode: number | undefined;
  #waiters: Array<() => void> = [];

  constructor(url: string, key: string) {
    this.ws = new WebSocket(url, { headers: { Authorization: `Bearer ${key}` } });
    this.ws.on('message', (data) => {
      this.events.push(JSON.parse(data.toString()) as RealtimeServerEvent);
      for (const w of this.#waiters) w();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      for (const w of this.#waiters) w();
    });
    this.ws.on('error', () => undefined);
  }

  send(event: RealtimeClientEvent): void {
    this.ws.send(JSON.stringify(event));
  }

  /** Streams audio in 20 ms appends, as an engine would. */
  appendAudio(data: Buffer, bytesPer20ms: number): void {
    for (let i = 0; i < data.length; i += bytesPer20ms) {
      this.send({ type: 'input_audio_buffer.append', audio: data.subarray(i, i + bytesPer20ms).toString('base64') });
    }
  }

  /** Resolves with the n-th (from `from`) event of `type`. */
  waitFor<T extends RealtimeServerEvent['type']>(type: T, from = 0, timeoutMs = 4000): Promise<Extract<RealtimeServerEvent, { type: T }>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.slice(from).find((e) => e.type === type);
        if (found) resolve(found as Extract<RealtimeServerEvent, { type: T }>);
        return !!found;
      };
      if (check()) return;
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms; got ${this.types().join(', ')}`)), timeoutMs);
      const waiter = (): void => {
        if (check()) {
          clearTimeout(timer);
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
        }
      };
      this.#waiters.push(waiter);
    });
  }

  waitClosed(timeoutMs = 4000): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.closeCode !== undefined) return resolve(this.closeCode);
      const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.ws.once('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  types(from = 0): string[] {
    return this.events.slice(from).map((e) => e.type);
  }

  close(): void {
    this.ws.terminate();
  }
}

describe('OpenAI Realtime fake', () => {
  let fake: OpenAiFake;
  const clients: RealtimeTestClient[] = [];
  const open = async (): Promise<RealtimeTestClient> => {
    const c = new RealtimeTestClient(`${fake.realtimeURL}?model=gpt-realtime`, 'sk-rt');
    clients.push(c);
    await c.waitFor('session.created');
    return c;
  };
  /** Switches the session to 8 kHz mu-law in and out, like a telephone leg. */
  const telephony = async (c: RealtimeTestClient, extra: Record<string, unknown> = {}): Promise<void> => {
    c.send({
      type: 'session.update',
      session: {
        type: 'realtime',
        audio: {
          input: { format: { type: 'audio/pcmu' }, transcription: { model: 'gpt-4o-mini-transcribe' } },
          output: { format: { type: 'audio/pcmu' }, voice: 'marin' },
        },
        ...extra,
      },
    });
    await c.waitFor('session.updated');
  };

  before(async () => {
    fake = await startOpenAiFake({ apiKey: 'sk-rt' });
  });
  after(async () => {
    for (const c of clients) c.close();
    await fake.close();
  });

  it('refuses an upgrade without the right key with HTTP 401', async () => {
    const ws = new WebSocket(`${fake.realtimeURL}?model=gpt-realtime`, { headers: { Authorization: 'Bearer nope' } });
    ws.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    ws.terminate();
    assert.equal(status, 401);
  });

  it('refuses an upgrade with a scripted 429', async () => {
    fake.realtime.connections.push({ reject: { kind: 'status', status: 429, retryAfterMs: 1000 } });
    const ws = new WebSocket(`${fake.realtimeURL}?model=gpt-realtime`, { headers: { Authorization: 'Bearer sk-rt' } });
    ws.on('error', () => undefined);
    const res = await new Promise<{ status: number; retry: string | undefined }>((resolve) =>
      ws.on('unexpected-response', (_req, r) => resolve({ status: r.statusCode ?? 0, retry: r.headers['retry-after'] as string | undefined })),
    );
    ws.terminate();
    assert.deepEqual(res, { status: 429, retry: '1' });
  });

  it('opens with session.created, applies session.update, rejects beta-style fields', async () => {
    const c = await open();
    const created = await c.waitFor('session.created');
    assert.equal(created.session.type, 'realtime');
    assert.equal(fake.realtime.sessions.at(-1)!.model, 'gpt-realtime');
    c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.', audio: { output: { voice: 'cedar' } } } });
    const updated = await c.waitFor('session.updated');
    assert.equal(updated.session.type === 'realtime' && updated.session.instructions, 'Be brief.');
    assert.equal(updated.session.type === 'realtime' && updated.session.audio?.output?.voice, 'cedar');
    assert.equal(updated.session.type === 'realtime' && updated.session.audio?.input?.format?.type, 'audio/pcm', 'untouched fields are kept');
    c.send({ type: 'session.update', session: { type: 'realtime', input_audio_format: 'g711_ulaw' } as never });
    const error = await c.waitFor('error');
    assert.equal(error.error.code, 'unknown_parameter');
  });

  it('detects real speech with server VAD, commits, transcribes and answers with audio + transcript', async () => {
    const c = await open();
    await telephony(c);
    fake.realtime.transcripts.push('is it activated');
    fake.realtime.responses.push({ text: 'Yes, it is activated.', audio: { ms: 500 } });
    c.appendAudio(encodePcm16(utterance(), 'mulaw'), 160);

    const started = await c.waitFor('input_audio_buffer.speech_started');
    assert.ok(started.audio_start_ms >= 0 && started.audio_start_ms < 300, `speech starts near 300 ms minus padding, got ${started.audio_start_ms}`);
    const stopped = await c.waitFor('input_audio_buffer.speech_stopped');
    assert.equal(stopped.item_id, started.item_id);
    const committed = await c.waitFor('input_audio_buffer.committed');
    assert.equal(committed.item_id, started.item_id);
    const transcript = await c.waitFor('conversation.item.input_audio_transcription.completed');
    assert.equal(transcript.transcript, 'is it activated');
    const done = await c.waitFor('response.done');
    assert.equal(done.response.status, 'completed');

    const audio = Buffer.concat(
      c.events.filter((e) => e.type === 'response.output_audio.delta').map((e) => Buffer.from((e as { delta: string }).delta, 'base64')),
    );
    assert.equal(audio.length, 4000, '500 ms of 8 kHz mu-law');
    const said = c.events.filter((e) => e.type === 'response.output_audio_transcript.delta').map((e) => (e as { delta: string }).delta).join('');
    assert.equal(said, 'Yes, it is activated.');
    const order = c.types().filter((t) => t.startsWith('response.') && !t.endsWith('.delta'));
    assert.deepEqual(order, [
      'response.created', 'response.output_item.added', 'response.content_part.added', 'response.output_audio.done',
      'response.output_audio_transcript.done', 'response.content_part.done', 'response.output_item.done', 'response.done',
    ]);
    const item = done.response.output![0]!;
    assert.equal(item.type === 'message' && (item.content[0] as { transcript?: string }).transcript, 'Yes, it is activated.');
    const user = c.events.find((e) => e.type === 'conversation.item.added' && e.item.type === 'message' && e.item.role === 'user');
    assert.ok(user, 'the committed audio became a user item');
  });

  it('barge-in: speech during a response cancels it (turn_detected); truncate cuts what was not heard', async () => {
    const c = await open();
    await telephony(c, { audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } } });
    fake.realtime.responses.push({ text: 'a long answer that keeps going and going', audio: { ms: 3000 }, pace: { betweenChunksMs: 30 } });
    c.send({ type: 'response.create' });
    const delta = await c.waitFor('response.output_audio.delta');
    c.appendAudio(encodePcm16(utterance(), 'mulaw'), 160);
    await c.waitFor('input_audio_buffer.speech_started');
    const done = await c.waitFor('response.done');
    assert.equal(done.response.status, 'cancelled');
    assert.equal(done.response.status_details?.reason, 'turn_detected');

    const from = c.events.length;
    c.send({ type: 'conversation.item.truncate', item_id: delta.item_id, content_index: 0, audio_end_ms: 100 });
    const truncated = await c.waitFor('conversation.item.truncated', from);
    assert.deepEqual([truncated.item_id, truncated.audio_end_ms], [delta.item_id, 100]);
    c.send({ type: 'conversation.item.truncate', item_id: delta.item_id, content_index: 0, audio_end_ms: 60_000 });
    const error = await c.waitFor('error', from);
    assert.equal(error.error.param, 'audio_end_ms');
  });

  it('response.cancel ends the active response as client_cancelled; without one it is an error', async () => {
    const c = await open();
    c.send({ type: 'response.cancel' });
    assert.equal((await c.waitFor('error')).error.code, 'response_cancel_not_active');
    fake.realtime.responses.push({ text: 'one two three four five six', pace: { betweenChunksMs: 40 } });
    c.send({ type: 'response.create' });
    await c.waitFor('response.output_audio_transcript.delta');
    c.send({ type: 'response.cancel' });
    const done = await c.waitFor('response.done');
    assert.equal(done.response.status, 'cancelled');
    assert.equal(done.response.status_details?.reason, 'client_cancelled');
  });

  it('function calls: argument deltas, then the client returns output and asks for the answer', async () => {
    const c = await open();
    fake.realtime.responses.push({ toolCalls: [{ id: 'call_1', name: 'transfer', arguments: { queue: 'sales', reason: 'asked' } }] });
    fake.realtime.responses.push((req) => {
      const output = req.conversation.find((i) => i.type === 'function_call_output');
      return { text: output && output.type === 'function_call_output' ? `done: ${output.output}` : 'no output' };
    });
    c.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } });
    await c.waitFor('session.updated');
    c.send({ type: 'response.create' });
    const argsDone = await c.waitFor('response.function_call_arguments.done');
    assert.equal(argsDone.name, 'transfer');
    assert.equal(argsDone.call_id, 'call_1');
    assert.deepEqual(JSON.parse(argsDone.arguments), { queue: 'sales', reason: 'asked' });
    const deltas = c.events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => (e as { delta: string }).delta);
    assert.ok(deltas.length > 1);
    assert.equal(deltas.join(''), argsDone.arguments);
    const first = await c.waitFor('response.done');
    assert.equal(first.response.output![0]!.type, 'function_call');

    const from = c.events.length;
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: 'call_1', output: 'transferred' } });
    const added = await c.waitFor('conversation.item.added', from);
    assert.equal(added.item.type, 'function_call_output');
    c.send({ type: 'response.create' });
    const textDone = await c.waitFor('response.output_text.done', from);
    assert.equal(textDone.text, 'done: transferred');
  });

  it('manual turns: commit of an empty buffer is an error; a real commit creates the user item', async () => {
    const c = await open();
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } });
    await c.waitFor('session.updated');
    c.send({ type: 'input_audio_buffer.commit' });
    assert.equal((await c.waitFor('error')).error.code, 'input_audio_buffer_commit_empty');
    c.appendAudio(silence(200, 24000), 960);
    c.send({ type: 'input_audio_buffer.commit' });
    await c.waitFor('input_audio_buffer.committed');
    c.appendAudio(silence(100, 24000), 960);
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitFor('input_audio_buffer.cleared');
    assert.ok(!c.types().includes('response.created'), 'no VAD, no automatic response');
    assert.equal(fake.realtime.sessions.at(-1)!.audioBytesReceived, 9600 + 4800);
  });

  it('an error fault sends an error event and fails the response; the session stays usable', async () => {
    const c = await open();
    fake.realtime.responses.push({ text: 'a b c d', fault: { kind: 'error', afterChunks: 2, code: 'server_error', message: 'boom' } });
    c.send({ type: 'response.create' });
    const error = await c.waitFor('error');
    assert.equal(error.error.message, 'boom');
    const done = await c.waitFor('response.done');
    assert.equal(done.response.status, 'failed');
    c.send({ type: 'response.create' });
    const second = await c.waitFor('response.done', c.events.indexOf(done) + 1);
    assert.equal(second.response.status, 'completed');
  });

  it('a script function that throws becomes a server_error event; the session lives on', async () => {
    const c = await open();
    fake.realtime.responses.push(() => {
      throw new Error('script bug');
    });
    c.send({ type: 'response.create' });
    const error = await c.waitFor('error');
    assert.match(error.error.message, /script bug/);
    c.send({ type: 'response.create' });
    assert.equal((await c.waitFor('response.done')).response.status, 'completed');
  });

  it('a drop fault kills the connection mid-response without a close frame', async () => {
    const c = await open();
    fake.realtime.responses.push({ text: 'a b c d', fault: { kind: 'drop', afterChunks: 1 } });
    c.send({ type: 'response.create' });
    assert.equal(await c.waitClosed(), 1006);
    assert.ok(!c.types().includes('response.done'));
  });

  it('a stall fault goes silent until the client cancels', async () => {
    const c = await open();
    fake.realtime.responses.push({ text: 'a b c d', fault: { kind: 'stall', afterChunks: 1 } });
    c.send({ type: 'response.create' });
    await c.waitFor('response.output_audio_transcript.delta');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(c.types().filter((t) => t.endsWith('.delta')).length, 1, 'nothing after the stall point');
    c.send({ type: 'response.cancel' });
    assert.equal((await c.waitFor('response.done')).response.status, 'cancelled');
  });

  it('answers malformed JSON and unknown events with error events', async () => {
    const c = await open();
    c.ws.send('{not json');
    assert.equal((await c.waitFor('error')).error.code, 'invalid_json');
    c.ws.send('null');
    await waitUntil(() => c.events.filter((e) => e.type === 'error').length === 2);
    const from = c.events.length;
    c.send({ type: 'no.such.event' } as never);
    assert.equal((await c.waitFor('error', from)).error.param, 'type');
  });
});
