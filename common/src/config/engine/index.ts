import { z } from 'zod';
import { contextsConfigSchema } from './contexts.ts';
import { providersConfigSchema } from './providers.ts';
import { mediaConfigSchema } from './media.ts';
import { limitsConfigSchema, storeConfigSchema } from './operations.ts';
import { telephonyConfigSchema } from './telephony.ts';
import { egressConfigSchema } from './egress.ts';
import { webhooksConfigSchema } from './webhooks.ts';
import { mcpConfigSchema } from './mcp.ts';
import { EgressAllowlist } from '../../net/egress-allowlist.ts';
import { parseUrlTemplate } from '../../net/url-template.ts';
import { parseCidr } from '../../net/ip-address.ts';

// 0 asks the OS for a free port (tests, side-by-side instances).
const port = z.number().int().min(0).max(65535);

const ariSchema = z
  .object({
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must be an http:// or https:// URL')
      .refine((u) => !new URL(u).username && !new URL(u).password, 'must not carry credentials; set ARI_USERNAME/ARI_PASSWORD'),
    username: z.string().min(1),
    app: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only'),
  })
  .strict();

const controlSchema = z
  .object({
    port: port.default(15000),
    /** Failed authentications from one address before it is refused for the window. */
    auth_failures_per_minute: z.number().int().min(1).max(1000).default(10),
  })
  .strict();

const loggingSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    /** Show caller numbers in full in logs and records (default: last four digits only). */
    show_phone_numbers: z.boolean().default(false),
  })
  .strict();

/** The origin of a tool's URL template or a webhook URL; null when the URL's own check already failed. */
function originOf(template: string): URL | null {
  try {
    return new URL(parseUrlTemplate(template).origin);
  } catch {
    return null;
  }
}

export const engineConfigSchema = z
  .object({
    ari: ariSchema,
    control: controlSchema.default({ port: 15000, auth_failures_per_minute: 10 }),
    logging: loggingSchema.default({ level: 'info', show_phone_numbers: false }),
    telephony: telephonyConfigSchema,
    media: mediaConfigSchema,
    providers: providersConfigSchema,
    contexts: contextsConfigSchema,
    store: storeConfigSchema,
    limits: limitsConfigSchema,
    egress: egressConfigSchema,
    webhooks: webhooksConfigSchema,
    mcp: mcpConfigSchema,
    /**
     * Engine processes sharing the calls, each on its own core: `auto` (one per core) or a number; 1 is one process.
     * The first process keeps ARI's app and the control plane and moves callers to the least-loaded process.
     */
    shards: z.union([z.literal('auto'), z.number().int().min(1).max(64)], { error: 'expected auto or a number of processes from 1 to 64' }).default(1),
  })
  .strict()
  .superRefine((config, issues) => {
    const { transport, websocket_connection } = config.telephony;
    if (config.shards !== 1 && config.shards !== 'auto' && transport === 'websocket' && websocket_connection === 'client') {
      // Asterisk dials one fixed URL (websocket_client.conf) for every call, so one process must take them all.
      issues.addIssue({ code: 'custom', path: ['shards'], message: 'must be 1 or auto with websocket_connection: client (Asterisk dials one fixed URL)' });
    }
    // Every configured destination must be one the allowlist lets through, so a typo fails at start, not mid-call.
    // (A rule that is itself invalid has its own issue already.)
    const rules = [config.egress.allow, ...Object.values(config.contexts).map((c) => c.egress.allow)].flat();
    if (rules.some((rule) => rule.cidr !== undefined && !parseCidr(rule.cidr))) return;
    const global = new EgressAllowlist(config.egress.allow);
    for (const [name, context] of Object.entries(config.contexts)) {
      const allowlist = global.with(context.egress.allow);
      context.http_tools.forEach((tool, i) => {
        const origin = originOf(tool.url);
        const refusal = origin && allowlist.refusal(origin);
        if (refusal) issues.addIssue({ code: 'custom', path: ['contexts', name, 'http_tools', i, 'url'], message: `${refusal} (egress.allow)` });
      });
    }
    for (const [id, server] of Object.entries(config.mcp.servers)) {
      const refusal = server.transport === 'http' && global.refusal(new URL(server.url));
      if (refusal) issues.addIssue({ code: 'custom', path: ['mcp', 'servers', id, 'url'], message: `${refusal} (egress.allow)` });
    }
    for (const [name, context] of Object.entries(config.contexts)) {
      context.mcp_tools.forEach((entry, i) => {
        const server = entry.slice(0, entry.indexOf('__'));
        if (!config.mcp.servers[server]) issues.addIssue({ code: 'custom', path: ['contexts', name, 'mcp_tools', i], message: `no server "${server}" in mcp.servers` });
      });
    }
    for (const hook of ['pre_call', 'post_call'] as const) {
      const webhook = config.webhooks[hook];
      if (!webhook) continue;
      const origin = originOf(webhook.url);
      const refusal = origin && global.refusal(origin);
      if (refusal) issues.addIssue({ code: 'custom', path: ['webhooks', hook, 'url'], message: `${refusal} (egress.allow)` });
      webhook.contexts.forEach((context, i) => {
        if (!config.contexts[context]) issues.addIssue({ code: 'custom', path: ['webhooks', hook, 'contexts', i], message: `no context "${context}"` });
      });
    }
  });

export type EngineConfig = z.infer<typeof engineConfigSchema>;
