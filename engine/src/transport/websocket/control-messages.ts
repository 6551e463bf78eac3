/**
 * chan_websocket control messages. Asterisk sends events as plain text ("MEDIA_START connection_id:… …")
 * or, with control_message_format json, as JSON objects with an "event" key; commands go back the same way.
 */
export type ControlFormat = 'plain-text' | 'json';

export interface ControlEvent {
  event: string;
  /** key:value fields (plain text) or the JSON object's string/number fields. */
  fields: Record<string, string>;
  /** The bare argument of "MEDIA_MARK_PROCESSED <id>" / "MEDIA_BUFFERING_COMPLETED <id>" (plain text). */
  argument: string | null;
}

/** Longest text message Asterisk accepts (MAX_TEXT_MESSAGE_LEN). */
export const MAX_COMMAND_BYTES = 128;
/** We accept somewhat longer events (MEDIA_START with channel variables in JSON) but not unbounded. */
export const MAX_EVENT_BYTES = 16 * 1024;

const EVENT_NAME = /^[A-Z_]{2,40}$/;

/** Parses an event; null when it is not one. */
export function parseControlEvent(text: string): ControlEvent | null {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch {
      return null;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return null;
    const record = obj as Record<string, unknown>;
    if (typeof record.event !== 'string' || !EVENT_NAME.test(record.event)) return null;
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(record)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = String(v);
    }
    return { event: record.event, fields, argument: fields.correlation_id ?? null };
  }
  const space = trimmed.indexOf(' ');
  const event = space < 0 ? trimmed : trimmed.slice(0, space);
  if (!EVENT_NAME.test(event)) return null;
  const rest = space < 0 ? '' : trimmed.slice(space + 1);
  const fields: Record<string, string> = {};
  let argument: string | null = null;
  // error_text runs to the end of the line and may contain spaces.
  const errorAt = rest.indexOf('error_text:');
  const head = errorAt >= 0 ? rest.slice(0, errorAt) : rest;
  if (errorAt >= 0) fields.error_text = rest.slice(errorAt + 'error_text:'.length);
  for (const token of head.split(' ')) {
    if (!token) continue;
    const colon = token.indexOf(':');
    if (colon > 0) fields[token.slice(0, colon)] = token.slice(colon + 1);
    else argument ??= token;
  }
  return { event, fields, argument };
}

/** Formats a command, with an optional correlation id. */
export function formatCommand(format: ControlFormat, command: string, correlationId?: string): string {
  if (format === 'json') {
    return JSON.stringify(correlationId === undefined ? { command } : { command, correlation_id: correlationId });
  }
  return correlationId === undefined ? command : `${command} ${correlationId}`;
}
