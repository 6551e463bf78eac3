// The live feed (/api/events, server-sent events): one connection for the whole page, shared by every view
// that subscribes. The server ends the stream when the access token expires; the page refreshes the session
// and reconnects.
import { useEffect, useRef } from 'react';
import { refreshSession } from './api.ts';

export type FeedType = 'call' | 'status' | 'metrics';
type Handler = (data: unknown) => void;

const handlers: Record<FeedType, Set<Handler>> = { call: new Set(), status: new Set(), metrics: new Set() };
let source: EventSource | null = null;
let retry: number | undefined;
let wanted = false;

function connect(): void {
  source = new EventSource('/api/events');
  for (const type of Object.keys(handlers) as FeedType[]) {
    source.addEventListener(type, (event) => {
      let data: unknown;
      try {
        data = JSON.parse((event as MessageEvent<string>).data);
      } catch {
        return;
      }
      for (const handler of handlers[type]) handler(data);
    });
  }
  source.onerror = () => {
    // EventSource retries by itself unless the answer was not a stream (a 401 after the token expired).
    if (source?.readyState !== EventSource.CLOSED) return;
    source = null;
    retry = window.setTimeout(() => {
      void refreshSession().then(() => {
        if (wanted && !source) connect();
      });
    }, 2000);
  };
}

export function startFeed(): void {
  wanted = true;
  if (!source) connect();
}

export function stopFeed(): void {
  wanted = false;
  window.clearTimeout(retry);
  source?.close();
  source = null;
}

/** Calls `handler` with each event of `type` while the component is mounted. */
export function useFeed<T>(type: FeedType, handler: (data: T) => void): void {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    const relay: Handler = (data) => latest.current(data as T);
    handlers[type].add(relay);
    return () => {
      handlers[type].delete(relay);
    };
  }, [type]);
}
