import { BlockList, isIP } from 'node:net';
import { z } from 'zod';

/**
 * Source addresses as a BlockList (used as an allowlist): each entry an IPv4/IPv6 address or a CIDR. Throws
 * naming the entry that is neither.
 */
export function sourceAllowlist(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const bits = prefix === undefined ? undefined : Number(prefix);
    if (!family || extra !== undefined || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128)) || prefix === '')) {
      throw new Error(`"${entry}" is not an IP address or CIDR (e.g. 192.0.2.10 or 192.0.2.0/24)`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, bits, type);
  }
  return list;
}

const sourceList = z.array(z.string()).superRefine((entries, ctx) => {
  try {
    sourceAllowlist(entries);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** How calls reach the engine's media listeners, and which codec each transport uses. */
export const telephonyConfigSchema = z
  .object({
    /** Media leg the engine creates for each Stasis call. */
    transport: z.enum(['rtp', 'audiosocket', 'websocket']).default('rtp'),
    /** ExternalMedia RTP format (ulaw/alaw recommended: Asterisk drops slin16 replies, see README). */
    rtp_format: z.enum(['ulaw', 'alaw', 'slin16']).default('ulaw'),
    /**
     * ExternalMedia AudioSocket format: slin (8 kHz) or slin16; µ-law/A-law are mislabelled by Asterisk. slin
     * by default: a PSTN call is narrowband, and slin16 of it only carries an empty upper band (the offline
     * recogniser detects that and treats it as telephone audio, at ~60 ms more partial latency). Use slin16
     * for wideband (G.722/Opus) phones.
     */
    audiosocket_format: z.enum(['slin', 'slin16']).default('slin'),
    /** Address Asterisk connects to for AudioSocket (default: the AudioSocket bind address). */
    audiosocket_advertise_host: z.string().min(1).optional(),
    /** chan_websocket format. */
    websocket_format: z.enum(['ulaw', 'alaw', 'slin16']).default('ulaw'),
    /**
     * Who opens the media WebSocket: `server` (Asterisk serves /media/<id> and the engine connects; nothing
     * to configure on Asterisk) or `client` (Asterisk connects out to the engine's media WebSocket listener,
     * using the `websocket_client.conf` entry named by `websocket_client`).
     */
    websocket_connection: z.enum(['server', 'client']).default('server'),
    websocket_client: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be the name of a websocket_client.conf entry').optional(),
    /**
     * Calls the dialplan's AudioSocket() app sends straight to the AudioSocket listener (no ARI). Off by default:
     * anyone who can reach that port could otherwise start AI calls. When on, only `allowed_sources` may.
     */
    dialplan_audiosocket: z
      .object({
        enabled: z.boolean().default(false),
        context: z.string().min(1).default('default'),
        /** Addresses or CIDRs Asterisk connects from. */
        allowed_sources: sourceList.default(['127.0.0.1', '::1']),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.transport === 'websocket' && t.websocket_connection === 'client' && !t.websocket_client) {
      ctx.addIssue({ code: 'custom', path: ['websocket_client'], message: 'required with websocket_connection: client (the websocket_client.conf entry Asterisk dials out with)' });
    }
  })
  .prefault({});

export type TelephonyConfig = z.infer<typeof telephonyConfigSchema>;
