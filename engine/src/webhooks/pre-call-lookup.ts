import { randomUUID } from 'node:crypto';
import type { Logger, PreCallWebhookConfig } from '@ai-agent/common';
import type { CallInfo } from '../call/index.ts';
import type { WebhookSender } from './webhook-sender.ts';

/** A value the answer sets is cut to this (the same bound as a configured default). */
const MAX_VALUE_CHARS = 500;

/**
 * The pre-call webhook: before the greeting, the call is POSTed as a signed `call.started` event and the JSON
 * object answered fills the context's {{variables}}. Only the variables the config declares (with their
 * defaults) are taken, as text; a slow, failed or malformed answer leaves the defaults, so a caller is greeted
 * within `timeout_ms` whatever the receiver does. Not retried: the caller is waiting.
 */
export class PreCallLookup {
  private readonly url: URL;

  constructor(private readonly config: PreCallWebhookConfig, private readonly sender: WebhookSender, private readonly log: Logger) {
    this.url = new URL(config.url);
  }

  appliesTo(context: string): boolean {
    return this.config.contexts.length === 0 || this.config.contexts.includes(context);
  }

  async variables(call: CallInfo, signal: AbortSignal): Promise<Record<string, string>> {
    const { defaults } = this.config;
    const id = randomUUID();
    // The full caller number: looking the caller up is what this request is for.
    const body = JSON.stringify({
      type: 'call.started',
      id,
      created_at: new Date().toISOString(),
      call: { id: call.id, context: call.context, channel_id: call.channelId, caller_number: call.callerNumber, caller_name: call.callerName, transport: call.transport },
    });
    const started = performance.now();
    try {
      const res = await this.sender.post(this.url, id, body, this.config.timeout_ms, signal);
      if (res.status < 200 || res.status > 299) throw new Error(`HTTP ${res.status}`);
      const answer = JSON.parse(res.body.toString('utf8')) as unknown;
      if (!answer || typeof answer !== 'object' || Array.isArray(answer)) throw new Error('the answer is not a JSON object');
      const values: Record<string, string> = { ...defaults };
      for (const name of Object.keys(defaults)) {
        const value = (answer as Record<string, unknown>)[name];
        if (Object.hasOwn(answer, name) && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
          values[name] = String(value).slice(0, MAX_VALUE_CHARS);
        }
      }
      this.log.debug({ callId: call.id, ms: Math.round(performance.now() - started) }, 'pre-call lookup answered');
      return values;
    } catch (err) {
      if (!signal.aborted) {
        this.log.warn({ callId: call.id, reason: (err as Error).message, ms: Math.round(performance.now() - started) }, 'pre-call lookup failed; using the defaults');
      }
      return { ...defaults };
    }
  }
}
