import { z } from 'zod';
import { contextsConfigSchema } from './contexts.ts';
import { providersConfigSchema } from './providers.ts';
import { mediaConfigSchema } from './media.ts';
import { limitsConfigSchema, storeConfigSchema } from './operations.ts';
import { telephonyConfigSchema } from './telephony.ts';

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
  })
  .strict();

export type EngineConfig = z.infer<typeof engineConfigSchema>;
