import { z } from 'zod';
import { parseUrlTemplate, UrlTemplateError } from '../../net/url-template.ts';
import { secretReferences, withoutSecretReferences } from '../secret-refs.ts';
import { MCP_TOOL_SEPARATOR } from './mcp.ts';

// A context's `http_tools:` — functions the model may call that make one HTTP request each. The model fills
// the arguments (checked against `parameters` first); the URL's host is fixed by the config; secrets reach
// headers only as `${env:NAME}`; the answer the model reads is mapped and size-capped.

/** Methods a retry cannot repeat an effect of (RFC 9110 idempotent methods). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'DELETE']);

const argumentName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'letters, digits and _ (not first), at most 64');
const description = z.string().max(500).optional();

const regexSource = z.string().max(500).refine((source) => {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

/** The JSON Schema subset an argument may use: flat scalars, so each value fits a URL or a JSON body. */
const argumentSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('string'),
      description,
      enum: z.array(z.string().max(500)).min(1).max(100).optional(),
      pattern: regexSource.optional(),
      minLength: z.number().int().min(0).max(2000).optional(),
      /** Every string is bounded (default 200 characters). */
      maxLength: z.number().int().min(1).max(2000).default(200),
    })
    .strict(),
  z
    .object({
      type: z.enum(['number', 'integer']),
      description,
      minimum: z.number().optional(),
      maximum: z.number().optional(),
    })
    .strict(),
  z.object({ type: z.literal('boolean'), description }).strict(),
]);

const parametersSchema = z
  .object({
    type: z.literal('object').default('object'),
    properties: z.record(argumentName, argumentSchema).default({}),
    required: z.array(argumentName).default([]),
  })
  .strict()
  .superRefine((p, issues) => {
    p.required.forEach((name, i) => {
      if (!(name in p.properties)) issues.addIssue({ code: 'custom', path: ['required', i], message: `"${name}" is not in properties` });
    });
  });

/** `customer.name`, `orders[0].id`, `items.0.sku`. */
const jsonPath = z.string().regex(/^[A-Za-z0-9_$-]+(\[\d+\]|\.[A-Za-z0-9_$-]+)*$/, 'a dotted path such as customer.name or orders[0].id');

const responseSchema = z
  .object({
    /** What the model sees: these fields of a JSON answer, by name; absent: the answer's text. */
    fields: z.record(argumentName, jsonPath).optional(),
    /** The text the model reads is cut to this many characters. */
    max_chars: z.number().int().min(50).max(20_000).default(2000),
  })
  .strict()
  .prefault({});

/** Header names that belong to the connection, not to the tool. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-authorization']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const headerValue = z
  .string()
  .max(4000)
  .refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks')
  .refine((v) => !withoutSecretReferences(v).includes('${'), 'secrets are referenced as ${env:NAME}');

/** Headers that carry credentials: their value must come from the environment. */
const CREDENTIAL_HEADER = /authorization|cookie|token|secret|passw|api-?key|auth/i;

export const httpToolSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'letters, digits, _ and - (letter first), at most 64')
      // MCP tools are offered as <server>__<tool>: an HTTP tool so named could shadow one.
      .refine((n) => !n.includes(MCP_TOOL_SEPARATOR), `must not contain "${MCP_TOOL_SEPARATOR}" (kept for MCP tools, <server>__<tool>)`),
    /** What the model reads to decide when to call it. */
    description: z.string().min(1).max(1000),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    url: z.string().min(1).max(2000),
    headers: z.record(z.string(), headerValue).default({}),
    parameters: parametersSchema.prefault({}),
    response: responseSchema,
    /** Per attempt, until the whole answer is in. */
    timeout_ms: z.number().int().min(100).max(60_000).default(5000),
    /** Extra attempts after a network error, a timeout, 429 or 5xx; only idempotent methods may retry. */
    retries: z.number().int().min(0).max(5).default(0),
    /** Larger answers are cut off while they arrive and the call fails. */
    max_response_bytes: z.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),
  })
  .strict()
  .superRefine((tool, issues) => {
    for (const [header, value] of Object.entries(tool.headers)) {
      // Checked here rather than as record keys, so the error names the header.
      if (!HEADER_NAME.test(header)) issues.addIssue({ code: 'custom', path: ['headers', header], message: 'not a valid header name' });
      else if (RESERVED_HEADERS.has(header.toLowerCase())) issues.addIssue({ code: 'custom', path: ['headers', header], message: 'set by the engine, not configurable' });
      else if (CREDENTIAL_HEADER.test(header) && secretReferences(value).length === 0) {
        issues.addIssue({ code: 'custom', path: ['headers', header], message: 'carries a credential: take it from the environment with ${env:NAME}' });
      }
    }
    let names: ReadonlySet<string> = new Set();
    try {
      names = parseUrlTemplate(tool.url).names;
    } catch (err) {
      if (!(err instanceof UrlTemplateError)) throw err;
      issues.addIssue({ code: 'custom', path: ['url'], message: err.message });
      return;
    }
    for (const name of names) {
      if (!(name in tool.parameters.properties)) issues.addIssue({ code: 'custom', path: ['url'], message: `{${name}} is not in parameters.properties` });
    }
    if (BODYLESS_METHODS.has(tool.method)) {
      for (const name of Object.keys(tool.parameters.properties)) {
        if (!names.has(name)) {
          issues.addIssue({ code: 'custom', path: ['parameters', 'properties', name], message: `not used in the url (${tool.method} sends no body)` });
        }
      }
    }
    if (tool.retries > 0 && !IDEMPOTENT_METHODS.has(tool.method)) {
      issues.addIssue({ code: 'custom', path: ['retries'], message: `only idempotent methods (GET, HEAD, PUT, DELETE) are retried, not ${tool.method}` });
    }
  });

export const httpToolsSchema = z.array(httpToolSchema).max(32).default([]);

export type HttpToolConfig = z.infer<typeof httpToolSchema>;
export type HttpToolArgumentConfig = z.infer<typeof argumentSchema>;

