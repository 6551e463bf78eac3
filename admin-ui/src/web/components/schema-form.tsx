// A form drawn from a JSON schema (the engine's zod schema, converted by the admin server): one field per key,
// nested objects as fieldsets, a choice of variant for tagged unions (`type: openai | deepgram …`), and a small
// JSON box for what a field cannot show (lists of objects, maps). The value is the entry as written in the file:
// an empty field removes the key, so the engine's default (shown as the placeholder) applies. Checks happen on
// save, by the engine's schema on the server; a value the form cannot read as a number stays text, so a
// `${VAR}` reference survives.
import { useState, type ReactNode } from 'react';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  additionalProperties?: JsonSchema | boolean;
}

export type Entry = Record<string, unknown>;
type Change = (value: unknown) => void;

const isObject = (v: unknown): v is Entry => typeof v === 'object' && v !== null && !Array.isArray(v);
const label = (key: string): string => key.replace(/_/g, ' ');
const shown = (v: unknown): string => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
const without = (entry: Entry, key: string): Entry => Object.fromEntries(Object.entries(entry).filter(([k]) => k !== key));

/** The key that tells the variants of a union apart (`type`, `mode`), when every variant fixes it. */
function discriminator(variants: JsonSchema[]): string | undefined {
  const first = variants[0]?.properties;
  if (!first) return undefined;
  return Object.keys(first).find((key) => variants.every((v) => v.properties?.[key]?.const !== undefined));
}

function kindOf(schema: JsonSchema): string {
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) return discriminator(variants) ? 'tagged' : 'json';
  if (schema.enum) return 'enum';
  if (schema.const !== undefined) return 'const';
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'object' && schema.properties) return 'object';
  if (type === 'array' && (schema.items?.type === 'string' || schema.items?.enum)) return schema.items.enum ? 'choices' : 'lines';
  if (type === 'string' || type === 'integer' || type === 'number' || type === 'boolean') return type;
  return 'json';
}

/** Text typed into a number field: a number when it reads as one, else the text (a `${VAR}`, or a mistake the schema names). */
function numberOrText(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed;
}

/** A JSON box: keeps what is typed until it parses, and says when it does not. */
function JsonField(props: { id: string; value: unknown; schema: JsonSchema; disabled: boolean; onChange: Change }): ReactNode {
  const [text, setText] = useState(props.value === undefined ? '' : JSON.stringify(props.value, null, 2));
  const [bad, setBad] = useState(false);
  return (
    <>
      <textarea
        id={props.id}
        className="json"
        rows={Math.min(10, Math.max(2, text.split('\n').length))}
        value={text}
        disabled={props.disabled}
        placeholder={props.schema.default === undefined ? '' : JSON.stringify(props.schema.default)}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === '') {
            setBad(false);
            props.onChange(undefined);
            return;
          }
          try {
            props.onChange(JSON.parse(e.target.value));
            setBad(false);
          } catch {
            setBad(true);
          }
        }}
      />
      {bad && <span className="field-problem">not valid JSON yet: the last valid value is kept</span>}
    </>
  );
}

export function SchemaField(props: { path: string; name: string; schema: JsonSchema; value: unknown; disabled: boolean; onChange: Change }): ReactNode {
  const { path, name, schema, value, disabled, onChange } = props;
  const id = `field-${path}`;
  const kind = kindOf(schema);
  const placeholder = schema.default === undefined || isObject(schema.default) ? '' : shown(schema.default);
  const title = <label htmlFor={id}>{label(name)}</label>;

  switch (kind) {
    case 'object':
      return (
        <fieldset className="schema-object">
          <legend>{label(name)}</legend>
          <SchemaFields path={path} schema={schema} value={isObject(value) ? value : {}} disabled={disabled} onChange={(next) => onChange(Object.keys(next).length ? next : undefined)} />
        </fieldset>
      );
    case 'tagged':
      return (
        <fieldset className="schema-object">
          <legend>{label(name)}</legend>
          <TaggedFields path={path} schema={schema} value={isObject(value) ? value : isObject(schema.default) ? schema.default : {}} disabled={disabled} onChange={onChange} />
        </fieldset>
      );
    case 'const':
      return <div className="field">{title}<output id={id}>{shown(schema.const)}</output></div>;
    case 'enum':
      return (
        <div className="field">
          {title}
          <select id={id} value={shown(value)} disabled={disabled} onChange={(e) => onChange(e.target.value === '' ? undefined : schema.enum!.find((o) => shown(o) === e.target.value))}>
            <option value="">{placeholder ? `default (${placeholder})` : '—'}</option>
            {schema.enum!.map((o) => <option key={shown(o)} value={shown(o)}>{shown(o)}</option>)}
          </select>
        </div>
      );
    case 'boolean':
      return (
        <div className="field">
          {title}
          <select id={id} value={value === undefined ? '' : String(value)} disabled={disabled} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value === 'true')}>
            <option value="">{placeholder ? `default (${placeholder})` : '—'}</option>
            <option value="true">yes</option>
            <option value="false">no</option>
          </select>
        </div>
      );
    case 'integer':
    case 'number': {
      const range = [schema.minimum, schema.maximum].every((n) => n !== undefined) ? ` (${schema.minimum}–${schema.maximum})` : '';
      return (
        <div className="field">
          {title}
          <input id={id} inputMode="decimal" value={shown(value)} placeholder={placeholder} disabled={disabled} title={`a number${range}`} onChange={(e) => onChange(numberOrText(e.target.value))} />
        </div>
      );
    }
    case 'string': {
      const long = typeof schema.default === 'string' && schema.default.length > 40;
      return (
        <div className="field">
          {title}
          {long || (typeof value === 'string' && value.length > 60) ? (
            <textarea id={id} rows={3} value={shown(value)} placeholder={placeholder} disabled={disabled} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)} />
          ) : (
            <input id={id} value={shown(value)} placeholder={placeholder} disabled={disabled} onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)} />
          )}
        </div>
      );
    }
    case 'choices': {
      const options = schema.items!.enum!.map(String);
      const list = Array.isArray(value) ? value.map(String) : Array.isArray(schema.default) ? schema.default.map(String) : [];
      return (
        <fieldset className="field choices" id={id}>
          <legend>{label(name)}</legend>
          {options.map((o) => (
            <label key={o} className="inline">
              <input
                type="checkbox"
                checked={list.includes(o)}
                disabled={disabled}
                onChange={(e) => onChange(e.target.checked ? [...list, o] : list.filter((x) => x !== o))}
              />{' '}{o}
            </label>
          ))}
        </fieldset>
      );
    }
    case 'lines':
      return (
        <div className="field">
          {title}
          <textarea
            id={id}
            rows={3}
            value={Array.isArray(value) ? value.join('\n') : shown(value)}
            placeholder={Array.isArray(schema.default) ? schema.default.join('\n') : ''}
            disabled={disabled}
            title="one per line"
            onChange={(e) => onChange(e.target.value.trim() === '' ? undefined : e.target.value.split('\n').map((l) => l.trim()).filter(Boolean))}
          />
        </div>
      );
    default:
      return <div className="field">{title}<JsonField id={id} value={value} schema={schema} disabled={disabled} onChange={onChange} /></div>;
  }
}

/** A tagged union: the tag as a choice, then the fields of the chosen variant. */
function TaggedFields(props: { path: string; schema: JsonSchema; value: Entry; disabled: boolean; onChange: (next: Entry) => void }): ReactNode {
  const variants = (props.schema.oneOf ?? props.schema.anyOf)!;
  const key = discriminator(variants)!;
  const tag = (v: JsonSchema): string => String(v.properties![key]!.const);
  const chosen = variants.find((v) => tag(v) === props.value[key]) ?? variants[0]!;
  const id = `field-${props.path}.${key}`;
  return (
    <>
      <div className="field">
        <label htmlFor={id}>{label(key)}</label>
        {/* A new variant starts from its tag alone: the previous variant's keys mean nothing to it. */}
        <select id={id} value={tag(chosen)} disabled={props.disabled} onChange={(e) => props.onChange({ [key]: e.target.value })}>
          {variants.map((v) => <option key={tag(v)}>{tag(v)}</option>)}
        </select>
      </div>
      <SchemaFields path={props.path} schema={chosen} value={props.value} skip={key} disabled={props.disabled} onChange={(next) => props.onChange({ ...next, [key]: tag(chosen) })} />
    </>
  );
}

/** The fields of one object schema (or of the chosen variant of a tagged union); `skip`: a key drawn elsewhere. */
export function SchemaFields(props: { path: string; schema: JsonSchema; value: Entry; skip?: string; disabled: boolean; onChange: (next: Entry) => void }): ReactNode {
  const { schema, value } = props;
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants && discriminator(variants)) return <TaggedFields path={props.path} schema={schema} value={value} disabled={props.disabled} onChange={props.onChange} />;
  const known = Object.keys(schema.properties ?? {});
  const unknown = Object.keys(value).filter((k) => !known.includes(k));
  return (
    <div className="schema-fields">
      {known.filter((k) => k !== props.skip).map((key) => (
        <SchemaField
          key={key}
          path={`${props.path}.${key}`}
          name={key}
          schema={schema.properties![key]!}
          value={value[key]}
          disabled={props.disabled}
          onChange={(next) => props.onChange(next === undefined ? without(value, key) : { ...value, [key]: next })}
        />
      ))}
      {/* Keys the schema does not know are kept as written: the engine's check on save names them. */}
      {unknown.length > 0 && <p className="field-problem">Not in the engine's schema: {unknown.join(', ')}</p>}
    </div>
  );
}
