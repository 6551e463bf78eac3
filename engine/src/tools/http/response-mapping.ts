import type { HttpToolConfig } from '@ai-agent/common';

type Mapping = HttpToolConfig['response'];

/** `orders[0].id` → ['orders', '0', 'id']. */
function steps(path: string): string[] {
  return path.replace(/\[(\d+)\]/g, '.$1').split('.');
}

/** The value at a simple path; own properties only, so `__proto__` and friends lead nowhere. */
export function pick(value: unknown, path: string): unknown {
  let node = value;
  for (const step of steps(path)) {
    if (Array.isArray(node) && /^\d+$/.test(step)) node = node[Number(step)];
    else if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, step)) node = (node as Record<string, unknown>)[step];
    else return undefined;
  }
  return node;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function cap(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}…[truncated]`;
}

/**
 * What the model reads of an answer: the configured fields of a JSON answer as one JSON object (a field the
 * answer lacks is null), or without fields the answer itself (JSON compacted), cut to `max_chars`.
 */
export function mapAnswer(body: string, mapping: Mapping): { ok: true; text: string } | { ok: false; reason: string } {
  const parsed = parseJson(body);
  if (!mapping.fields) return { ok: true, text: cap(parsed.ok ? JSON.stringify(parsed.value) : body, mapping.max_chars) };
  if (!parsed.ok) return { ok: false, reason: 'the answer is not JSON' };
  const selected: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(mapping.fields)) selected[name] = pick(parsed.value, path) ?? null;
  return { ok: true, text: cap(JSON.stringify(selected), mapping.max_chars) };
}
