// Call history, newest first, a page at a time, kept current by the live feed; filters by time, context,
// outcome and caller over the calls loaded so far ("Load older calls" reaches further back).
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { useFeed } from '../events.ts';
import { since, time } from '../format.ts';
import { Link } from '../router.tsx';
import type { CallList, CallSummary, CallUpdate } from '../types.ts';

const PAGE = 50;

export function HistoryPage(): ReactNode {
  const [calls, setCalls] = useState<CallSummary[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [context, setContext] = useState('');
  const [outcome, setOutcome] = useState('');
  const [caller, setCaller] = useState('');

  const load = async (before?: string): Promise<void> => {
    setLoading(true);
    try {
      const page = await api<CallList>('GET', `/api/calls?limit=${PAGE}${before ? `&before=${encodeURIComponent(before)}` : ''}`);
      setCalls((list) => (before ? [...list, ...page.recent] : page.recent));
      setNext(page.nextBefore);
      setError(null);
    } catch (err) {
      setError(problemText(err));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void load(), []);
  // A call that ends (or starts) while the page is open updates its row in place.
  useFeed<CallUpdate>('call', (update) =>
    setCalls((list) => {
      const at = list.findIndex((c) => c.id === update.id);
      if (at >= 0) return list.map((c, i) => (i === at ? { ...c, ...update } : c));
      return update.startedAt && update.context ? [update as CallSummary, ...list] : list;
    }),
  );

  const contexts = useMemo(() => [...new Set(calls.map((c) => c.context))].sort(), [calls]);
  const outcomes = useMemo(() => [...new Set(calls.map((c) => c.outcome ?? 'in progress'))].sort(), [calls]);
  const shown = calls.filter((c) => {
    if (from && c.startedAt < new Date(from).toISOString()) return false;
    if (to && c.startedAt > new Date(to).toISOString()) return false;
    if (context && c.context !== context) return false;
    if (outcome && (c.outcome ?? 'in progress') !== outcome) return false;
    const who = `${c.callerName ?? ''} ${c.callerNumber ?? ''}`.toLowerCase();
    return !caller || who.includes(caller.toLowerCase());
  });

  return (
    <main className="page">
      <h1>Call history</h1>
      <form className="filters card" onSubmit={(e) => e.preventDefault()} aria-label="filters">
        <label>From <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} /></label>
        <label>To <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} /></label>
        <label>Context
          <select value={context} onChange={(e) => setContext(e.target.value)}>
            <option value="">any</option>
            {contexts.map((c) => <option key={c}>{c}</option>)}
          </select>
        </label>
        <label>Outcome
          <select value={outcome} onChange={(e) => setOutcome(e.target.value)}>
            <option value="">any</option>
            {outcomes.map((o) => <option key={o}>{o}</option>)}
          </select>
        </label>
        <label>Caller <input type="search" value={caller} onChange={(e) => setCaller(e.target.value)} placeholder="name or last digits" /></label>
      </form>
      {error && <Notice kind="error">{error}</Notice>}
      <section className="card">
        <table data-testid="history">
          <thead><tr><th>Started</th><th>Caller</th><th>Context</th><th>Outcome</th><th>Turns</th><th>Duration</th></tr></thead>
          <tbody>
            {shown.map((c) => (
              <tr key={c.id}>
                <td><Link to={`/calls/${encodeURIComponent(c.id)}`}>{time(c.startedAt)}</Link></td>
                <td>{c.callerName || c.callerNumber || '—'}</td>
                <td>{c.context}</td>
                <td>{c.outcome ?? 'in progress'}</td>
                <td>{c.turnCount}</td>
                <td>{since(c.answeredAt ?? c.startedAt, c.endedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!loading && shown.length === 0 && <p className="muted">No calls match.</p>}
        <p className="muted">{shown.length} of {calls.length} loaded calls shown.</p>
        {next && <button onClick={() => void load(next)} disabled={loading}>Load older calls</button>}
      </section>
    </main>
  );
}
