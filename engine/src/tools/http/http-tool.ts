import { setTimeout as sleep } from 'node:timers/promises';
import {
  ArgumentValueError,
  expandUrlTemplate,
  IDEMPOTENT_METHODS,
  parseUrlTemplate,
  type HttpToolConfig,
  type Logger,
  type Scrubber,
} from '@ai-agent/common';
import { backoffDelay } from '../../egress/backoff.ts';
import { EgressError } from '../../egress/egress-error.ts';
import type { EgressClient, EgressResponse } from '../../egress/egress-client.ts';
import type { Tool, ToolResult } from '../types.ts';
import { argumentsSchema } from './argument-schema.ts';
import { mapAnswer } from './response-mapping.ts';

/** Answers worth another attempt of an idempotent request. */
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRY_INITIAL_MS = 200;
const RETRY_MAX_MS = 2000;
/** How much of an error answer the model reads. */
const ERROR_BODY_CHARS = 200;

export interface HttpToolDeps {
  client: EgressClient;
  /** The configured headers with their `${env:…}` secrets filled in. */
  headers: Readonly<Record<string, string>>;
  /** Masks the tools' secrets in whatever the model reads (an answer may echo a header back). */
  scrubber: Scrubber;
  log: Logger;
}

/**
 * A tool that makes one HTTP request (retried for idempotent methods): the model's arguments, already checked
 * against the tool's parameters, fill the URL template's path and query (and, for POST/PUT/PATCH, the JSON body
 * with the rest); the answer is mapped to what the model reads. Failures come back as a short error text.
 */
export function httpTool(config: HttpToolConfig, deps: HttpToolDeps): Tool<Record<string, unknown>> {
  const template = parseUrlTemplate(config.url);
  const sendsBody = config.method === 'POST' || config.method === 'PUT' || config.method === 'PATCH';
  const attempts = IDEMPOTENT_METHODS.has(config.method) ? config.retries + 1 : 1;
  const forModel = (text: string): string => deps.scrubber.scrub(text);

  async function send(url: URL, body: string | undefined, signal: AbortSignal): Promise<{ res: EgressResponse; attempt: number }> {
    const headers: Record<string, string> = { accept: 'application/json', ...(sendsBody ? { 'content-type': 'application/json' } : {}) };
    for (const [name, value] of Object.entries(deps.headers)) headers[name.toLowerCase()] = value;
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= attempts;
      try {
        const res = await deps.client.request({
          method: config.method, url, headers, body, signal, timeoutMs: config.timeout_ms, maxResponseBytes: config.max_response_bytes,
        });
        if (last || !RETRY_STATUS.has(res.status)) return { res, attempt };
      } catch (err) {
        if (last || !(err instanceof EgressError) || !err.transient) throw Object.assign(err as Error, { attempt });
      }
      await sleep(backoffDelay(attempt, RETRY_INITIAL_MS, RETRY_MAX_MS), undefined, { signal });
    }
  }

  return {
    name: config.name,
    description: config.description,
    parameters: argumentsSchema(config.parameters),
    async run(args, ctx): Promise<ToolResult> {
      let url: URL;
      try {
        url = expandUrlTemplate(template, args);
      } catch (err) {
        if (err instanceof ArgumentValueError) return { content: `error: invalid arguments for ${config.name}: ${err.message}` };
        throw err;
      }
      const rest = Object.fromEntries(Object.entries(args).filter(([name]) => !template.names.has(name)));
      const body = sendsBody ? JSON.stringify(rest) : undefined;
      const log = deps.log.child({ callId: ctx.call.id, tool: config.name, host: url.host });
      const started = performance.now();
      let outcome: { res: EgressResponse; attempt: number };
      try {
        outcome = await send(url, body, ctx.signal);
      } catch (err) {
        const attempt = (err as { attempt?: number }).attempt;
        log.warn({ failure: (err as EgressError).failure, reason: (err as Error).message, attempts: attempt }, 'http tool failed');
        const why = err instanceof EgressError && err.failure === 'refused' ? `refused by the egress policy: ${err.message}` : (err as Error).message;
        return { content: forModel(`error: ${config.name} failed: ${why}`) };
      }
      const { res, attempt } = outcome;
      const ms = Math.round(performance.now() - started);
      const text = res.body.toString('utf8');
      if (res.status < 200 || res.status > 299) {
        log.warn({ status: res.status, attempts: attempt, ms }, 'http tool answered with an error status');
        const detail = text.trim() ? `: ${text.trim().slice(0, ERROR_BODY_CHARS)}` : '';
        return { content: forModel(`error: ${config.name} answered HTTP ${res.status}${detail}`) };
      }
      log.info({ status: res.status, attempts: attempt, ms, bytes: res.body.length }, 'http tool answered');
      const mapped = mapAnswer(text, config.response);
      if (!mapped.ok) return { content: `error: ${config.name}: ${mapped.reason}` };
      return { content: forModel(mapped.text || `(empty answer, HTTP ${res.status})`) };
    },
  };
}
