import { z } from 'zod';
import { parseCidr, parseIp, specialCoverage } from '../../net/ip-address.ts';

// `egress:` (global) and a context's `egress:`: where the engine's outbound requests (HTTP tools, webhooks) may
// go. Loopback, private, link-local, metadata and other special addresses are refused unless a `cidr` rule
// names them; see engine/src/egress.

const hostPattern = z
  .string()
  .regex(
    /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$/,
    'a host name (api.example.com) or *.example.com',
  )
  .refine((h) => !parseIp(h), 'an address: use cidr: instead of host:');

const MIXED_RANGE =
  'mixes internal addresses (loopback, private, link-local, metadata, …) with public ones: allow the internal range on its own';

export const egressRuleSchema = z
  .object({
    host: hostPattern.optional(),
    cidr: z.string().superRefine((text, issues) => {
      const cidr = parseCidr(text);
      if (!cidr) issues.addIssue({ code: 'custom', message: 'not an address or CIDR range (10.0.0.0/8, fd00::/8)' });
      else if (specialCoverage(cidr) === 'mixed') issues.addIssue({ code: 'custom', message: MIXED_RANGE });
    }).optional(),
    /** Plain http to this host or range; https only otherwise. */
    http: z.boolean().default(false),
  })
  .strict()
  .refine((r) => (r.host === undefined) !== (r.cidr === undefined), 'set exactly one of host or cidr');

export const egressRulesSchema = z.array(egressRuleSchema).max(256).default([]);

/** `ip` or `ip:port` / `[v6]:port`, as node:dns `setServers` takes them. */
const dnsServer = z
  .string()
  .refine((s) => parseIp(s) !== null || /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/.test(s), 'an address or address:port');

export const egressConfigSchema = z
  .object({
    allow: egressRulesSchema,
    /** Redirects followed per request, each checked like the first URL (0: none). */
    max_redirects: z.number().int().min(0).max(10).default(3),
    /** DNS servers for outbound requests (default: the system resolver, /etc/hosts included). */
    dns_servers: z.array(dnsServer).max(8).default([]),
  })
  .strict()
  .prefault({});

export const contextEgressSchema = z.object({ allow: egressRulesSchema }).strict().prefault({});

export type EgressConfig = z.infer<typeof egressConfigSchema>;
export type EgressRuleConfig = z.infer<typeof egressRuleSchema>;
