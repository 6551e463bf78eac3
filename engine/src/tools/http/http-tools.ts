import {
  EgressAllowlist,
  fillSecretReferences,
  Scrubber,
  type ContextConfig,
  type ContextsConfig,
  type EgressConfig,
  type Logger,
} from '@ai-agent/common';
import { EgressClient } from '../../egress/egress-client.ts';
import { EgressGuard } from '../../egress/egress-guard.ts';
import type { HostResolver } from '../../egress/host-resolver.ts';
import type { Tool } from '../types.ts';
import { httpTool } from './http-tool.ts';

export interface HttpToolsOptions {
  /** The global egress settings (allowlist, redirects); each context adds its own allowlist. */
  egress: EgressConfig;
  resolver: HostResolver;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

/**
 * Builds each call's HTTP tools from its context's `http_tools`. Header secrets (`${env:NAME}`) are read by
 * `prepare()` at start and on every reload, so a missing one stops the start (or refuses the reload) with the
 * key named, and are then registered for redaction in logs and in what the model reads.
 */
export class HttpTools {
  private readonly guard: EgressGuard;
  /** Header values as configured → with their secrets filled in. */
  private readonly filled = new Map<string, string>();
  private readonly scrubber = new Scrubber();

  constructor(private readonly opts: HttpToolsOptions) {
    this.guard = new EgressGuard(new EgressAllowlist(opts.egress.allow), opts.resolver);
    // Caller numbers stay readable to the model; only the secrets are masked.
    this.scrubber.showPhoneNumbers = true;
  }

  /** Reads every header secret the contexts reference; throws a ConfigError naming the first missing one. */
  prepare(contexts: ContextsConfig): void {
    for (const [name, context] of Object.entries(contexts)) this.headersOf(name, context);
  }

  /** The HTTP tools one call of context `name` offers its model. */
  forContext(name: string, context: ContextConfig): Tool<Record<string, unknown>>[] {
    if (context.http_tools.length === 0) return [];
    const client = new EgressClient(this.guard.with(context.egress.allow), this.opts.egress.max_redirects);
    const headers = this.headersOf(name, context);
    return context.http_tools.map((tool, i) => httpTool(tool, { client, headers: headers[i]!, scrubber: this.scrubber, log: this.opts.log }));
  }

  /** Each tool's headers with their secrets filled in (read once per configured value). */
  private headersOf(name: string, context: ContextConfig): Array<Record<string, string>> {
    return context.http_tools.map((tool, i) =>
      Object.fromEntries(
        Object.entries(tool.headers).map(([header, value]) => {
          let filled = this.filled.get(value);
          if (filled === undefined) {
            const read = fillSecretReferences(value, `contexts.${name}.http_tools.${i}.headers.${header}`, this.opts.env);
            for (const secret of read.secrets) this.scrubber.addSecret(secret);
            filled = read.value;
            this.filled.set(value, filled);
          }
          return [header, filled];
        }),
      ),
    );
  }
}
