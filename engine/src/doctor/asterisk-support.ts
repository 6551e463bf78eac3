import type { EngineConfig } from '@ai-agent/common';

// What this product needs from Asterisk, by configuration: the release and the loaded modules.

export interface AsteriskVersion {
  major: number;
  minor: number;
}

/**
 * `system.version` of GET /ari/asterisk/info: "22.6.0", "20.16.0-rc1", "certified-20.7-cert4". A development
 * build ("GIT-master-f0c1c1a7") names no release: null.
 */
export function parseAsteriskVersion(text: string): AsteriskVersion | null {
  const m = /(?:^|[^\d.])(\d{1,3})\.(\d{1,3})(?:\.\d+)?/.exec(` ${text}`);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

/** Oldest release series this product supports (older series are past their end of life). */
export const OLDEST_SUPPORTED_MAJOR = 20;

/**
 * chan_websocket ("Media over Websocket Channel Driver") shipped in 23.0.0, 22.6.0, 21.11.0 and 20.16.0
 * (Asterisk's ChangeLog-22.6.0 and its WebSocket channel driver documentation). Per series, the first release
 * that has it; a later series has it from .0.
 */
const CHAN_WEBSOCKET_SINCE: Readonly<Record<number, number>> = { 20: 16, 21: 11, 22: 6 };
const CHAN_WEBSOCKET_FIRST_MAJOR = 20;
const CHAN_WEBSOCKET_ALL_FROM_MAJOR = 23;

export function hasChanWebsocket(v: AsteriskVersion): boolean {
  if (v.major >= CHAN_WEBSOCKET_ALL_FROM_MAJOR) return true;
  if (v.major < CHAN_WEBSOCKET_FIRST_MAJOR) return false;
  const since = CHAN_WEBSOCKET_SINCE[v.major];
  return since !== undefined && v.minor >= since;
}

export const CHAN_WEBSOCKET_RELEASES = '20.16+, 21.11+, 22.6+ or 23+';

export interface RequiredModule {
  /** The loaded file's name: ARI reports modules with `.so` and finds them exactly only that way. */
  module: string;
  /** Why the configuration needs it. */
  why: string;
}

/** The modules the configured call paths use, each once, in the order a reader expects them. */
export function requiredModules(config: EngineConfig): RequiredModule[] {
  const t = config.telephony;
  const list: RequiredModule[] = [
    { module: 'res_ari.so', why: 'ARI' },
    { module: 'res_stasis.so', why: 'Stasis applications' },
    { module: 'app_stasis.so', why: "the dialplan's Stasis()" },
    { module: 'res_http_websocket.so', why: 'the ARI events WebSocket' },
    { module: 'res_ari_channels.so', why: 'ARI channels: answer, externalMedia, hangup' },
    { module: 'res_ari_bridges.so', why: 'ARI bridges' },
  ];
  if (t.transport === 'rtp') list.push({ module: 'chan_rtp.so', why: 'ExternalMedia RTP (telephony.transport: rtp)' });
  if (t.transport === 'audiosocket') {
    list.push(
      { module: 'res_audiosocket.so', why: 'ExternalMedia AudioSocket (telephony.transport: audiosocket)' },
      { module: 'chan_audiosocket.so', why: 'ExternalMedia AudioSocket (telephony.transport: audiosocket)' },
    );
  }
  if (t.transport === 'websocket') list.push({ module: 'chan_websocket.so', why: 'WebSocket media (telephony.transport: websocket)' });
  if (t.dialplan_audiosocket.enabled) {
    if (!list.some((m) => m.module === 'res_audiosocket.so')) {
      list.push({ module: 'res_audiosocket.so', why: 'dialplan AudioSocket() (telephony.dialplan_audiosocket.enabled)' });
    }
    list.push({ module: 'app_audiosocket.so', why: 'dialplan AudioSocket() (telephony.dialplan_audiosocket.enabled)' });
  }
  return list;
}
