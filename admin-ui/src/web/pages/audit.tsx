// The audit log, newest first: sign-ins and failures, config changes with the keys changed, token and user
// changes, hangups — who, when, from where. Append-only on the server; read-only here.
import { useEffect, useState, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { time } from '../format.ts';
import type { AuditEntry } from '../types.ts';

const PAGE = 100;

function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join('; ');
}

export function AuditPage(): ReactNode {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = async (before?: number): Promise<void> => {
    try {
      const page = await api<AuditEntry[]>('GET', `/api/audit?limit=${PAGE}${before ? `&before=${before}` : ''}`);
      setEntries((list) => (before ? [...list, ...page] : page));
      setMore(page.length === PAGE);
      setError(null);
    } catch (err) {
      setError(problemText(err));
    }
  };
  useEffect(() => void load(), []);

  return (
    <main className="page">
      <h1>Audit log</h1>
      {error && <Notice kind="error">{error}</Notice>}
      <section className="card">
        <table data-testid="audit">
          <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Detail</th><th>From</th></tr></thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} className={e.action.includes('fail') || e.action.includes('rejected') ? 'row-warn' : undefined}>
                <td>{time(e.at)}</td>
                <td>{e.actor}</td>
                <td><code>{e.action}</code></td>
                <td>{detailText(e.detail)}</td>
                <td>{e.source}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {more && <button onClick={() => void load(entries.at(-1)?.id)}>Older entries</button>}
      </section>
    </main>
  );
}
