// Test call: talk to a context from the browser through the engine's real conversation, tools and providers,
// with the live transcript, per-turn latency and what the page measured of the agent's audio (barge-in included).
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { refreshSession } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { Transcript } from '../components/transcript.tsx';
import { Waterfall } from '../components/waterfall.tsx';
import { Link } from '../router.tsx';
import { Softphone, type SoftphoneEvent, type SoftphoneStats } from '../test-call/softphone.ts';
import type { CallEvent, Turn } from '../types.ts';
import { useLoad } from '../use-load.ts';

type Status = 'idle' | 'connecting' | 'connected' | 'ended';
const KEYPAD = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

function isCallEvent(event: CallEvent | { kind: string; at: string }): event is CallEvent {
  return event.kind === 'barge_in';
}

export function TestCallPage(): ReactNode {
  const contexts = useLoad<{ contexts: string[] }>('/api/test-call/contexts');
  const [context, setContext] = useState('');
  const [status, setStatus] = useState<Status>('idle');
  const [detail, setDetail] = useState<string | null>(null);
  const [state, setState] = useState('');
  const [callId, setCallId] = useState<string | null>(null);
  const [turns, setTurns] = useState<Turn[]>([]);
  const [events, setEvents] = useState<CallEvent[]>([]);
  const [stats, setStats] = useState<SoftphoneStats | null>(null);
  const phone = useRef<Softphone | null>(null);

  useEffect(() => () => phone.current?.hangup(), []);
  const names = contexts.data?.contexts ?? [];
  const chosen = context || (names.includes('default') ? 'default' : names[0] ?? '');

  const onEvent = (event: SoftphoneEvent): void => {
    switch (event.type) {
      case 'status':
        setStatus(event.status);
        if (event.detail) setDetail(event.detail);
        return;
      case 'state':
        return setState(event.state);
      case 'call':
        return setCallId(event.id);
      case 'turn':
        return setTurns((t) => [...t, event.turn]);
      case 'event':
        if (isCallEvent(event.event)) setEvents((e) => [...e, event.event as CallEvent]);
        return;
      case 'stats':
        return setStats(event.stats);
    }
  };

  const start = async (): Promise<void> => {
    setTurns([]);
    setEvents([]);
    setDetail(null);
    setState('');
    setCallId(null);
    setStats(null);
    // A fresh access token: the call's socket ends with the token it was opened with.
    await refreshSession();
    const p = new Softphone(onEvent);
    phone.current = p;
    try {
      await p.start(chosen);
    } catch (err) {
      p.hangup();
      setDetail(err instanceof DOMException && err.name === 'NotAllowedError' ? 'The browser refused the microphone.' : `Could not start: ${(err as Error).message}`);
    }
  };

  const live = status === 'connecting' || status === 'connected';
  return (
    <main className="page">
      <h1>
        Test call
        {live && <span className="badge badge-live" data-testid="test-call-state">{status === 'connected' ? state || 'connected' : 'connecting'}</span>}
      </h1>
      <section className="card">
        <p className="muted">
          Talk to a context from this browser: the call runs through the engine's real conversation, tools and providers, and is
          recorded as a test call (transport <code>browser</code>). Use headphones, or rely on the browser's echo cancellation.
        </p>
        {contexts.error && <Notice kind="error">{contexts.error}</Notice>}
        <form className="inline" onSubmit={(e) => { e.preventDefault(); void start(); }}>
          <label>
            Context
            <select value={chosen} onChange={(e) => setContext(e.target.value)} disabled={live}>
              {names.map((n) => <option key={n} value={n}>{n}</option>)}
            </select>
          </label>
          {!live && <button type="submit" disabled={!chosen}>Start call</button>}
          {live && <button type="button" className="danger" onClick={() => phone.current?.hangup()}>Hang up</button>}
        </form>
        {live && (
          <div className="keypad" aria-label="keypad">
            {KEYPAD.map((d) => <button key={d} type="button" onClick={() => phone.current?.dtmf(d)}>{d}</button>)}
          </div>
        )}
        {detail && <Notice kind={status === 'ended' && detail.startsWith('the call ended') ? 'info' : 'error'} testId="test-call-detail">{detail}</Notice>}
        {callId && status === 'ended' && <p>Record: <Link to={`/calls/${encodeURIComponent(callId)}`}>{callId}</Link></p>}
      </section>
      {stats && (
        <section className="card" data-testid="test-call-audio"
          data-agent-received-ms={Math.round(stats.agentReceivedMs)} data-agent-played-ms={stats.agentPlayedMs}
          data-frames-sent={stats.framesSent} data-flushes={stats.flushes} data-dropped-ms={Math.round(stats.droppedMs)}
          data-flush-cut-speech={String(stats.lastFlushCutSpeech)} data-level-after-flush={stats.levelAfterFlush ?? ''}>
          <h2>Audio</h2>
          <dl className="facts">
            <dt>Microphone</dt><dd><meter min={0} max={4000} value={stats.inputLevel} /> {stats.framesSent} frames sent</dd>
            <dt>Agent</dt><dd><meter min={0} max={0.3} value={stats.outputLevel} /> {(stats.agentPlayedMs / 1000).toFixed(1)} s heard here ({(stats.agentReceivedMs / 1000).toFixed(1)} s received){stats.playing ? ' · playing' : ''}</dd>
            <dt>Barge-in</dt><dd>{stats.flushes} × the agent was stopped; {Math.round(stats.droppedMs)} ms of queued audio dropped in this page</dd>
          </dl>
        </section>
      )}
      <section className="card" data-testid="test-call-transcript">
        <h2>Transcript</h2>
        {turns.length || events.length ? <Transcript turns={turns} events={events} /> : <p className="muted">{live ? 'Listening…' : 'Nothing said yet.'}</p>}
      </section>
      {turns.some((t) => t.latency) && (
        <section className="card">
          <h2>Latency per turn</h2>
          <Waterfall turns={turns} />
        </section>
      )}
    </main>
  );
}
