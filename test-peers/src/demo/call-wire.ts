// What crosses the demo Asterisk's call API: a call to place (PlaceCallOptions as JSON) and the caller's
// report once it has ended (the recording as base64 of 16-bit little-endian samples).
import { z } from 'zod';
import { MIX_RATE } from '../audio/formats.ts';
import { writeWav } from '../audio/wav.ts';
import type { CallReport } from '../caller/session.ts';
import { parseScript } from '../caller/script-schema.ts';
import type { PlaceCallOptions } from '../peer.ts';

const MAX_WAIT_FOR_APP_MS = 120_000;

const callRequestSchema = z.strictObject({
  app: z.string().min(1).max(80).optional(),
  args: z.array(z.string().max(200)).max(20).optional(),
  variables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a channel variable name'), z.string().max(1000)).optional(),
  callerId: z.strictObject({ number: z.string().max(40).optional(), name: z.string().max(80).optional() }).optional(),
  script: z.array(z.unknown()),
  answered: z.boolean().optional(),
  transmitSilence: z.boolean().optional(),
  waitForAppMs: z.number().int().min(0).max(MAX_WAIT_FOR_APP_MS).optional(),
});

export type CallRequest = Omit<PlaceCallOptions, 'script' | 'hangupAtEnd' | 'context' | 'extension'> & { script: readonly unknown[] };

/** Validates a request body; the error names the key that is wrong. */
export function parseCallRequest(body: unknown): PlaceCallOptions {
  const result = callRequestSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${issue.path.map(String).join('.') || 'body'}: ${issue.message}`);
  }
  return { ...result.data, script: parseScript(result.data.script, 'script') };
}

export type WireReport = Omit<CallReport, 'recording' | 'writeWav'> & { recording: string };

export interface CallResult {
  channelId: string | null;
  report: CallReport;
}

export function encodeReport(report: CallReport): WireReport {
  const { recording, writeWav: _write, ...rest } = report;
  const bytes = Buffer.alloc(recording.length * 2);
  for (let i = 0; i < recording.length; i++) bytes.writeInt16LE(recording[i]!, 2 * i);
  return { ...rest, recording: bytes.toString('base64') };
}

export function decodeReport(wire: WireReport): CallReport {
  const bytes = Buffer.from(wire.recording, 'base64');
  const recording = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < recording.length; i++) recording[i] = bytes.readInt16LE(2 * i);
  return { ...wire, recording, writeWav: (path: string) => writeWav(path, recording, MIX_RATE) };
}
