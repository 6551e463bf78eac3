// The operator's first view: is the engine up and ready, which calls are live (pushed over SSE), and the key
// figures with their recent history.
import { useEffect, useState, type ReactNode } from 'react';
import { Notice } from '../components/notice.tsx';
import { Sparkline } from '../components/sparkline.tsx';
import { useFeed } from '../events.ts';
import { number, since } from '../format.ts';
import { Link } from '../router.tsx';
import type { ActiveCall, CallList, CallUpdate, EngineStatus, Metrics } from '../types.ts';
import { useLoad } from '../use-load.ts';

/** About five minutes of the engine's ~5 s metric events. */
const HISTORY = 60;

const FIGURES: Array<{ key: string; label: string; unit?: string; digits?: number; scale?: number }> = [
  { key: 'activeCalls', label: 'Active calls' },
  { key: 'callsTotal', label: 'Calls since start' },
  { key: 'meanTurnLatencyMs', label: 'Mean turn latency', unit: 'ms' },
  { key: 'bargeInsTotal', label: 'Barge-ins' },
  { key: 'toolCallsTotal', label: 'Tool calls' },
  { key: 'providerErrorsTotal', label: 'Provider errors' },
  { key: 'eventLoopLagSeconds', label: 'Event-loop lag', unit: 'ms', scale: 1000, digits: 1 },
];

function EngineCard(props: { status: EngineStatus | undefined; error: string | null }): ReactNode {
  const { status } = props;
  if (!status) return <section className="card"><h2>Engine</h2>{props.error ? <Notice kind="error">{props.error}</Notice> : <p className="muted">Loading…</p>}</section>;
  const ready = status.ready.status;
  const waiting = Object.entries(status.ready.checks).filter(([, ok]) => !ok).map(([name]) => name);
  return (
    <section className="card" data-testid="engine-card">
      <h2>Engine</h2>
      <p>
        <span className={`badge badge-${ready}`} data-testid="engine-ready">{ready === 'ready' ? 'ready' : ready === 'not_ready' ? 'not ready' : 'unreachable'}</span>
        {status.health?.status && <span className={`badge badge-${status.health.status}`}>{status.health.status}</span>}
      </p>
      {status.health && (
        <dl className="facts">
          <dt>Version</dt><dd>{status.health.version ?? '—'}</dd>
          <dt>Up for</dt><dd>{status.health.uptime_s === undefined ? '—' : since(new Date(Date.now() - status.health.uptime_s * 1000).toISOString())}</dd>
        </dl>
      )}
      {waiting.length > 0 && <p>Waiting for: {waiting.join(', ')}</p>}
      {ready === 'unreachable' && <p className="muted">The admin UI cannot reach the engine's control API. The other pages still work.</p>}
    </section>
  );
}

export function DashboardPage(): ReactNode {
  const status = useLoad<EngineStatus>('/api/engine/status');
  const calls = useLoad<CallList>('/api/calls?limit=10');
  const [engine, setEngine] = useState<EngineStatus>();
  const [active, setActive] = useState<Map<string, ActiveCall>>(new Map());
  const [metrics, setMetrics] = useState<Metrics[]>([]);

  useEffect(() => setEngine(status.data), [status.data]);
  useEffect(() => {
    if (calls.data) setActive(new Map(calls.data.active.map((c) => [c.id, c])));
  }, [calls.data]);
  useFeed<EngineStatus>('status', (next) => {
    setEngine(next);
    // The engine came (back) up: what failed to load while it was away loads now.
    if (next.ready.status !== 'unreachable' && calls.error) calls.reload();
  });
  useFeed<Metrics>('metrics', (m) => setMetrics((list) => [...list.slice(-(HISTORY - 1)), m]));
  useFeed<CallUpdate>('call', (update) => {
    setActive((map) => {
      const next = new Map(map);
      if (update.live) next.set(update.id, { ...next.get(update.id), ...update } as ActiveCall);
      else next.delete(update.id);
      return next;
    });
    if (!update.live) calls.reload();
  });

  const latest = metrics.at(-1);
  const live = [...active.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return (
    <main className="page">
      <h1>Dashboard</h1>
      {engine?.health?.demo && (
        <Notice kind="info" testId="demo-banner">
          Demo mode: no Asterisk is configured, so calls come from the built-in test Asterisk. Place one with{' '}
          <code>npm run call</code>. Set <code>ARI_PASSWORD</code> (and <code>ARI_URL</code>) to use your own Asterisk.
        </Notice>
      )}
      <div className="grid">
        <EngineCard status={engine} error={status.error} />
        <section className="card span-2" data-testid="active-calls">
          <h2>Active calls <span className="count">{live.length}</span></h2>
          {live.length === 0 ? (
            <p className="muted">No call in progress.</p>
          ) : (
            <table>
              <thead><tr><th>Caller</th><th>Context</th><th>State</th><th>Transport</th><th>Duration</th></tr></thead>
              <tbody>
                {live.map((c) => (
                  <tr key={c.id}>
                    <td><Link to={`/calls/${encodeURIComponent(c.id)}`}>{c.callerName || c.callerNumber || c.id}</Link></td>
                    <td>{c.context}</td>
                    <td><span className={`badge state-${c.state}`}>{c.state}</span></td>
                    <td>{c.transport}</td>
                    <td>{since(c.answeredAt ?? c.startedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <section className="card" data-testid="metrics">
        <h2>Key figures</h2>
        {!latest && <p className="muted">Figures arrive every few seconds while the engine answers.</p>}
        <div className="figures">
          {FIGURES.map((f) => {
            const values = metrics.map((m) => (m[f.key] === null || m[f.key] === undefined ? null : m[f.key]! * (f.scale ?? 1)));
            const now = values.at(-1) ?? null;
            return (
              <div className="figure" key={f.key} data-testid={`figure-${f.key}`}>
                <div className="figure-label">{f.label}</div>
                <div className="figure-value">{number(now, f.digits ?? 0)}{now !== null && f.unit ? ` ${f.unit}` : ''}</div>
                <Sparkline values={values} label={f.label} />
              </div>
            );
          })}
        </div>
      </section>
      <section className="card">
        <h2>Recent calls</h2>
        {calls.error && <Notice kind="error">{calls.error}</Notice>}
        {calls.data && calls.data.recent.length === 0 && <p className="muted">No calls recorded yet.</p>}
        {calls.data && calls.data.recent.length > 0 && (
          <ul className="plain">
            {calls.data.recent.map((c) => (
              <li key={c.id}>
                <Link to={`/calls/${encodeURIComponent(c.id)}`}>{c.callerName || c.callerNumber || c.id}</Link>{' '}
                <span className="muted">{c.context} · {c.outcome ?? 'in progress'} · {c.turnCount} turns · {since(c.startedAt, c.endedAt)}</span>
              </li>
            ))}
          </ul>
        )}
        <p><Link to="/calls">All calls →</Link></p>
      </section>
    </main>
  );
}
