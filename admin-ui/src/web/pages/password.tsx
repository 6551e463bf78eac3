// Password change: forced after the first sign-in with a one-time password (nothing else works until it is
// done), and available to any signed-in user from the menu.
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';

export function PasswordPage(props: { forced: boolean; onChanged: () => void }): ReactNode {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (next !== repeat) {
      setError('The two new passwords differ.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api('POST', '/api/auth/password', { current, next });
      props.onChanged();
    } catch (err) {
      setError(problemText(err) === 'invalid credentials' ? 'The current password is wrong.' : problemText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className={props.forced ? 'auth-page' : 'page'}>
      <form className="card auth-card" onSubmit={(e) => void submit(e)} aria-labelledby="password-title">
        <h1 id="password-title">{props.forced ? 'Choose your password' : 'Change password'}</h1>
        {props.forced && <p>You signed in with a one-time password. Choose your own before you continue.</p>}
        <label>
          Current password
          <input name="current" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
        </label>
        <label>
          New password
          <input name="next" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />
        </label>
        <label>
          New password again
          <input name="repeat" type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} required />
        </label>
        {error && <Notice kind="error" testId="password-error">{error}</Notice>}
        <button type="submit" disabled={busy}>Save password</button>
      </form>
    </main>
  );
}
