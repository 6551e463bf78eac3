import type { CallerSession } from '../caller/session.ts';
import type { MediaEndpoint } from '../media-endpoint.ts';
import type { Bridge } from './bridge.ts';
import { ariTimestamp } from './json.ts';
import type { Playback } from './playback.ts';

export type ChannelState = 'Down' | 'Rsrvd' | 'OffHook' | 'Dialing' | 'Ring' | 'Ringing' | 'Up' | 'Busy';

export interface PartyId {
  name: string;
  number: string;
}

export interface DialplanLocation {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

/** Which kind of party a channel models. */
export type ChannelKind = 'caller' | 'external-media' | 'outbound';

/** One Asterisk channel, with its ARI Channel model (rest-api/api-docs/channels.json "Channel"). */
export class Channel {
  state: ChannelState;
  caller: PartyId;
  connected: PartyId = { name: '', number: '' };
  dialplan: DialplanLocation;
  readonly creationtime = new Date();
  readonly vars = new Map<string, string>();
  /** Apps receiving this channel's events. */
  readonly subscribers = new Set<string>();
  /** The Stasis app the channel is executing (null when not in Stasis). */
  stasisApp: string | null = null;
  bridge: Bridge | null = null;
  media: MediaEndpoint | null = null;
  session: CallerSession | null = null;
  /** Channel playbacks, the head is playing. */
  readonly playbacks: Playback[] = [];
  /** Ringback the channel hears (ringing indication, or a modelled Dial after a transfer). */
  ringback: { samples: Int16Array; pos: number } | null = null;
  /** Music on hold playing to the channel (POST /channels/{id}/moh), replacing the bridge's audio. */
  musicOnHold: { samples: Int16Array; pos: number } | null = null;
  /** Added to its bridge with `mute`: the bridge does not hear it. */
  mutedInBridge = false;
  hungUp = false;
  /** This tick's contribution, copied because legs reuse their frame buffers. */
  readonly contribution = new Int16Array(160);
  hasContribution = false;
  /** Scratch for what the channel hears this tick. */
  readonly heard = new Int16Array(160);

  constructor(
    readonly id: string,
    readonly name: string,
    readonly kind: ChannelKind,
    init: { state: ChannelState; caller?: PartyId; dialplan: DialplanLocation },
  ) {
    this.state = init.state;
    this.caller = init.caller ?? { name: '', number: '' };
    this.dialplan = init.dialplan;
  }

  toJSON(channelvars?: readonly string[] | 'all'): Record<string, unknown> {
    const json: Record<string, unknown> = {
      id: this.id,
      name: this.name,
      state: this.state,
      protocol_id: '',
      caller: { ...this.caller },
      connected: { ...this.connected },
      accountcode: '',
      dialplan: { ...this.dialplan },
      creationtime: ariTimestamp(this.creationtime),
      language: 'en',
    };
    const vars = this.channelVars(channelvars);
    if (vars) json.channelvars = vars;
    return json;
  }

  /** The variables ari.conf `channelvars` would include in every snapshot. */
  channelVars(names: readonly string[] | 'all' | undefined): Record<string, string> | null {
    if (!names) return null;
    const out: Record<string, string> = {};
    if (names === 'all') for (const [k, v] of this.vars) out[k] = v;
    else for (const k of names) if (this.vars.has(k)) out[k] = this.vars.get(k)!;
    return Object.keys(out).length > 0 ? out : null;
  }
}
