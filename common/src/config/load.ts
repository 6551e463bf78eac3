import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { ZodType } from 'zod';
import { ConfigError } from './errors.ts';
import { interpolate } from './interpolate.ts';
import { secretReferences } from './secret-refs.ts';

/** Keys that would hold a secret: refused in YAML, because secrets come only from env or *_FILE. */
const SECRET_KEY = /(password|passwd|secret|token|api_?key|private_?key|credentials?)$/i;

function refuseSecrets(node: unknown, path: string[] = []): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => refuseSecrets(item, [...path, String(i)]));
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    const key = [...path, k];
    // A value that takes its secret from the environment (`Bearer ${env:CRM_TOKEN}`) holds none itself.
    const referencesSecret = typeof v === 'string' && secretReferences(v).length > 0;
    if (SECRET_KEY.test(k) && v !== null && typeof v !== 'object' && !referencesSecret) {
      const envName = key.join('_').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
      throw new ConfigError(
        key.join('.'),
        `secrets are not allowed in the config file; set it in the environment (e.g. ${envName} or ${envName}_FILE)`,
      );
    }
    refuseSecrets(v, key);
  }
}

/** Alias expansions a config may use; more is a resource-exhaustion attack ("billion laughs"), not a config. */
const MAX_ALIAS_COUNT = 100;

/** Parses YAML text into a plain tree; syntax errors name the line, never echo its content (which may hold a secret). */
export function parseYaml(text: string, source?: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0];
    const where = line ? `line ${line.line}, column ${line.col}` : 'unknown position';
    throw new ConfigError('(yaml)', `syntax error at ${where} (${first.code})`, source);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch {
    // The yaml library throws a plain error for an alias bomb (and for aliases it cannot resolve).
    throw new ConfigError('(yaml)', `aliases expand too far or cannot be resolved (at most ${MAX_ALIAS_COUNT} expansions)`, source);
  }
}

/** The dotted key whose string value is `value`, searched depth first. */
function keyHolding(node: unknown, value: string, path: string[] = []): string | undefined {
  if (node === value) return path.join('.') || '(root)';
  if (!node || typeof node !== 'object') return undefined;
  for (const [k, v] of Object.entries(node)) {
    const found = keyHolding(v, value, [...path, k]);
    if (found) return found;
  }
  return undefined;
}

/**
 * A schema check that throws instead of reporting an issue (e.g. `new URL()` in a refinement, on a value the
 * URL check already refused) still becomes a ConfigError naming the key: errors that carry the rejected input
 * (Node's ERR_INVALID_URL does) are traced back to the key holding it.
 */
function thrownByCheck(err: unknown, tree: unknown): ConfigError {
  const { code, input } = err as { code?: unknown; input?: unknown };
  const key = typeof input === 'string' ? keyHolding(tree, input) : undefined;
  const reason = code === 'ERR_INVALID_URL' ? 'is not a valid URL' : 'could not be validated';
  return new ConfigError(key ?? '(config)', reason);
}

/** Validates an already-parsed tree: interpolation, secret refusal, schema. */
export function validateConfig<T>(tree: unknown, schema: ZodType<T>, env: NodeJS.ProcessEnv, source?: string): T {
  try {
    refuseSecrets(tree);
    const resolved = interpolate(tree, env);
    let result: ReturnType<typeof schema.safeParse>;
    try {
      result = schema.safeParse(resolved);
    } catch (err) {
      throw thrownByCheck(err, resolved);
    }
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const key = issue.path.length ? issue.path.map(String).join('.') : '(root)';
      throw new ConfigError(key, issue.message);
    }
    return result.data;
  } catch (err) {
    if (err instanceof ConfigError && source && !err.source) throw new ConfigError(err.key, err.reason, source);
    throw err;
  }
}

/** Loads, interpolates and validates a YAML config file. Any problem is one ConfigError naming the key. */
export function loadYamlConfig<T>(file: string, schema: ZodType<T>, env: NodeJS.ProcessEnv = process.env): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('(file)', `cannot read config file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, file);
  }
  return validateConfig(parseYaml(text, file), schema, env, file);
}
