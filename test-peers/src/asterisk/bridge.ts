import type { Channel } from './channel.ts';
import { ariTimestamp } from './json.ts';
import type { Playback } from './playback.ts';

/** One ARI bridge (rest-api/api-docs/bridges.json "Bridge"); only mixing is modelled. */
export class Bridge {
  readonly channels = new Set<Channel>();
  readonly subscribers = new Set<string>();
  readonly playbacks: Playback[] = [];
  readonly creationtime = new Date();
  /** This tick's bridge playback frame. */
  playFrame: Int16Array | null = null;

  constructor(readonly id: string, readonly bridgeType: string, readonly name: string, readonly creator: string) {}

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      technology: this.channels.size > 2 ? 'softmix' : 'simple_bridge',
      bridge_type: this.bridgeType,
      bridge_class: 'stasis',
      creator: this.creator,
      name: this.name,
      channels: [...this.channels].map((c) => c.id),
      creationtime: ariTimestamp(this.creationtime),
      video_mode: 'none',
    };
  }
}
