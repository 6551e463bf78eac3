// The SDK's own Realtime helper (OpenAIRealtimeWS) against the fake served over wss with a throwaway
// certificate: the helper always dials wss://<baseURL host>/realtime.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import { startOpenAiFake, waitUntil, type OpenAiFake } from '../../src/fakes/index.ts';

describe('OpenAI Realtime fake with the SDK helper (wss)', () => {
  let fake: OpenAiFake;

  before(async () => {
    fake = await startOpenAiFake({ apiKey: 'sk-tls', tls: true });
  });
  after(() => fake.close());

  it('talks to OpenAIRealtimeWS: typed events, a response, and error events routed to its error handler', async () => {
    assert.match(fake.baseURL, /^https:\/\/127\.0\.0\.1:\d+\/v1$/);
    const client = new OpenAI({ apiKey: 'sk-tls', baseURL: fake.baseURL });
    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime', options: { ca: fake.ca } }, client);
    const events: RealtimeServerEvent[] = [];
    const errors: string[] = [];
    rt.on('event', (e) => events.push(e));
    rt.on('error', (e) => errors.push(e.error?.code ?? e.message));
    try {
      await waitUntil(() => events.some((e) => e.type === 'session.created'));
      fake.realtime.responses.push({ text: 'Secure hello.', audio: { ms: 200 } });
      rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'x' } });
      rt.send({ type: 'response.create' });
      const done = await waitUntil(() => events.find((e) => e.type === 'response.done'));
      assert.equal(done.type === 'response.done' && done.response.status, 'completed');
      assert.ok(events.some((e) => e.type === 'session.updated'));
      rt.send({ type: 'response.cancel' });
      await waitUntil(() => errors.length > 0);
      assert.deepEqual(errors, ['response_cancel_not_active']);
      assert.equal(fake.requests.at(-1)!.query.model, 'gpt-realtime');
    } finally {
      rt.close();
    }
  });
});
