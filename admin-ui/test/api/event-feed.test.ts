// Live events from an engine stand-in that speaks the control API's JSON (GET /calls, /health, /ready,
// /metrics) and, like the engine, accepts only requests signed as admin-ui. What is checked is the admin UI's
// side: one shared poll, only changes pushed, history not replayed, an ended call reported once.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { RequestVerifier } from '@ai-agent/common';
import { adminSession, startAdmin, type AdminProcess } from './admin-process.ts';
import { readEvents, type Client, type SseEvent } from './http-client.ts';

const SECRET = 'feed-test-signing-secret-0123456789abcdef';

interface EngineState {
  ready: boolean;
  active: Array<Record<string, unknown>>;
  recent: Array<Record<string, unknown>>;
}

describe('GET /api/events: the engine feed', () => {
  let engine: Server;
  let admin: AdminProcess;
  let session: Client;
  const state: EngineState = {
    ready: false,
    active: [],
    recent: [{ id: 'old-1', context: 'default', startedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T00:01:00Z', outcome: 'caller_hangup', turnCount: 3 }],
  };
  let callPolls = 0;
  let unsigned = 0;

  before(async () => {
    const verifier = new RequestVerifier({ callers: new Map([['admin-ui', SECRET]]) });
    engine = createServer((req: IncomingMessage, res) => {
      const verdict = verifier.verify(req.headers, { method: req.method ?? 'GET', path: req.url ?? '/', body: '' });
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (!verdict.ok) {
        unsigned++;
        return json(401, { error: 'unauthorized' });
      }
      const path = req.url!.split('?')[0];
      if (path === '/health') return json(200, { status: state.ready ? 'ok' : 'degraded', version: 'feed', uptime_s: Math.round(process.uptime()) });
      if (path === '/ready') return state.ready ? json(200, { ready: true }) : json(503, { ready: false, waiting: ['ari'] });
      if (path === '/calls') {
        callPolls++;
        return json(200, { active: state.active, recent: state.recent });
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        return res.end(`# TYPE ai_agent_active_calls gauge\nai_agent_active_calls{context="default"} ${state.active.length}\n`);
      }
      json(404, { error: 'not found' });
    });
    engine.listen(0, '127.0.0.1');
    await once(engine, 'listening');
    const { port } = engine.address() as { port: number };
    admin = await startAdmin({ ADMIN_ENGINE_URL: `http://127.0.0.1:${port}`, SERVICE_SECRET_ADMIN_UI: SECRET, ADMIN_EVENTS_POLL_MS: '100' });
    session = await adminSession(admin);
  });
  after(async () => {
    await admin?.stop();
    engine?.close();
  });

  it('pushes a call as it starts, gains a turn and ends; the history is not replayed; readiness changes push a status', async () => {
    const script: Array<[(events: SseEvent[]) => boolean, () => void]> = [
      [(e) => e.some((x) => x.event === 'status'), () => {
        state.active = [{ id: 'c1', context: 'default', state: 'answered', startedAt: '2026-12-06T03:00:00Z' }];
        state.recent = [{ id: 'c1', context: 'default', startedAt: '2026-12-06T03:00:00Z', turnCount: 0 }, ...state.recent];
      }],
      [(e) => e.some((x) => x.event === 'call'), () => { state.recent[0] = { ...state.recent[0], turnCount: 1 }; }],
      [(e) => e.filter((x) => x.event === 'call').length === 2, () => {
        state.active = [];
        state.recent[0] = { ...state.recent[0], endedAt: '2026-12-06T03:00:09Z', outcome: 'caller_hangup' };
        state.ready = true;
      }],
    ];
    let step = 0;
    const { events } = await readEvents(session, '/api/events', (seen) => {
      while (step < script.length && script[step]![0](seen)) script[step++]![1]();
      return step === script.length && seen.filter((x) => x.event === 'call').length >= 3 && seen.filter((x) => x.event === 'status').length >= 2;
    }, 8000);
    const calls = events.filter((e) => e.event === 'call').map((e) => e.data as Record<string, unknown>);
    assert.deepEqual(calls.map((c) => [c.id, c.live, c.turnCount, c.outcome ?? null]), [
      ['c1', true, 0, null],
      ['c1', true, 1, null],
      ['c1', false, 1, 'caller_hangup'],
    ]);
    assert.equal(calls[0]!.state, 'answered');
    const statuses = events.filter((e) => e.event === 'status').map((e) => (e.data as { ready: { status: string } }).ready.status);
    assert.deepEqual(statuses, ['not_ready', 'ready']);
    assert.equal(unsigned, 0, 'every poll was signed');
  });

  it('one poll serves every listener', async () => {
    const listen = () => readEvents(session, '/api/events', () => false, 1500);
    const before = callPolls;
    await Promise.all([listen(), listen(), listen()]);
    const polls = callPolls - before;
    // 1.5 s at 100 ms is ~15 polls for one timer; three timers would make ~45.
    assert.ok(polls >= 8 && polls <= 20, `${polls} polls`);
    const idle = callPolls;
    await new Promise((r) => setTimeout(r, 400));
    assert.ok(callPolls - idle <= 1, 'no listener, no polling');
  });
});
