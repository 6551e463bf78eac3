// Call history, newest first, a page at a time, kept current by the live feed. The filters (time, context,
// outcome, caller) are applied by the engine's call store, so they reach every recorded call, not only the
// ones loaded so far; the address keeps them, so a filtered view can be reloaded or shared.
import { OUTCOME_FILTERS as OUTCOMES } from '@ai-agent/common/outcomes';
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { useFeed } from '../events.ts';
import { since, time } from '../format.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import type { CallList, CallSummary, CallUpdate } from '../types.ts';

const PAGE = 50;
const FILTERS = ['from', 'to', 'context', 'outcome', 'caller'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** `datetime-local` (the browser's zone, no zone written) ⇄ the UTC instant the API takes. */
const toInstant = (local: string): string => (local ? new Date(local).toISOString() : '');
function toLocal(instant: string): string {
  const d = new Date(instant);
  if (!instant || Number.isNaN(d.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function filtersOf(query: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.map((k) => [k, query.get(k) ?? ''])) as Filters;
}

/** Would the engine's filter keep this call? For calls the live feed brings while a filter is set. */
function matches(c: CallSummary, f: Filters): boolean {
  if (f.from && c.startedAt < f.from) return false;
  if (f.to && c.startedAt >= f.to) return false;
  if (f.context && c.context !== f.context) return false;
  if (f.outcome && (c.outcome ?? 'in_progress') !== f.outcome) return false;
  return !f.caller || `${c.callerNumber ?? ''} ${c.callerName ?? ''}`.toLowerCase().includes(f.caller.toLowerCase());
}

export function HistoryPage(): ReactNode {
  const { query } = useLocation();
  const applied = useMemo(() => filtersOf(query), [query.toString()]);
  const [draft, setDraft] = useState<Filters>(applied);
  const [calls, setCalls] = useState<CallSummary[]>([]);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = async (before?: string): Promise<void> => {
    setLoading(true);
    const params = new URLSearchParams({ limit: String(PAGE) });
    for (const k of FILTERS) if (applied[k]) params.set(k, applied[k]);
    if (before) params.set('before', before);
    try {
      const page = await api<CallList>('GET', `/api/calls?${params}`);
      setCalls((list) => (before ? [...list, ...page.recent] : page.recent));
      setNext(page.nextBefore);
      setError(null);
    } catch (err) {
      setError(problemText(err));
      if (!before) setCalls([]);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    setDraft(applied);
    void load();
  }, [applied]);
  // A call that ends (or starts) while the page is open updates its row in place; a new one shows if it matches.
  useFeed<CallUpdate>('call', (update) =>
    setCalls((list) => {
      const at = list.findIndex((c) => c.id === update.id);
      if (at >= 0) return list.map((c, i) => (i === at ? { ...c, ...update } : c));
      return update.startedAt && update.context && matches(update as CallSummary, applied) ? [update as CallSummary, ...list] : list;
    }),
  );

  const apply = (event: FormEvent): void => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const k of FILTERS) if (draft[k].trim()) params.set(k, draft[k].trim());
    navigate(params.toString() ? `/calls?${params}` : '/calls');
  };
  const set = (key: keyof Filters) => (value: string): void => setDraft((d) => ({ ...d, [key]: value }));
  const contexts = useMemo(() => [...new Set(calls.map((c) => c.context))].sort(), [calls]);
  const filtered = FILTERS.some((k) => applied[k]);

  return (
    <main className="page">
      <h1>Call history</h1>
      <form className="filters card" onSubmit={apply} aria-label="filters">
        <label>From <input type="datetime-local" value={toLocal(draft.from)} onChange={(e) => set('from')(toInstant(e.target.value))} /></label>
        <label>To <input type="datetime-local" value={toLocal(draft.to)} onChange={(e) => set('to')(toInstant(e.target.value))} /></label>
        <label>Context <input list="history-contexts" value={draft.context} onChange={(e) => set('context')(e.target.value)} placeholder="any" /></label>
        <datalist id="history-contexts">{contexts.map((c) => <option key={c} value={c} />)}</datalist>
        <label>Outcome
          <select value={draft.outcome} onChange={(e) => set('outcome')(e.target.value)}>
            <option value="">any</option>
            {OUTCOMES.map((o) => <option key={o} value={o}>{o.replace('_', ' ')}</option>)}
          </select>
        </label>
        <label>Caller <input type="search" value={draft.caller} onChange={(e) => set('caller')(e.target.value)} placeholder="name or last digits" /></label>
        <button type="submit">Apply</button>
        {filtered && <button type="button" onClick={() => navigate('/calls')}>Clear</button>}
      </form>
      {error && <Notice kind="error" testId="history-error">{error}</Notice>}
      <section className="card">
        <table data-testid="history">
          <thead><tr><th>Started</th><th>Caller</th><th>Context</th><th>Outcome</th><th>Turns</th><th>Duration</th></tr></thead>
          <tbody>
            {calls.map((c) => (
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
        {!loading && calls.length === 0 && <p className="muted" data-testid="history-empty">{filtered ? 'No recorded call matches these filters.' : 'No calls recorded yet.'}</p>}
        <p className="muted">{calls.length} {calls.length === 1 ? 'call' : 'calls'} shown{filtered ? ' (filtered by the call store)' : ''}.</p>
        {next && <button onClick={() => void load(next)} disabled={loading}>Load older calls</button>}
      </section>
    </main>
  );
}
