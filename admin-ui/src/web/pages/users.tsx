// Users: who may sign in and with which role. A new user gets a one-time password, shown here once, and must
// choose their own at first sign-in.
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { time } from '../format.ts';
import type { User } from '../types.ts';
import { useLoad } from '../use-load.ts';

export function UsersPage(props: { self: string }): ReactNode {
  const users = useLoad<User[]>('/api/users');
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [created, setCreated] = useState<{ name: string; password: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  const create = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setMessage(null);
    try {
      const body = await api<{ name: string; password: string }>('POST', '/api/users', { name, role });
      setCreated(body);
      setName('');
      users.reload();
    } catch (err) {
      setMessage(problemText(err) === 'conflict' ? `A user named ${name} exists already.` : problemText(err));
    }
  };

  const remove = async (user: string): Promise<void> => {
    if (!window.confirm(`Delete user ${user}? Their sessions end at once.`)) return;
    try {
      await api('DELETE', `/api/users/${encodeURIComponent(user)}`);
      users.reload();
    } catch (err) {
      setMessage(problemText(err));
    }
  };

  return (
    <main className="page">
      <h1>Users</h1>
      {users.error && <Notice kind="error">{users.error}</Notice>}
      {message && <Notice kind="error">{message}</Notice>}
      {created && (
        <Notice kind="ok" testId="new-password">
          One-time password for <strong>{created.name}</strong>: <code>{created.password}</code> — give it to them now; it is not shown again.
        </Notice>
      )}
      <section className="card">
        <table data-testid="users">
          <thead><tr><th>Name</th><th>Role</th><th>Password</th><th>Created</th><th></th></tr></thead>
          <tbody>
            {users.data?.map((u) => (
              <tr key={u.name}>
                <td>{u.name}{u.name === props.self ? ' (you)' : ''}</td>
                <td>{u.role}</td>
                <td>{u.mustChangePassword ? 'one-time, not changed yet' : 'set'}</td>
                <td>{time(u.createdAt)}</td>
                <td>{u.name !== props.self && <button className="danger" onClick={() => void remove(u.name)}>Delete</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <form className="card inline" onSubmit={(e) => void create(e)} aria-label="new user">
        <h2>New user</h2>
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} /></label>
        <label>Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="viewer">viewer (read only)</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit">Create</button>
      </form>
    </main>
  );
}
