// The product's containers (read through the read-only Docker proxy): state, health, uptime, restarts.
// Without Docker (a bare-metal install, or the proxy down) the page says so.
import type { ReactNode } from 'react';
import { Notice } from '../components/notice.tsx';
import { since, time } from '../format.ts';
import { Link } from '../router.tsx';
import type { Container } from '../types.ts';
import { useLoad } from '../use-load.ts';

export function DockerUnavailable(): ReactNode {
  return (
    <Notice kind="info" testId="docker-unavailable">
      Docker is not available to the admin UI (no DOCKER_PROXY_URL, or the read-only proxy does not answer). A bare-metal
      install has no containers; everything else works.
    </Notice>
  );
}

export function ContainersPage(props: { canReadLogs: boolean }): ReactNode {
  const list = useLoad<Container[]>('/api/containers');
  return (
    <main className="page">
      <h1>Containers</h1>
      {list.status === 503 ? <DockerUnavailable /> : list.error && <Notice kind="error">{list.error}</Notice>}
      {list.data && (
        <section className="card">
          {list.data.length === 0 ? (
            <p className="muted">No container carries this product's compose project label.</p>
          ) : (
            <table data-testid="containers">
              <thead><tr><th>Name</th><th>Service</th><th>Image</th><th>State</th><th>Health</th><th>Up for</th><th>Restarts</th><th></th></tr></thead>
              <tbody>
                {list.data.map((c) => (
                  <tr key={c.id}>
                    <td>{c.name}</td>
                    <td>{c.service ?? '—'}</td>
                    <td><code>{c.image}</code></td>
                    <td><span className={`badge state-${c.state}`}>{c.state}</span></td>
                    <td>{c.health ?? '—'}</td>
                    <td title={time(c.startedAt)}>{c.state === 'running' ? since(c.startedAt) : '—'}</td>
                    <td>{c.restarts}</td>
                    <td>{props.canReadLogs && <Link to={`/containers/${c.id}/logs`}>Logs</Link>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p><button onClick={list.reload}>Refresh</button></p>
        </section>
      )}
    </main>
  );
}
