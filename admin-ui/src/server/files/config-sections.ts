// The parts of the engine's YAML config the admin UI edits as forms: `contexts` and `providers`. The forms are
// drawn from JSON schemas generated from the engine's own zod schemas (in common), so a field the engine
// gains shows up without a change here; a save is checked by the same full validation as the YAML editor.
import { isDeepStrictEqual } from 'node:util';
import { Document, isAlias, isMap, isNode, isScalar, parseDocument, stringify, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { ConfigError, contextSchema, parseYaml, providerInstanceSchema } from '@ai-agent/common';

export const SECTIONS = ['contexts', 'providers'] as const;
export type Section = (typeof SECTIONS)[number];
/** Each section as written in the file (before `${VAR}` interpolation and defaults): entry name → its keys. */
export type Sections = Record<Section, Record<string, unknown>>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

let schemas: { context: unknown; provider: unknown } | undefined;

/**
 * JSON schemas of one context and one provider instance, as the forms take them. `io: 'input'`: what may be
 * written (defaults shown, optional keys optional); checks JSON Schema cannot say (refinements) stay in zod.
 */
export function sectionSchemas(): { context: unknown; provider: unknown } {
  schemas ??= {
    context: z.toJSONSchema(contextSchema, { io: 'input', unrepresentable: 'any' }),
    provider: z.toJSONSchema(providerInstanceSchema, { io: 'input', unrepresentable: 'any' }),
  };
  return schemas;
}

/** The sections as the file has them. Throws ConfigError when the file is not YAML a form can show. */
export function readSections(yaml: string): Sections {
  const tree = parseYaml(yaml);
  if (!isObject(tree)) throw new ConfigError('(root)', 'the file is not a YAML mapping');
  const out = {} as Sections;
  for (const section of SECTIONS) {
    const value = tree[section] ?? {};
    if (!isObject(value)) throw new ConfigError(section, 'must be a mapping of names to entries');
    out[section] = value;
  }
  return out;
}

/** Checks the shape a client sent (names and mappings); the values themselves are the schema's to judge. */
export function sectionsProblem(body: unknown): ConfigError | undefined {
  if (!isObject(body)) return new ConfigError('(body)', 'must be an object');
  for (const [section, entries] of Object.entries(body)) {
    if (!(SECTIONS as readonly string[]).includes(section)) return new ConfigError(section, 'not a section the forms edit');
    if (!isObject(entries)) return new ConfigError(section, 'must be a mapping of names to entries');
    for (const [name, entry] of Object.entries(entries)) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) return new ConfigError(`${section}.${name}`, 'names take letters, digits, _ - only (at most 64)');
      if (!isObject(entry)) return new ConfigError(`${section}.${name}`, 'must be a mapping');
    }
  }
  return undefined;
}

/**
 * The file with `sections` in place of its own. Only the text of what changed is replaced (a value, a key
 * added at the end of its mapping, a key removed with its lines), so every comment, key order and layout of the
 * operator's file stays as it was. Should the file use a form these edits do not handle (a flow mapping, an
 * alias), the whole document is written out again instead: comments kept, layout normalised.
 */
export function withSections(yaml: string, sections: Partial<Sections>): string {
  const doc = parseDocument(yaml, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError('(yaml)', 'the file has a syntax error; fix it in the YAML view');
  if (!isMap(doc.contents)) throw new ConfigError('(root)', 'the file is not a YAML mapping');
  const before = doc.toJS() as Record<string, unknown>;
  const wanted = { ...before, ...sections };
  const edits: Edit[] = [];
  try {
    for (const section of SECTIONS) {
      const next = sections[section];
      if (next !== undefined) textEdits(yaml, doc.contents, section, before[section], next, edits);
    }
    const text = applyEdits(yaml, edits);
    // The edit is kept only if the file it makes reads back as exactly what was asked for.
    if (isDeepStrictEqual(parseDocument(text, { uniqueKeys: true }).toJS(), wanted)) return text;
  } catch (err) {
    if (!(err instanceof Unhandled)) throw err;
  }
  for (const section of SECTIONS) {
    const next = sections[section];
    if (next !== undefined) update(doc, [section], before[section], next);
  }
  return doc.toString();
}

interface Edit {
  start: number;
  end: number;
  text: string;
}
/** A shape of YAML the text edits leave to the whole-document fallback. */
class Unhandled extends Error {}

/** A value as it fits after `key: ` on one line. */
function inline(value: unknown): string {
  if (typeof value === 'string' && value.includes('\n')) return JSON.stringify(value);
  const text = stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trimEnd();
  return text.includes('\n') ? JSON.stringify(value) : text;
}

const lineStart = (text: string, at: number): number => text.lastIndexOf('\n', at - 1) + 1;
function lineEnd(text: string, at: number): number {
  const end = text.indexOf('\n', at);
  return end < 0 ? text.length : end + 1;
}

/** The edits that turn the value of `key` in `map` (block style) from `before` into `after`. */
function textEdits(text: string, map: YAMLMap, key: string, before: unknown, after: unknown, edits: Edit[]): void {
  if (isDeepStrictEqual(before, after)) return;
  if (map.flow) throw new Unhandled();
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  if (!pair) {
    // A new key: appended after the mapping's last entry, indented like its siblings.
    const last = map.items.at(-1);
    const lastKey = last?.key;
    if (!last || !isScalar(lastKey) || !lastKey.range) throw new Unhandled();
    const indent = ' '.repeat(lastKey.range[0] - lineStart(text, lastKey.range[0]));
    const end = isNode(last.value) && last.value.range ? last.value.range[1] : lastKey.range[1];
    let at = lineEnd(text, Math.max(end - 1, lastKey.range[1]));
    // Comment lines indented under the last entry are its own (commented-out options): the new key goes after.
    for (let next = lineEnd(text, at); at < text.length; next = lineEnd(text, at)) {
      const line = text.slice(at, next);
      if (!/^\s*#/.test(line) || line.search(/\S/) <= indent.length) break;
      at = next;
    }
    edits.push({ start: at, end: at, text: `${at > 0 && text[at - 1] !== '\n' ? '\n' : ''}${indent}${key}: ${inline(after)}\n` });
    return;
  }
  const value = pair.value;
  if (!isScalar(pair.key) || !pair.key.range || !isNode(value) || !value.range || isAlias(value)) throw new Unhandled();
  if (after === undefined) {
    // A removed key: its lines go, from the key to the end of its value.
    edits.push({ start: lineStart(text, pair.key.range[0]), end: lineEnd(text, Math.max(value.range[1] - 1, pair.key.range[1])), text: '' });
    return;
  }
  if (isMap(value) && !value.flow && isObject(before) && isObject(after)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) textEdits(text, value, k, before[k], after[k], edits);
    return;
  }
  // Anything else (a scalar, a list, a flow mapping): the value's own text, on one line (a block value's text
  // ends with its line break, which stays).
  const ownText = text.slice(value.range[0], value.range[1]);
  edits.push({ start: value.range[0], end: value.range[1], text: `${inline(after)}${ownText.endsWith('\n') ? '\n' : ''}` });
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  // From the end, so earlier offsets stay true; at one offset the later edit first, so the earlier one (an
  // inner mapping's new key) ends up before it (its parent's new key).
  const order = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.start - a.start || b.i - a.i);
  for (const e of order) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

function update(doc: Document, path: string[], before: unknown, after: unknown): void {
  if (isDeepStrictEqual(before, after)) return;
  const node = doc.getIn(path, true);
  if (isObject(before) && isObject(after) && isMap(node)) {
    for (const key of Object.keys(before)) if (!(key in after)) doc.deleteIn([...path, key]);
    for (const [key, value] of Object.entries(after)) update(doc, [...path, key], before[key], value);
    return;
  }
  doc.setIn(path, doc.createNode(after));
}
