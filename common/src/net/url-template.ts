// URL templates of HTTP tools: `https://crm.example.com/customers/{id}?q={q}`. Arguments go only into the
// path and query, percent-encoded, so a model's argument can never change the scheme, host, port or
// credentials, nor add a path segment, query parameter or fragment of its own.

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]{0,63})\}/g;
const marker = (i: number): string => `zzarg${i}zz`;

export interface UrlTemplate {
  readonly text: string;
  readonly origin: string;
  /** Argument names in the path (a value there may not be empty, `.` or `..`). */
  readonly pathNames: ReadonlySet<string>;
  /** Every argument name the template uses. */
  readonly names: ReadonlySet<string>;
}

export class UrlTemplateError extends Error {}

/** Checks and parses a template; a problem throws UrlTemplateError with the reason. */
export function parseUrlTemplate(text: string): UrlTemplate {
  const names: string[] = [];
  const filled = text.replace(PLACEHOLDER, (_m, name: string) => marker(names.push(name) - 1));
  if (/[{}]/.test(filled)) throw new UrlTemplateError('{ and } may only surround an argument name ({name})');
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    throw new UrlTemplateError('is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UrlTemplateError('must be an http:// or https:// URL');
  if (url.username || url.password) throw new UrlTemplateError('must not carry credentials (user@host); use headers');
  if (url.hash) throw new UrlTemplateError('must not have a #fragment');
  const pathNames = new Set<string>();
  names.forEach((name, i) => {
    const m = marker(i);
    if (url.pathname.includes(m)) pathNames.add(name);
    else if (!url.search.includes(m)) throw new UrlTemplateError(`{${name}} must be in the path or the query, never the host`);
  });
  return { text, origin: url.origin, pathNames, names: new Set(names) };
}

export class ArgumentValueError extends Error {
  constructor(readonly argument: string, reason: string) {
    super(`${argument}: ${reason}`);
  }
}

/** The URL for these arguments; a value that cannot go where its placeholder is throws ArgumentValueError. */
export function expandUrlTemplate(template: UrlTemplate, args: Readonly<Record<string, unknown>>): URL {
  const text = template.text.replace(PLACEHOLDER, (_m, name: string) => {
    const raw = args[name];
    const value = raw === undefined || raw === null ? '' : String(raw);
    if (template.pathNames.has(name) && (value === '' || value === '.' || value === '..')) {
      throw new ArgumentValueError(name, value === '' ? 'must not be empty' : 'is not a valid path value');
    }
    return encodeURIComponent(value);
  });
  const url = new URL(text);
  // Unreachable with percent-encoded values; kept so a future template syntax cannot move a request elsewhere.
  if (url.origin !== template.origin) throw new ArgumentValueError('(url)', 'would change the host');
  return url;
}
