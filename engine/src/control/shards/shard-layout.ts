import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { EngineConfig } from '@ai-agent/common';

/**
 * How one engine spreads its calls over processes (`shards:`). Process 1 is the one `npm start` runs: it keeps the
 * operator's Stasis app, the control plane, the call store and the dialplan AudioSocket port, and moves each new
 * caller to the least-loaded process. Processes 2…N are whole engines on their own Stasis app, their own slice of
 * the RTP ports and an OS-chosen AudioSocket port, writing their records through process 1.
 */
export interface ShardPlace {
  /** 1-based; 1 is the primary. */
  index: number;
  count: number;
}

/** Env vars process 1 gives the processes it starts. */
export const SHARD_ENV = { index: 'AI_AGENT_SHARD_INDEX', count: 'AI_AGENT_SHARD_COUNT' } as const;

/** The number of processes `shards:` asks for on this host. */
export function shardCount(config: EngineConfig, cores = availableParallelism()): number {
  if (config.shards !== 'auto') return config.shards;
  const { transport, websocket_connection } = config.telephony;
  // Asterisk dials one fixed URL in chan_websocket client mode: every call must land in one process.
  if (transport === 'websocket' && websocket_connection === 'client') return 1;
  return Math.max(1, cores);
}

/** This process's place, from the env process 1 set; undefined in process 1 itself. */
export function shardPlaceFromEnv(env: NodeJS.ProcessEnv): ShardPlace | undefined {
  const index = Number(env[SHARD_ENV.index]);
  const count = Number(env[SHARD_ENV.count]);
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 2 || index > count) return undefined;
  return { index, count };
}

/** The Stasis app of process `index`. */
export function shardApp(app: string, index: number): string {
  return index === 1 ? app : `${app}-shard-${index}`;
}

/**
 * The config as process `place.index` runs it: its Stasis app, its slice of the RTP ports, and (in processes 2…N)
 * loopback-only control on an OS-chosen port, dialplan AudioSocket calls only as process 1 passes them on, and an
 * outbox of its own. The call limits stay whole: process 1 counts every process's calls against them. Applied to
 * every load, so a reload sees the same layout and reports no restart.
 */
export function configForShard(config: EngineConfig, place: ShardPlace): EngineConfig {
  const { index, count } = place;
  if (count === 1) return config;
  const { port_min, port_max } = config.media.rtp;
  // 0/0 (OS-chosen) stays as it is; a range is cut into `count` consecutive slices.
  const span = port_max - port_min + 1;
  const slice = Math.floor(span / count);
  const rtp = port_min === 0 ? config.media.rtp : { ...config.media.rtp, port_min: port_min + (index - 1) * slice, port_max: index === count ? port_max : port_min + index * slice - 1 };
  const shared = { ...config, media: { ...config.media, rtp } };
  if (index === 1) return shared;
  return {
    ...shared,
    ari: { ...config.ari, app: shardApp(config.ari.app, index) },
    control: { ...config.control, port: 0 },
    media: { ...shared.media, audiosocket: { ...config.media.audiosocket, port: 0 }, websocket: { ...config.media.websocket, port: 0 } },
    // Dialplan calls reach process 1's listener, which passes some on: this one's listener takes none itself.
    telephony: { ...config.telephony, dialplan_audiosocket: { ...config.telephony.dialplan_audiosocket, allowed_sources: [] } },
    webhooks: { ...config.webhooks, outbox: { ...config.webhooks.outbox, dir: join(config.webhooks.outbox.dir, `shard-${index}`) } },
  };
}

/** RTP ports per process must leave each at least one call. */
export function rtpSliceProblem(config: EngineConfig, count: number): string | undefined {
  const { port_min, port_max } = config.media.rtp;
  if (port_min === 0 || port_max - port_min + 1 >= count) return undefined;
  return `media.rtp has ${port_max - port_min + 1} ports for ${count} processes (shards); widen the range or lower shards`;
}
