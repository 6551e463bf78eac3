import { z } from 'zod';

// `store:` and `limits:` sections of the engine config. `.prefault({})` (not `.default`) so an absent section
// is parsed and gets every inner default.

/** Context names as the dialplan sets them (AI_CONTEXT); also used as metric label values. */
const contextName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (max 64)');

export const storeConfigSchema = z
  .object({
    /** `sqlite`: a file of this engine's own; `postgres`: a server database several engines share (DATABASE_URL). */
    backend: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /** SQLite file; a relative path is resolved from the repository root. */
    path: z.string().min(1).default('data/calls.sqlite'),
    /**
     * PostgreSQL: this engine's name on the records it writes; at start it closes only its own calls left open.
     * Unique per engine and stable across restarts (default: host name and ARI app).
     */
    engine_id: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits, _ . : - only (max 64)').optional(),
    /** PostgreSQL without TLS to a host other than loopback (a trusted private network only). */
    postgres_allow_plaintext: z.boolean().default(false),
    /** Ended calls older than this are deleted by the purge job. */
    retention_days: z.number().int().min(1).max(3650).default(30),
    purge_interval_minutes: z.number().int().min(1).max(1440).default(60),
    /** Tool-call arguments in records: verbatim, passed through the secret/number scrubber, or not kept. */
    store_tool_arguments: z.enum(['full', 'redacted', 'none']).default('redacted'),
  })
  .strict()
  .prefault({});

export const limitsConfigSchema = z
  .object({
    max_concurrent_calls: z.number().int().min(1).max(10_000).default(20),
    /** Per-context ceilings, within the global one: { sales: 5 }. */
    per_context: z.record(contextName, z.number().int().min(0).max(10_000)).default({}),
    /** A call is ended (outcome max_duration) after this long. */
    max_call_seconds: z.number().int().min(10).max(86_400).default(1800),
    /** What a caller over the limit hears: an Asterisk sound (`sound:name`) played before the call is released. */
    busy_message: z.string().min(1).max(500).default('sound:all-circuits-busy-now'),
    /** On shutdown, active calls get this long to finish before they are ended with `drain_message`. */
    drain_timeout_seconds: z.number().int().min(0).max(3600).default(60),
    drain_message: z
      .string()
      .min(1)
      .max(500)
      .default('We are sorry, this service is restarting. Please call again in a few minutes. Goodbye.'),
  })
  .strict()
  .prefault({});

export type StoreConfig = z.infer<typeof storeConfigSchema>;
export type LimitsConfig = z.infer<typeof limitsConfigSchema>;
