// The post-call outbox over real files and sockets: a receiver that is down (connections refused), then failing
// (503), then up gets every event exactly once, in order, each with a valid signature; a dispatcher stopped
// with events queued leaves them on disk and the next one delivers them; an event past its retry period is
// given up into failed/.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLogger, EgressAllowlist, RequestVerifier } from '@ai-agent/common';
import { freePort } from '@ai-agent/common/testing';
import { EgressClient } from '../../src/egress/egress-client.ts';
import { EgressGuard } from '../../src/egress/egress-guard.ts';
import { HostResolver } from '../../src/egress/host-resolver.ts';
import { Outbox } from '../../src/webhooks/outbox.ts';
import { OutboxDispatcher } from '../../src/webhooks/outbox-dispatcher.ts';
import { WEBHOOK_SERVICE, WebhookSender } from '../../src/webhooks/webhook-sender.ts';

const SECRET = 'webhook-signing-secret-0123456789abcdef';
const log = createLogger({ service: 'outbox-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const root = mkdtempSync(join(tmpdir(), 'outbox-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Received {
  id: string;
  body: string;
  valid: boolean;
}

/** A webhook receiver that verifies signatures the way the product's services do; `status` answers every request. */
async function startReceiver(port: number, status: () => number) {
  const verifier = new RequestVerifier({ callers: new Map([[WEBHOOK_SERVICE, SECRET]]) });
  const received: Received[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      requests++;
      const code = status();
      if (code === 200) {
        const check = verifier.verify(req.headers, { method: req.method!, path: req.url!, body });
        received.push({ id: String(req.headers['x-ai-event-id']), body, valid: check.ok });
      }
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    received,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function dispatcher(outbox: Outbox, overrides: { giveUpAfterMs?: number } = {}): OutboxDispatcher {
  const client = new EgressClient(new EgressGuard(new EgressAllowlist([{ cidr: '127.0.0.1/32', http: true }]), new HostResolver([])), 0);
  return new OutboxDispatcher({
    outbox,
    sender: new WebhookSender(client, SECRET),
    timeoutMs: 1000,
    retryInitialMs: 50,
    retryMaxMs: 200,
    giveUpAfterMs: overrides.giveUpAfterMs ?? 60_000,
    log,
  });
}

const events = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.json'));

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('webhook outbox', () => {
  test('a receiver down, then failing, then up gets every event once, in order, signed', async () => {
    const dir = join(root, 'outage');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hooks/call-ended?v=1`;
    const outbox = new Outbox(dir, 100);
    await outbox.open();
    const d = dispatcher(outbox);
    d.start();
    const ids = ['e1', 'e2', 'e3', 'e4', 'e5'];
    for (const id of ids) {
      assert.equal(await outbox.add({ id, url, body: JSON.stringify({ type: 'call.ended', id }) }), true);
      d.notify();
    }
    // Down: connections refused. The head event is retried with backoff; the others wait behind it.
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(events(dir).length, 5, 'an event left the outbox while the receiver was down');
    // Up but failing, then healthy.
    let failing = 3;
    const receiver = await startReceiver(port, () => (failing-- > 0 ? 503 : 200));
    try {
      await until(() => d.delivered === 5, 10_000);
      assert.equal(events(dir).length, 0);
      assert.deepEqual(receiver.received.map((r) => r.id), ids, 'each event once, in order');
      assert.ok(receiver.received.every((r) => r.valid), 'a signature did not verify');
      assert.deepEqual(receiver.received.map((r) => JSON.parse(r.body).id), ids);
      assert.equal(receiver.requests(), 5 + 3, 'the 503 answers were retried, nothing else twice');
      assert.equal(d.delivered, 5);
    } finally {
      await d.close();
      await receiver.close();
    }
  });

  test('events queued when the dispatcher stops are delivered by the next one (a restart)', async () => {
    const dir = join(root, 'restart');
    const port = await freePort();
    const first = new Outbox(dir, 100);
    await first.open();
    const d1 = dispatcher(first);
    d1.start();
    for (const id of ['r1', 'r2', 'r3']) await first.add({ id, url: `http://127.0.0.1:${port}/hook`, body: `{"id":"${id}"}` });
    d1.notify();
    await new Promise((r) => setTimeout(r, 200));
    await d1.close();
    assert.equal(events(dir).length, 3, 'the events are on disk');
    // What a crash mid-write leaves: a temporary file; and a file that is not an event.
    writeFileSync(join(dir, '.000000000000001-000000-x.json.abc.tmp'), '{"half');
    writeFileSync(join(dir, '000000000000002-000000-bad.json'), 'not json');

    const receiver = await startReceiver(port, () => 200);
    const second = new Outbox(dir, 100);
    const loaded = await second.open();
    assert.deepEqual(loaded, { pending: 3, unreadable: 1 });
    const d2 = dispatcher(second);
    d2.start();
    try {
      await until(() => d2.delivered === 3, 10_000);
      assert.deepEqual(receiver.received.map((r) => r.id), ['r1', 'r2', 'r3']);
      assert.ok(receiver.received.every((r) => r.valid));
      assert.deepEqual(readdirSync(dir).sort(), ['failed']);
      assert.deepEqual(readdirSync(join(dir, 'failed')), ['000000000000002-000000-bad.json']);
    } finally {
      await d2.close();
      await receiver.close();
    }
  });

  test('an event undelivered past its retry period is given up into failed/, and the next goes on', async () => {
    const dir = join(root, 'give-up');
    const port = await freePort();
    const outbox = new Outbox(dir, 100);
    await outbox.open();
    await outbox.add({ id: 'old', url: `http://127.0.0.1:${port}/hook`, body: '{}' }, Date.now() - 10_000);
    await outbox.add({ id: 'new', url: `http://127.0.0.1:${port}/hook`, body: '{}' });
    const receiver = await startReceiver(port, () => 200);
    const d = dispatcher(outbox, { giveUpAfterMs: 5000 });
    d.start();
    try {
      await until(() => d.delivered === 1, 5000);
      assert.deepEqual(receiver.received.map((r) => r.id), ['new']);
      assert.equal(readdirSync(join(dir, 'failed')).length, 1);
      assert.match(readdirSync(join(dir, 'failed'))[0]!, /-old\.json$/);
    } finally {
      await d.close();
      await receiver.close();
    }
  });

  test('a full outbox refuses new events instead of growing', async () => {
    const outbox = new Outbox(join(root, 'full'), 10);
    await outbox.open();
    for (let i = 0; i < 10; i++) assert.equal(await outbox.add({ id: `f${i}`, url: 'http://127.0.0.1:9/x', body: '{}' }), true);
    assert.equal(await outbox.add({ id: 'f10', url: 'http://127.0.0.1:9/x', body: '{}' }), false);
    assert.equal(events(join(root, 'full')).length, 10);
  });
});
