// The OpenAI fake driven by the real openai 6.x SDK: chat (streamed + plain, tool calls), speech,
// transcription, and every failure mode surfacing as the SDK's own error classes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, AuthenticationError, InternalServerError, RateLimitError } from 'openai';
import { parseWav, startOpenAiFake, tone, waitUntil, wav, type OpenAiFake } from '../../src/fakes/index.ts';

describe('OpenAI fake over HTTP', () => {
  let fake: OpenAiFake;
  let client: OpenAI;

  before(async () => {
    fake = await startOpenAiFake({ apiKey: 'sk-test-key' });
    client = new OpenAI({ apiKey: 'sk-test-key', baseURL: fake.baseURL, maxRetries: 0, timeout: 5000 });
  });
  after(() => fake.close());

  it('streams text deltas and the SDK reassembles them', async () => {
    fake.chat.push({ text: 'Hello there, caller.' });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    assert.ok(deltas.length > 1, 'text arrives in several deltas');
    assert.equal(deltas.join(''), 'Hello there, caller.');
    assert.equal(finish, 'stop');
    assert.ok(usage, 'include_usage adds a usage chunk');
    const recorded = fake.requests.at(-1)!;
    assert.equal(recorded.path, '/v1/chat/completions');
    assert.equal(recorded.authorized, true);
    assert.equal(recorded.headers.authorization, undefined, 'credentials are never recorded');
    assert.deepEqual((recorded.body as { messages: unknown }).messages, [{ role: 'user', content: 'hi' }]);
  });

  it('streams tool-call fragments that the SDK stream helper assembles into calls', async () => {
    fake.chat.push({
      text: 'Let me check.',
      toolCalls: [
        { id: 'call_weather', name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } },
        { name: 'hangup', arguments: '{}' },
      ],
    });
    const runner = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
        { type: 'function', function: { name: 'hangup', parameters: { type: 'object', properties: {} } } },
      ],
    });
    const completion = await runner.finalChatCompletion();
    const choice = completion.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, 'Let me check.');
    const calls = choice.message.tool_calls!.map((c) => (c.type === 'function' ? [c.id, c.function.name, c.function.arguments] : []));
    assert.deepEqual(calls[0], ['call_weather', 'get_weather', '{"city":"Paris","unit":"celsius"}']);
    assert.equal(calls[1]![1], 'hangup');
    assert.equal(calls[1]![2], '{}');
  });

  it('answers non-streaming completions, by default echoing the caller', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices[0]!.message.content, 'You said: ping');
    fake.chat.push({ toolCalls: [{ name: 'transfer', arguments: { to: 'sales' } }] });
    const withTool = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    const call = withTool.choices[0]!.message.tool_calls![0]!;
    assert.equal(call.type === 'function' && call.function.arguments, '{"to":"sales"}');
  });

  it('scripts replies as functions of the request', async () => {
    fake.chat.push((req) => ({ text: `model=${req.model}` }));
    const c = await client.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'a' }] });
    assert.equal(c.choices[0]!.message.content, 'model=gpt-x');
  });

  it('rejects a wrong key with OpenAI\'s 401 body, as AuthenticationError', async () => {
    const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: fake.baseURL, maxRetries: 0 });
    await assert.rejects(wrong.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_api_key');
      assert.equal(err.type, 'invalid_request_error');
      assert.ok(!String(err.message).includes('sk-wrong'), 'the key is not echoed');
      return true;
    });
    assert.equal(fake.requests.at(-1)!.authorized, false);
  });

  it('answers 429 with retry-after; the SDK honours it and retries', async () => {
    fake.chat.push({ fault: { kind: 'status', status: 429, retryAfterMs: 50 } });
    await assert.rejects(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), (err: unknown) => {
      assert.ok(err instanceof RateLimitError);
      assert.equal(err.headers?.get('retry-after'), '1');
      assert.equal(err.headers?.get('retry-after-ms'), '50');
      return true;
    });
    const retrying = new OpenAI({ apiKey: 'sk-test-key', baseURL: fake.baseURL, maxRetries: 1 });
    fake.chat.push({ fault: { kind: 'status', status: 429, retryAfterMs: 20 } }, { text: 'after retry' });
    const before = fake.requests.length;
    const ok = await retrying.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(ok.choices[0]!.message.content, 'after retry');
    assert.equal(fake.requests.length - before, 2);
  });

  it('answers 500 as InternalServerError', async () => {
    fake.chat.push({ fault: { kind: 'status', status: 500 } });
    await assert.rejects(
      client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true }),
      InternalServerError,
    );
  });

  it('drops the connection mid-stream: the SDK iterator throws after the first deltas', async () => {
    fake.chat.push({ text: 'one two three four five', fault: { kind: 'drop', afterChunks: 2 } });
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true });
    const got: string[] = [];
    await assert.rejects(async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) got.push(chunk.choices[0].delta.content);
    });
    assert.deepEqual(got, ['one', ' two']);
  });

  it('stalls mid-stream with the connection open until the client gives up', async () => {
    fake.chat.push({ text: 'one two three', fault: { kind: 'stall', afterChunks: 1 } });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true },
      { signal: controller.signal },
    );
    const got: string[] = [];
    const consumer = (async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) got.push(chunk.choices[0].delta.content);
        if (got.length === 1) setTimeout(() => controller.abort(), 150);
      }
    })();
    await consumer; // the SDK ends the iteration quietly on abort
    assert.deepEqual(got, ['one'], 'nothing after the stall point');
    const record = fake.requests.at(-1)!;
    await waitUntil(() => record.clientAborted, 2000);
  });

  it('is slow before the first byte: a short SDK timeout fires', async () => {
    fake.chat.push({ text: 'late', pace: { firstByteMs: 400 } });
    const impatient = new OpenAI({ apiKey: 'sk-test-key', baseURL: fake.baseURL, maxRetries: 0, timeout: 100 });
    await assert.rejects(impatient.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), APIConnectionTimeoutError);
  });

  it('drops a non-streamed answer: APIConnectionError', async () => {
    fake.chat.push({ text: 'never', fault: { kind: 'drop' } });
    await assert.rejects(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), APIConnectionError);
  });

  it('streams speech as 24 kHz PCM, chunked, in the bytes the script gave', async () => {
    const audio = tone({ hz: 300, ms: 500, rate: 24000 });
    fake.speech.push({ audio: { pcm: audio, rate: 24000 }, chunkMs: 100, pace: { betweenChunksMs: 15 } });
    const response = await client.audio.speech.create({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hello', response_format: 'pcm' });
    assert.equal(response.headers.get('content-type'), 'audio/pcm');
    const reader = response.body!.getReader();
    const parts: Uint8Array[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    assert.ok(parts.length >= 2, 'the body is streamed in several chunks');
    assert.deepEqual(Buffer.concat(parts), audio);
    assert.equal((fake.requests.at(-1)!.body as { input: string }).input, 'Hello');
  });

  it('streams speech as a WAV whose header declares 24 kHz mono PCM16', async () => {
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi there', response_format: 'wav' });
    const parsed = parseWav(Buffer.from(await response.arrayBuffer()));
    assert.equal(parsed.rate, 24000);
    assert.equal(parsed.encoding, 'linear16');
    // Default audio: a tone of ~40 ms per character: 8 characters → 320 ms → 7680 samples.
    assert.equal(parsed.data.length, 7680 * 2);
  });

  it('refuses speech formats it cannot encode with a 400', async () => {
    await assert.rejects(client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'x', response_format: 'mp3' }), OpenAI.BadRequestError);
  });

  it('drops a speech stream mid-body: reading it fails', async () => {
    fake.speech.push({ audio: { ms: 1000 }, fault: { kind: 'drop', afterChunks: 2 } });
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'x', response_format: 'pcm' });
    await assert.rejects(response.arrayBuffer());
  });

  it('transcribes a multipart upload and records the form fields', async () => {
    fake.transcription.push((req) => ({ text: `got ${req.file.bytes.length} bytes of ${req.file.filename}` }));
    const file = wav(tone({ ms: 200, rate: 8000 }), 8000);
    const result = await client.audio.transcriptions.create({
      model: 'gpt-4o-mini-transcribe',
      file: new File([file], 'turn.wav', { type: 'audio/wav' }),
      language: 'en',
    });
    assert.equal(result.text, `got ${file.length} bytes of turn.wav`);
    const body = fake.requests.at(-1)!.body as Record<string, unknown>;
    assert.equal(body.model, 'gpt-4o-mini-transcribe');
    assert.equal(body.language, 'en');
    assert.deepEqual(body.file, { filename: 'turn.wav', contentType: 'audio/wav', bytes: file.length });
  });

  it('streams a transcription as transcript.text.delta / done events', async () => {
    fake.transcription.push({ text: 'book a table' });
    const stream = await client.audio.transcriptions.create({
      model: 'gpt-4o-mini-transcribe',
      file: new File([wav(tone({ ms: 100, rate: 8000 }), 8000)], 'a.wav'),
      stream: true,
    });
    const types: string[] = [];
    let done = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'transcript.text.done') done = event.text;
    }
    assert.equal(done, 'book a table');
    assert.deepEqual(types, ['transcript.text.delta', 'transcript.text.delta', 'transcript.text.delta', 'transcript.text.done']);
  });

  it('returns plain text for response_format=text', async () => {
    fake.transcription.push({ text: 'plain words' });
    const text = await client.audio.transcriptions.create({
      model: 'whisper-1',
      file: new File([wav(tone({ ms: 100, rate: 8000 }), 8000)], 'a.wav'),
      response_format: 'text',
    });
    assert.equal(String(text).trim(), 'plain words');
  });
});
