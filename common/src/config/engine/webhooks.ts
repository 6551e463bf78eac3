import { z } from 'zod';
import { isLoopbackHost } from '../../net/bind-policy.ts';
import { normalizeHost } from '../../net/egress-allowlist.ts';

// `webhooks:` — a signed lookup before each call's greeting (pre_call) and the call record after it ends
// (post_call), delivered from a durable outbox. Requests are signed like every service-to-service request
// (SERVICE_SECRET_ENGINE) and go through the egress allowlist like HTTP tools.

const contextName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

const webhookUrl = z
  .string()
  .url()
  .refine((u) => {
    const url = new URL(u);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(normalizeHost(url.hostname)));
  }, 'must be https:// (http:// only to a loopback host, for development)')
  .refine((u) => !new URL(u).username && !new URL(u).password, 'must not carry credentials')
  .refine((u) => !new URL(u).hash, 'must not have a #fragment');

const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'letters, digits and _ (not first)');

const preCallSchema = z
  .object({
    url: webhookUrl,
    /** The greeting waits at most this long for the answer; then the defaults apply. */
    timeout_ms: z.number().int().min(100).max(10_000).default(1500),
    /**
     * The variables the answer may set (a JSON object; other keys are ignored), with the values used when
     * the lookup fails or leaves one out. Contexts use them as {{name}} in system_prompt and greeting.
     */
    defaults: z.record(variableName, z.string().max(500)).default({}),
    /** Contexts that run the lookup (default: all). */
    contexts: z.array(contextName).default([]),
  })
  .strict();

const postCallSchema = z
  .object({
    url: webhookUrl,
    /** Per delivery attempt. */
    timeout_ms: z.number().int().min(100).max(60_000).default(10_000),
    /** Contexts whose calls are posted (default: all). */
    contexts: z.array(contextName).default([]),
  })
  .strict();

const outboxSchema = z
  .object({
    /** Events waiting for delivery survive restarts here; a relative path is resolved from the repository root. */
    dir: z.string().min(1).default('data/webhook-outbox'),
    /** Backoff after a failed delivery: doubles from retry_initial_ms up to retry_max_ms. */
    retry_initial_ms: z.number().int().min(50).max(600_000).default(2000),
    retry_max_ms: z.number().int().min(50).max(3_600_000).default(300_000),
    /** An event still undelivered this long after it was queued moves to the outbox's failed/ folder. */
    give_up_after_hours: z.number().min(0.01).max(24 * 30).default(72),
    /** Events queued at most; beyond it new events are dropped and logged (a receiver down for days). */
    max_events: z.number().int().min(10).max(1_000_000).default(10_000),
  })
  .strict()
  .superRefine((o, issues) => {
    if (o.retry_max_ms < o.retry_initial_ms) issues.addIssue({ code: 'custom', path: ['retry_max_ms'], message: 'must not be below retry_initial_ms' });
  })
  .prefault({});

export const webhooksConfigSchema = z
  .object({
    pre_call: preCallSchema.optional(),
    post_call: postCallSchema.optional(),
    outbox: outboxSchema,
  })
  .strict()
  .prefault({});

export type WebhooksConfig = z.infer<typeof webhooksConfigSchema>;
export type PreCallWebhookConfig = z.infer<typeof preCallSchema>;
export type PostCallWebhookConfig = z.infer<typeof postCallSchema>;
