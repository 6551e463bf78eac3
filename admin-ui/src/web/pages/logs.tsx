// A container's logs, already redacted by the server: the last lines, or followed live over SSE, filtered by
// minimum level and by text (the filter runs on the redacted text).
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { api, problemText, ApiError } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { Link } from '../router.tsx';
import type { LogLine } from '../types.ts';
import { DockerUnavailable } from './containers.tsx';

/** What the page keeps: a followed stream drops its oldest lines past this. */
const MAX_LINES = 2000;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const DEFAULT_TAIL = 200;

export function LogsPage(props: { id: string }): ReactNode {
  const [tail, setTail] = useState(DEFAULT_TAIL);
  const [level, setLevel] = useState('');
  const [q, setQ] = useState('');
  const [follow, setFollow] = useState(false);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<{ status: number | null; text: string } | null>(null);
  const [ended, setEnded] = useState<string | null>(null);
  const [query, setQuery] = useState(`tail=${DEFAULT_TAIL}`);
  const bottom = useRef<HTMLDivElement>(null);

  // The filters apply when submitted, not on every keystroke; Follow switches at once with the applied ones.
  const apply = (): void => {
    const params = new URLSearchParams({ tail: String(tail) });
    if (level) params.set('level', level);
    if (q) params.set('q', q);
    setQuery(params.toString());
  };

  useEffect(() => {
    setError(null);
    setEnded(null);
    const path = `/api/containers/${encodeURIComponent(props.id)}/logs?${query}`;
    if (!follow) {
      let current = true;
      api<{ lines: LogLine[] }>('GET', path).then(
        (body) => current && setLines(body.lines),
        (err: unknown) => current && setError({ status: err instanceof ApiError ? err.status : null, text: problemText(err) }),
      );
      return () => {
        current = false;
      };
    }
    setLines([]);
    const source = new EventSource(`${path}&follow=1`);
    source.addEventListener('line', (event) => {
      const line = JSON.parse((event as MessageEvent<string>).data) as LogLine;
      setLines((list) => [...list.slice(-(MAX_LINES - 1)), line]);
    });
    source.addEventListener('end', (event) => {
      setEnded((JSON.parse((event as MessageEvent<string>).data) as { reason: string }).reason);
      source.close();
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) setError({ status: null, text: 'The log stream was refused (signed out, no such container, or Docker unavailable).' });
    };
    return () => source.close();
  }, [query, follow, props.id]);

  useEffect(() => {
    if (follow) bottom.current?.scrollIntoView({ block: 'end' });
  }, [lines, follow]);

  return (
    <main className="page">
      <h1>Logs <span className="muted"><code>{props.id.slice(0, 12)}</code></span></h1>
      <p><Link to="/containers">← Containers</Link></p>
      <form className="filters card" onSubmit={(e) => { e.preventDefault(); apply(); }} aria-label="log filters">
        <label>Last lines <input type="number" min={0} max={5000} value={tail} onChange={(e) => setTail(Number(e.target.value))} /></label>
        <label>Level at least
          <select value={level} onChange={(e) => setLevel(e.target.value)}>
            <option value="">any</option>
            {LEVELS.map((l) => <option key={l}>{l}</option>)}
          </select>
        </label>
        <label>Text <input type="search" value={q} maxLength={200} onChange={(e) => setQ(e.target.value)} /></label>
        <label className="check"><input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow</label>
        <button type="submit">Apply</button>
      </form>
      {error && (error.status === 503 ? <DockerUnavailable /> : <Notice kind="error">{error.text}</Notice>)}
      {ended && <Notice kind="info">Stream ended: {ended}</Notice>}
      <section className="card logs" data-testid="log-lines">
        {lines.length === 0 && !error && <p className="muted">No lines.</p>}
        {lines.map((l, i) => (
          <div key={i} className={`log-line level-${l.level ?? 'none'} stream-${l.stream}`}>
            <span className="log-at">{l.at ? new Date(l.at).toLocaleTimeString() : ''}</span>
            <span className="log-text">{l.text}</span>
          </div>
        ))}
        <div ref={bottom} />
      </section>
    </main>
  );
}
