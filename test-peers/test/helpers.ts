import { createSocket, type Socket } from 'node:dgram';
import { WebSocket } from 'ws';
import type { AsteriskPeer } from '../src/index.ts';

export function auth(peer: AsteriskPeer): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${peer.username}:${peer.password}`).toString('base64')}` };
}

export async function ari(peer: AsteriskPeer, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${peer.url}/ari${path}`, {
    method,
    headers: { ...auth(peer), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** A raw events WebSocket that records every event in order. */
export class EventLog {
  readonly events: any[] = [];
  private waiters: Array<{ pred: (e: any) => boolean; resolve: (e: any) => void }> = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const e = JSON.parse(data.toString());
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
    });
  }

  static async open(peer: AsteriskPeer, app = 'ai-agent'): Promise<EventLog> {
    const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/ari/events?app=${app}&api_key=${peer.username}:${peer.password}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await peer.waitForApp(app, 2000);
    return new EventLog(ws);
  }

  next(pred: (e: any) => boolean, timeoutMs = 5000): Promise<any> {
    const found = this.events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('event not received in time')), timeoutMs);
      this.waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
    });
  }

  types(filter?: (e: any) => boolean): string[] {
    return this.events.filter(filter ?? (() => true)).map((e) => e.type);
  }

  close(): void {
    this.ws.close();
  }
}

export async function udpSocket(): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { socket, port: socket.address().port };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Does what an engine does for a new caller: answer, bridge, ExternalMedia, wait for it in Stasis, add both. */
export async function bridgeWithExternalMedia(
  peer: AsteriskPeer, events: EventLog, callerId: string, query: string,
): Promise<{ bridgeId: string; channel: any }> {
  await events.next((e) => e.type === 'StasisStart' && e.channel.id === callerId);
  await ari(peer, 'POST', `/channels/${callerId}/answer`);
  const bridge = await ari(peer, 'POST', '/bridges?type=mixing');
  const em = await ari(peer, 'POST', `/channels/externalMedia?app=ai-agent&${query}`);
  if (em.status !== 200) throw new Error(`externalMedia ${em.status} ${JSON.stringify(em.json)}`);
  // The media channel can only be bridged once it has entered the app (422 before).
  await events.next((e) => e.type === 'StasisStart' && e.channel.id === em.json.id);
  const add = await ari(peer, 'POST', `/bridges/${bridge.json.id}/addChannel?channel=${callerId},${em.json.id}`);
  if (add.status !== 204) throw new Error(`addChannel ${add.status}`);
  return { bridgeId: bridge.json.id, channel: em.json };
}

/** Number of 20 ms frames in a recording whose RMS is audible. */
export function audibleFrames(samples: Int16Array, threshold = 200): number {
  let n = 0;
  for (let i = 0; i + 160 <= samples.length; i += 160) {
    let sum = 0;
    for (let j = i; j < i + 160; j++) sum += samples[j] * samples[j];
    if (Math.sqrt(sum / 160) >= threshold) n++;
  }
  return n;
}
