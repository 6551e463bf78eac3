// Sign-in. The server answers every failure (unknown user, wrong password, locked) with one generic text;
// the page adds that repeated failures lock the account for a while.
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';

export function LoginPage(props: { onSignedIn: () => void }): ReactNode {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('POST', '/api/auth/login', { username, password });
      setPassword('');
      props.onSignedIn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setError('Sign-in failed: wrong user name or password, or the account is locked after repeated failures. Wait a few minutes before trying again.');
      } else if (err instanceof ApiError && err.status === 429) {
        setError('Too many attempts from this address. Wait a minute before trying again.');
      } else {
        setError(`Sign-in failed: ${problemText(err)}`);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="auth-page">
      <form className="card auth-card" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">AI agent admin</h1>
        <label>
          User name
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && <Notice kind="error" testId="login-error">{error}</Notice>}
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
    </main>
  );
}
