// The shell: who is signed in (GET /api/me), the forced password change, the navigation (pages the user's
// scopes allow), and which page the path names.
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { api, onAuthNeeded, startRefreshing, stopRefreshing } from './api.ts';
import { startFeed, stopFeed } from './events.ts';
import { Link, match, navigate, useLocation } from './router.tsx';
import type { Me } from './types.ts';
import { AuditPage } from './pages/audit.tsx';
import { CallPage } from './pages/call.tsx';
import { ConfigPage } from './pages/config.tsx';
import { ContainersPage } from './pages/containers.tsx';
import { DashboardPage } from './pages/dashboard.tsx';
import { HistoryPage } from './pages/history.tsx';
import { LoginPage } from './pages/login.tsx';
import { LogsPage } from './pages/logs.tsx';
import { PasswordPage } from './pages/password.tsx';
import { SimulatorPage } from './pages/simulator.tsx';
import { TestCallPage } from './pages/test-call.tsx';
import { TokensPage } from './pages/tokens.tsx';
import { UsersPage } from './pages/users.tsx';

type Session = { state: 'loading' } | { state: 'signed-out' } | { state: 'password'; me: Me | null } | { state: 'in'; me: Me };

const NAV: Array<{ to: string; label: string; scope: string }> = [
  { to: '/', label: 'Dashboard', scope: 'calls:read' },
  { to: '/calls', label: 'Calls', scope: 'calls:read' },
  { to: '/test-call', label: 'Test call', scope: 'calls:test' },
  { to: '/simulator', label: 'Simulator', scope: 'calls:test' },
  { to: '/config', label: 'Configuration', scope: 'config:read' },
  { to: '/containers', label: 'Containers', scope: 'containers:read' },
  { to: '/users', label: 'Users', scope: 'admin' },
  { to: '/tokens', label: 'API tokens', scope: 'admin' },
  { to: '/audit', label: 'Audit log', scope: 'admin' },
];

function Page(props: { me: Me; path: string; can: (scope: string) => boolean; onPasswordChanged: () => void }): ReactNode {
  const { path, can } = props;
  let params: Record<string, string> | null;
  if (path === '/password') return <PasswordPage forced={false} onChanged={props.onPasswordChanged} />;
  if (path === '/' && can('calls:read')) return <DashboardPage />;
  if (path === '/calls' && can('calls:read')) return <HistoryPage />;
  if ((params = match('/calls/:id', path)) && can('calls:read')) return <CallPage key={params.id} id={params.id!} canHangUp={can('calls:write')} />;
  if (path === '/test-call' && can('calls:test')) return <TestCallPage />;
  if (path === '/simulator' && can('calls:test')) return <SimulatorPage />;
  if (path === '/config' && can('config:read')) return <ConfigPage canWrite={can('config:write')} />;
  if (path === '/containers' && can('containers:read')) return <ContainersPage canReadLogs={can('logs:read')} />;
  if ((params = match('/containers/:id/logs', path)) && can('logs:read')) return <LogsPage key={params.id} id={params.id!} />;
  if (path === '/users' && can('admin')) return <UsersPage self={props.me.user.name} />;
  if (path === '/tokens' && can('admin')) return <TokensPage />;
  if (path === '/audit' && can('admin')) return <AuditPage />;
  return <main className="page"><h1>Not found</h1><p>This page does not exist or your role does not include it.</p></main>;
}

export function App(): ReactNode {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  const { path } = useLocation();

  const loadMe = useCallback(async (): Promise<void> => {
    try {
      const me = await api<Me>('GET', '/api/me');
      setSession(me.user.mustChangePassword ? { state: 'password', me } : { state: 'in', me });
    } catch {
      // api() has already said whether this needs login or a password change; only a plain failure remains.
      setSession((s) => (s.state === 'loading' ? { state: 'signed-out' } : s));
    }
  }, []);

  useEffect(() => {
    const off = onAuthNeeded((need) => setSession((s) => (need === 'login' ? { state: 'signed-out' } : { state: 'password', me: 'me' in s ? s.me : null })));
    void loadMe();
    return off;
  }, [loadMe]);

  useEffect(() => {
    if (session.state === 'in') {
      startRefreshing();
      startFeed();
    } else {
      stopFeed();
      if (session.state === 'signed-out') stopRefreshing();
    }
  }, [session.state]);

  const logout = async (everywhere: boolean): Promise<void> => {
    await api('POST', everywhere ? '/api/auth/logout-all' : '/api/auth/logout').catch(() => undefined);
    setSession({ state: 'signed-out' });
    navigate('/');
  };

  if (session.state === 'loading') return <main className="auth-page"><p className="muted">Loading…</p></main>;
  if (session.state === 'signed-out') return <LoginPage onSignedIn={() => void loadMe()} />;
  if (session.state === 'password') return <PasswordPage forced onChanged={() => void loadMe()} />;

  const { me } = session;
  const can = (scope: string): boolean => me.scopes.includes('admin') || me.scopes.includes(scope);
  return (
    <>
      <header className="top">
        <span className="brand">AI agent admin</span>
        <nav aria-label="main">
          {NAV.filter((n) => can(n.scope)).map((n) => (
            <Link key={n.to} to={n.to} className={(n.to === '/' ? path === '/' : path.startsWith(n.to)) ? 'current' : undefined}>{n.label}</Link>
          ))}
        </nav>
        <span className="user">
          <span data-testid="signed-in-as">{me.user.name}</span>
          <Link to="/password">Password</Link>
          <button className="link" onClick={() => void logout(false)}>Sign out</button>
          <button className="link" onClick={() => void logout(true)} title="End every session of this user">Sign out everywhere</button>
        </span>
      </header>
      <Page me={me} path={path} can={can} onPasswordChanged={() => { void loadMe(); navigate('/'); }} />
    </>
  );
}
