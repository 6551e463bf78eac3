// API tokens for scripts: each has a name and scopes, is shown once at creation, stored hashed, listed with
// its last use and revocable.
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { time } from '../format.ts';
import { SCOPES, type ApiToken } from '../types.ts';
import { useLoad } from '../use-load.ts';

export function TokensPage(): ReactNode {
  const tokens = useLoad<ApiToken[]>('/api/tokens');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['calls:read']);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const toggle = (scope: string): void =>
    setScopes((list) => (list.includes(scope) ? list.filter((s) => s !== scope) : [...list, scope]));

  const create = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setMessage(null);
    try {
      const body = await api<{ id: string; token: string }>('POST', '/api/tokens', { name, scopes });
      setCreated({ name, token: body.token });
      setName('');
      tokens.reload();
    } catch (err) {
      setMessage(problemText(err));
    }
  };

  const revoke = async (token: ApiToken): Promise<void> => {
    if (!window.confirm(`Revoke token ${token.name}? Scripts using it stop working at once.`)) return;
    try {
      await api('DELETE', `/api/tokens/${encodeURIComponent(token.id)}`);
      tokens.reload();
    } catch (err) {
      setMessage(problemText(err));
    }
  };

  return (
    <main className="page">
      <h1>API tokens</h1>
      {tokens.error && <Notice kind="error">{tokens.error}</Notice>}
      {message && <Notice kind="error">{message}</Notice>}
      {created && (
        <Notice kind="ok" testId="new-token">
          Token <strong>{created.name}</strong>: <code>{created.token}</code> — copy it now; it is not shown again. Use it as
          <code> Authorization: Bearer …</code>
        </Notice>
      )}
      <section className="card">
        {tokens.data?.length === 0 && <p className="muted">No tokens.</p>}
        {tokens.data && tokens.data.length > 0 && (
          <table data-testid="tokens">
            <thead><tr><th>Name</th><th>Scopes</th><th>Created</th><th>Last used</th><th></th></tr></thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>{t.scopes.join(', ')}</td>
                  <td>{time(t.createdAt)}</td>
                  <td>{t.lastUsedAt ? time(t.lastUsedAt) : 'never'}</td>
                  <td><button className="danger" onClick={() => void revoke(t)}>Revoke</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <form className="card" onSubmit={(e) => void create(e)} aria-label="new token">
        <h2>New token</h2>
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} pattern="[A-Za-z0-9 _.:@\-]+" /></label>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s} className="check"><input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} /> {s}</label>
          ))}
        </fieldset>
        <button type="submit" disabled={scopes.length === 0}>Create token</button>
      </form>
    </main>
  );
}
