// Contexts and providers as forms (GET/PUT /api/config/forms): one entry at a time, drawn from the engine's
// schema. Save sends both sections; the server changes only the keys that differ in the YAML, then takes the
// same path as the YAML editor: the engine's validation, a timestamped backup, an atomic write, a signed reload.
// A rejected save names the key and the reason and leaves the file as it was.
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, problemText } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { SchemaFields, type Entry, type JsonSchema } from '../components/schema-form.tsx';
import { useLoad } from '../use-load.ts';

type SectionName = 'contexts' | 'providers';
interface FormsBody {
  schemas: { context: JsonSchema; provider: JsonSchema };
  contexts: Record<string, Entry>;
  providers: Record<string, Entry>;
}
export interface SaveResult {
  changed: string[];
  backup: string | null;
  reload: { reloaded: boolean; restartRequired?: string[]; error?: string };
}

/** What a save did, in one sentence (shared with the YAML editor). */
export function savedText(saved: SaveResult): { kind: 'ok' | 'info'; text: string } {
  const keys = saved.changed.length ? saved.changed.join(', ') : 'nothing';
  const reload = saved.reload.reloaded ? 'engine reloaded' : `engine not reloaded (${saved.reload.error ?? 'unknown'})`;
  const restart = saved.reload.restartRequired?.length ? `; needs a restart: ${saved.reload.restartRequired.join(', ')}` : '';
  return { kind: saved.reload.reloaded ? 'ok' : 'info', text: `Saved. Changed: ${keys}; ${reload}${restart}.${saved.backup ? ` Backup: ${saved.backup}` : ''}` };
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function Section(props: {
  section: SectionName;
  title: string;
  schema: JsonSchema;
  entries: Record<string, Entry>;
  canWrite: boolean;
  onChange: (entries: Record<string, Entry>) => void;
}): ReactNode {
  const names = Object.keys(props.entries);
  const [selected, setSelected] = useState(names[0] ?? '');
  const [adding, setAdding] = useState('');
  const current = names.includes(selected) ? selected : names[0] ?? '';
  const add = (event: FormEvent): void => {
    event.preventDefault();
    if (!NAME.test(adding) || adding in props.entries) return;
    // A new provider needs its type; a new context starts empty (every key has a default).
    const fresh: Entry = props.section === 'providers' ? { type: 'local_ai' } : {};
    props.onChange({ ...props.entries, [adding]: fresh });
    setSelected(adding);
    setAdding('');
  };
  const remove = (): void => {
    if (!window.confirm(`Remove ${props.section === 'contexts' ? 'context' : 'provider'} ${current}?`)) return;
    props.onChange(Object.fromEntries(Object.entries(props.entries).filter(([n]) => n !== current)));
  };
  return (
    <section className="card" data-testid={`form-${props.section}`}>
      <h2>{props.title}</h2>
      <div className="entry-bar">
        <label>
          {props.section === 'contexts' ? 'Context' : 'Provider'}{' '}
          <select aria-label={`${props.section} entry`} value={current} onChange={(e) => setSelected(e.target.value)}>
            {names.map((n) => <option key={n}>{n}</option>)}
          </select>
        </label>
        {props.canWrite && current && <button type="button" onClick={remove}>Remove</button>}
        {props.canWrite && (
          <form className="inline" onSubmit={add}>
            <input aria-label={`new ${props.section} name`} value={adding} onChange={(e) => setAdding(e.target.value)} placeholder="new name" pattern="[A-Za-z0-9_\-]{1,64}" />
            <button type="submit" disabled={!NAME.test(adding) || adding in props.entries}>Add</button>
          </form>
        )}
      </div>
      {current && (
        <SchemaFields
          key={current}
          path={`${props.section}.${current}`}
          schema={props.schema}
          value={props.entries[current]!}
          disabled={!props.canWrite}
          onChange={(next) => props.onChange({ ...props.entries, [current]: next })}
        />
      )}
    </section>
  );
}

export function ConfigForms(props: { canWrite: boolean; onSaved: () => void }): ReactNode {
  const forms = useLoad<FormsBody>('/api/config/forms');
  const [draft, setDraft] = useState<Pick<FormsBody, SectionName> | null>(null);
  const [result, setResult] = useState<{ kind: 'ok' | 'error' | 'info'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  // Loaded anew (after a save here or in the YAML view): the forms show the file again.
  useEffect(() => setDraft(null), [forms.data]);

  if (forms.error) return <Notice kind="error">Forms unavailable: {forms.error}</Notice>;
  if (!forms.data) return <p className="muted">Loading…</p>;
  const value = draft ?? { contexts: forms.data.contexts, providers: forms.data.providers };
  const setSection = (section: SectionName) => (entries: Record<string, Entry>): void => setDraft({ ...value, [section]: entries });

  const save = async (): Promise<void> => {
    setBusy(true);
    setResult(null);
    try {
      const saved = await api<SaveResult>('PUT', '/api/config/forms', value);
      setResult(savedText(saved));
      forms.reload();
      props.onSaved();
    } catch (err) {
      setResult({ kind: 'error', text: `Not saved — ${problemText(err)}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div data-testid="config-forms">
      <Section section="providers" title="Providers" schema={forms.data.schemas.provider} entries={value.providers} canWrite={props.canWrite} onChange={setSection('providers')} />
      <Section section="contexts" title="Contexts" schema={forms.data.schemas.context} entries={value.contexts} canWrite={props.canWrite} onChange={setSection('contexts')} />
      {result && <Notice kind={result.kind} testId="forms-result">{result.text}</Notice>}
      {props.canWrite && (
        <p>
          <button onClick={() => void save()} disabled={busy || draft === null}>Check and save forms</button>{' '}
          <button onClick={() => { setDraft(null); setResult(null); }} disabled={busy || draft === null}>Discard form changes</button>
        </p>
      )}
    </div>
  );
}
