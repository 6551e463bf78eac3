// One call: live while it lasts (state, transcript growing as turns arrive over SSE, a hangup button with
// calls:write), and afterwards its record: outcome, transcript, events and the per-turn latency waterfall.
import { useState, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { Transcript } from '../components/transcript.tsx';
import { Waterfall } from '../components/waterfall.tsx';
import { useFeed } from '../events.ts';
import { since, time } from '../format.ts';
import type { CallDetail, CallUpdate } from '../types.ts';
import { useLoad } from '../use-load.ts';

export function CallPage(props: { id: string; canHangUp: boolean }): ReactNode {
  const detail = useLoad<CallDetail>(`/api/calls/${encodeURIComponent(props.id)}`);
  const [hangup, setHangup] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  useFeed<CallUpdate>('call', (update) => {
    if (update.id === props.id) detail.reload();
  });

  if (detail.status === 404) return <main className="page"><h1>Call</h1><Notice kind="error">No such call.</Notice></main>;
  const { active, record } = detail.data ?? { active: null, record: null };
  const info = active ?? record;

  const hangUp = async (): Promise<void> => {
    if (!window.confirm('Hang up this call now?')) return;
    try {
      await api('POST', `/api/calls/${encodeURIComponent(props.id)}/hangup`);
      setHangup({ kind: 'ok', text: 'Hanging up: the call ends after what is playing.' });
    } catch (err) {
      setHangup({ kind: 'error', text: `Hangup failed: ${problemText(err)}` });
    }
  };

  return (
    <main className="page">
      <h1>
        Call {info ? <span className="muted">{info.callerName || info.callerNumber || props.id}</span> : null}
        {active && <span className="badge badge-live" data-testid="call-live">live · {active.state}</span>}
      </h1>
      {detail.error && <Notice kind="error">{detail.error}</Notice>}
      {info && (
        <section className="card">
          <dl className="facts">
            <dt>Id</dt><dd><code>{props.id}</code></dd>
            <dt>Context</dt><dd>{info.context}</dd>
            <dt>Transport</dt><dd>{info.transport} / {info.codec}</dd>
            <dt>Started</dt><dd>{time(info.startedAt)}</dd>
            <dt>Duration</dt><dd>{since(info.answeredAt ?? info.startedAt, record?.endedAt)}</dd>
            {record?.outcome && <><dt>Outcome</dt><dd>{record.outcome}{record.hangupCause ? ` (${record.hangupCause})` : ''}</dd></>}
          </dl>
          {active && props.canHangUp && <button className="danger" onClick={() => void hangUp()}>Hang up</button>}
          {hangup && <Notice kind={hangup.kind}>{hangup.text}</Notice>}
        </section>
      )}
      <section className="card">
        <h2>Transcript</h2>
        {record ? <Transcript turns={record.turns} events={record.events} /> : <p className="muted">{detail.loading ? 'Loading…' : 'No record yet.'}</p>}
      </section>
      {record && (
        <section className="card">
          <h2>Latency per turn</h2>
          <Waterfall turns={record.turns} />
        </section>
      )}
    </main>
  );
}
