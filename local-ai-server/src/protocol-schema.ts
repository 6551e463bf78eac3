// The server's gate for client JSON: every message is validated against protocol.schema.json before anything
// reads it. Compiled once at import (a file read and an Ajv compile), so only the server imports this.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { ClientMessage } from './protocol.ts';

const schemaFile = new URL('../protocol.schema.json', import.meta.url);
const ajv = new Ajv({ discriminator: true, allErrors: false, strict: false });
const validateClient = ajv.compile<ClientMessage>(JSON.parse(readFileSync(schemaFile, 'utf8')));

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; code: 'bad_json' | 'invalid_message'; reason: string };

/** Parses and validates one text frame. The reason names the failing field, never echoes its value. */
export function parseClientMessage(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad_json', reason: 'message is not JSON' };
  }
  if (validateClient(value)) return { ok: true, message: value };
  const err = validateClient.errors?.[0];
  const where = err?.instancePath || '(message)';
  return { ok: false, code: 'invalid_message', reason: `${where} ${err?.message ?? 'is invalid'}` };
}
