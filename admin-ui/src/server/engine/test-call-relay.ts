// The admin UI's half of a browser test call: opens the engine's /test-calls WebSocket (signed as admin-ui like
// every engine request) and relays the page's socket to it and back, message for message. The engine speaks the
// call's protocol; this side only bounds what passes (sizes, a page that stops reading) and ties both ends'
// lifetimes together.
import { signRequest } from '@ai-agent/common';
import { WebSocket, type RawData } from 'ws';
import type { FastifyBaseLogger } from 'fastify';
import { SERVICE_ID, type AdminSettings } from '../settings.ts';

const CONNECT_TIMEOUT_MS = 5000;
/** Largest message the engine sends (20 ms of audio, transcript turns); anything bigger is not the engine's. */
const MAX_ENGINE_MESSAGE_BYTES = 256 * 1024;
/** Audio queued towards a page that stopped reading (about 10 s); beyond it audio frames are dropped. */
const MAX_PAGE_BACKLOG_BYTES = 320 * 1024;
/** Text the page may send: chan_websocket events such as MEDIA_MARK_PROCESSED and DTMF_END are tiny. */
const MAX_PAGE_TEXT_BYTES = 1024;

/** The engine answered the upgrade with an HTTP status instead (401, 400 unknown context, 503). */
export class EngineCallRefused extends Error {
  constructor(readonly status: number) {
    super(`engine refused the test call: HTTP ${status}`);
  }
}

/**
 * Connects to the engine's test-call socket. Resolves once the engine accepted (it has started the call), with
 * its messages held (paused) until the page's socket is relayed to it.
 */
export function openEngineCall(settings: AdminSettings, request: { context: string; by: string }): Promise<WebSocket> {
  const url = new URL('/test-calls', settings.engineUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = new URLSearchParams(request).toString();
  const path = url.pathname + url.search;
  const headers = settings.signingSecret ? signRequest(SERVICE_ID, settings.signingSecret, { method: 'GET', path }) : {};
  const ws = new WebSocket(url, { headers, handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: MAX_ENGINE_MESSAGE_BYTES, perMessageDeflate: false, followRedirects: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.pause();
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      reject(new EngineCallRefused(res.statusCode ?? 0));
    });
    ws.once('error', reject);
  });
}

const asBuffer = (data: RawData): Buffer => (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));

/**
 * Relays one call. Either side closing closes the other (the page hanging up ends the call; the engine ending
 * the call closes the page's socket). A cookie session's socket ends with its access token, like the event
 * stream: a revoked or expired session does not keep a call.
 */
export function relayCall(page: WebSocket, engine: WebSocket, opts: { expiresAt?: number; log: FastifyBaseLogger }): void {
  let droppedFrames = 0;
  const closeBoth = (code: number, reason: string): void => {
    clearTimeout(expiry);
    for (const ws of [page, engine]) if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
    if (droppedFrames > 0) opts.log.warn({ droppedFrames }, 'test call: the page was not reading; agent audio dropped');
  };
  const expiry = opts.expiresAt === undefined ? undefined : setTimeout(() => closeBoth(4401, 'session expired'), Math.max(0, opts.expiresAt * 1000 - Date.now()));

  page.on('message', (data, isBinary) => {
    if (engine.readyState !== WebSocket.OPEN) return;
    const buf = asBuffer(data);
    if (!isBinary && buf.length > MAX_PAGE_TEXT_BYTES) return closeBoth(1009, 'message too big');
    engine.send(buf, { binary: isBinary });
  });
  engine.on('message', (data, isBinary) => {
    if (page.readyState !== WebSocket.OPEN) return;
    // Audio to a page that stopped reading is dropped rather than queued without end; text (transcript, commands) always passes.
    if (isBinary && page.bufferedAmount > MAX_PAGE_BACKLOG_BYTES) {
      droppedFrames++;
      return;
    }
    page.send(asBuffer(data), { binary: isBinary });
  });
  // Close codes from the other side are passed on when they are ones an application may send.
  const passOn = (code: number): number => (code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000);
  page.on('close', (code) => closeBoth(passOn(code), 'caller hung up'));
  engine.on('close', (code) => closeBoth(passOn(code), 'call ended'));
  page.on('error', () => closeBoth(1011, 'page socket error'));
  engine.on('error', () => closeBoth(1011, 'engine socket error'));
  engine.resume();
}
