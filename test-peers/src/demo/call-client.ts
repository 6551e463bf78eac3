// Places a scripted call into a running demo stack through its demo Asterisk's call API.
import { request } from 'node:http';
import type { DemoRunFile } from './run-file.ts';
import { decodeReport, type CallRequest, type CallResult, type WireReport } from './call-wire.ts';

/**
 * Resolves when the call has ended, with the caller's report. Plain node:http, not fetch: the answer comes
 * only when the call is over, which can be longer than fetch's five-minute header timeout.
 */
export function placeDemoCall(run: DemoRunFile, call: CallRequest): Promise<CallResult> {
  const body = JSON.stringify(call);
  return new Promise((resolve, reject) => {
    const req = request(
      `${run.calls}/calls`,
      {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${run.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: { error?: string; channelId?: string | null; report?: WireReport };
          try {
            parsed = JSON.parse(text) as typeof parsed;
          } catch {
            return reject(new Error(`the demo Asterisk answered HTTP ${res.statusCode} without JSON`));
          }
          if (res.statusCode !== 200 || !parsed.report) return reject(new Error(`the demo Asterisk refused the call: ${parsed.error ?? `HTTP ${res.statusCode}`}`));
          resolve({ channelId: parsed.channelId ?? null, report: decodeReport(parsed.report) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => reject(new Error(`cannot reach the demo Asterisk at ${run.calls}: ${err.message}`)));
    req.end(body);
  });
}
