// The engine's configuration as forms (contexts and providers, config-forms.tsx) and as YAML: save validates
// it with the engine's own schema, writes it with a timestamped backup and reloads the engine; a rejected file
// shows the key and the reason and changes nothing. Provider keys are write-only: each shows "set" or "not set" and can be replaced, never read.
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { time } from '../format.ts';
import { useLoad } from '../use-load.ts';
import { ConfigForms, savedText, type SaveResult } from './config-forms.tsx';
import { McpServers } from './mcp-servers.tsx';

interface ConfigBody {
  yaml: string;
  /** The engine's view: running version, whether the file on disk is valid, where the two differ. */
  state: {
    running: { version: number; loadedAt: string };
    onDisk: { hash: string } | { error: { key: string; reason: string } };
    differs: string[];
    restartRequired: string[];
  } | null;
}

function SecretRow(props: { name: string; set: boolean; canWrite: boolean; onSaved: () => void }): ReactNode {
  const [value, setValue] = useState('');
  const [editing, setEditing] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const save = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    try {
      await api('PUT', `/api/secrets/${encodeURIComponent(props.name)}`, { value });
      setValue('');
      setEditing(false);
      setMessage({ kind: 'ok', text: 'Saved. Services read it at their next start.' });
      props.onSaved();
    } catch (err) {
      setMessage({ kind: 'error', text: problemText(err) });
    }
  };
  return (
    <tr>
      <td><code>{props.name}</code></td>
      <td><span className={`badge ${props.set ? 'badge-ready' : 'badge-not_ready'}`}>{props.set ? 'set' : 'not set'}</span></td>
      <td>
        {props.canWrite && !editing && <button onClick={() => setEditing(true)}>Replace</button>}
        {editing && (
          <form className="inline" onSubmit={(e) => void save(e)}>
            <input type="password" autoComplete="off" aria-label={`new value for ${props.name}`} value={value} onChange={(e) => setValue(e.target.value)} required />
            <button type="submit">Save</button>
            <button type="button" onClick={() => { setEditing(false); setValue(''); }}>Cancel</button>
          </form>
        )}
        {message && <Notice kind={message.kind}>{message.text}</Notice>}
      </td>
    </tr>
  );
}

export function ConfigPage(props: { canWrite: boolean }): ReactNode {
  const config = useLoad<ConfigBody>('/api/config');
  const secrets = useLoad<{ names: Array<{ name: string; set: boolean }> }>('/api/secrets');
  // The operator's edit; null while they have not changed the file as loaded.
  const [draft, setDraft] = useState<string | null>(null);
  const yaml = draft ?? config.data?.yaml ?? '';
  const [result, setResult] = useState<{ kind: 'ok' | 'error' | 'info'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  // Bumped by a YAML save, so the forms show the new file.
  const [saves, setSaves] = useState(0);

  const save = async (): Promise<void> => {
    setBusy(true);
    setResult(null);
    try {
      setResult(savedText(await api<SaveResult>('PUT', '/api/config', { yaml })));
      setDraft(null);
      setSaves((n) => n + 1);
      config.reload();
    } catch (err) {
      setResult({ kind: 'error', text: `Not saved — ${problemText(err)}` });
    } finally {
      setBusy(false);
    }
  };

  const state = config.data?.state;
  return (
    <main className="page">
      <h1>Configuration</h1>
      {config.error && <Notice kind="error">{config.error}</Notice>}
      {state === null && config.data && <Notice kind="info">The engine did not answer: its running configuration is unknown.</Notice>}
      {state && 'error' in state.onDisk && <Notice kind="error">The file on disk is invalid at {state.onDisk.error.key}: {state.onDisk.error.reason}</Notice>}
      {state && state.differs.length > 0 && <Notice kind="info">The running engine differs from the file at: {state.differs.join(', ')}</Notice>}
      {state && state.restartRequired.length > 0 && <Notice kind="info">Needs a restart to take effect: {state.restartRequired.join(', ')}</Notice>}
      {state && <p className="muted" data-testid="config-state">Running configuration version {state.running.version}, loaded {time(state.running.loadedAt)}{state.differs.length === 0 && !('error' in state.onDisk) ? '; same as the file.' : '.'}</p>}
      <ConfigForms key={saves} canWrite={props.canWrite} onSaved={() => { setDraft(null); config.reload(); }} />
      <McpServers key={`mcp-${saves}`} canTest={props.canWrite} />
      <section className="card">
        <h2>config/ai-agent.yaml</h2>
        {!config.data && !config.error && <p className="muted">Loading…</p>}
        {config.data && (
          <textarea
            className="yaml"
            aria-label="configuration YAML"
            spellCheck={false}
            value={yaml}
            onChange={(e) => setDraft(e.target.value)}
            readOnly={!props.canWrite}
            rows={28}
          />
        )}
        {result && <Notice kind={result.kind} testId="config-result">{result.text}</Notice>}
        {props.canWrite && (
          <p>
            <button onClick={() => void save()} disabled={busy || !config.data}>Validate and save</button>{' '}
            <button onClick={() => { setDraft(null); setResult(null); }} disabled={busy}>Discard changes</button>
          </p>
        )}
      </section>
      <section className="card">
        <h2>Provider keys and secrets</h2>
        <p className="muted">Values are never shown. Replacing one writes it to the environment file.</p>
        {secrets.error && <Notice kind="error">{secrets.error}</Notice>}
        <table data-testid="secrets">
          <tbody>
            {secrets.data?.names.map((s) => <SecretRow key={s.name} name={s.name} set={s.set} canWrite={props.canWrite} onSaved={secrets.reload} />)}
          </tbody>
        </table>
      </section>
    </main>
  );
}
