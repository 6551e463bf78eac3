import { hostname } from 'node:os';
import { NEXT_PRIORITY, type AsteriskCore } from '../asterisk/core.ts';
import { AriError } from '../asterisk/errors.ts';
import { createExternalMedia } from '../asterisk/external-media.ts';
import { ariTimestamp } from '../asterisk/json.ts';

export interface AriRequest {
  path: Record<string, string>;
  query: Record<string, string | undefined>;
  /** The `variables` object of the JSON body, validated as json_to_ast_variables does. */
  variables: Record<string, string>;
  core: AsteriskCore;
}

export interface AriResult {
  status: number;
  body?: unknown;
  /** Work to do after the response is written (events Asterisk emits just after replying). */
  after?: () => void;
}

export type Handler = (req: AriRequest) => AriResult | Promise<AriResult>;

/** A release with every driver the peer models (chan_websocket arrived in 22.6.0, 21.11.0, 20.16.0 and 23.0.0). */
const DEFAULT_VERSION = '22.6.0';

const ok = (body: unknown): AriResult => ({ status: 200, body });
const noContent = (): AriResult => ({ status: 204 });

function list(value: string | undefined): string[] {
  return value ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/** One handler per `<resource>.<nickname>` of spec.ts. */
export const HANDLERS: Record<string, Handler> = {
  'asterisk.getInfo': ({ core }) =>
    ok({
      build: { os: 'Linux', kernel: '6.1.0', options: '', machine: 'x86_64', date: ariTimestamp(core.startedAt), user: 'test-peer' },
      system: { version: core.opts.version ?? DEFAULT_VERSION, entity_id: core.opts.asteriskId },
      config: { name: hostname(), default_language: 'en', setid: { user: 'asterisk', group: 'asterisk' } },
      status: { startup_time: ariTimestamp(core.startedAt), last_reload_time: ariTimestamp(core.startedAt) },
    }),
  'asterisk.ping': ({ core }) => ok({ asterisk_id: core.opts.asteriskId, ping: 'pong', timestamp: ariTimestamp() }),
  'asterisk.listModules': ({ core }) => ok(core.modules.list()),
  'asterisk.getModule': ({ core, path }) => ok(core.modules.get(path.moduleName)),
  'asterisk.loadModule': ({ core, path }) => {
    core.modules.load(path.moduleName);
    return noContent();
  },
  'asterisk.unloadModule': ({ core, path }) => {
    core.modules.unload(path.moduleName);
    return noContent();
  },

  'applications.list': ({ core }) => ok(core.apps.names().map((n) => applicationJson(core, n))),
  'applications.get': ({ core, path }) => {
    if (!core.apps.has(path.applicationName)) throw new AriError(404, 'Application not found');
    return ok(applicationJson(core, path.applicationName));
  },

  'channels.list': ({ core }) => ok([...core.channels.values()].map((c) => core.channelJson(c))),
  'channels.originate': ({ core, query, variables }) => ok(core.channelJson(core.originate(query, variables))),
  'channels.originateWithId': ({ core, query, path, variables }) =>
    ok(core.channelJson(core.originate({ ...query, channelId: path.channelId }, variables))),
  'channels.externalMedia': async ({ core, query, variables }) => {
    const { channel, afterResponse } = await createExternalMedia(core, query, variables);
    const json = core.channelJson(channel);
    // ExternalMedia replies carry the driver's variables even without ari.conf channelvars.
    json.channelvars = Object.fromEntries(channel.vars);
    return { status: 200, body: json, after: afterResponse };
  },
  'channels.get': ({ core, path }) => ok(core.channelJson(core.channel(path.channelId))),
  'channels.hangup': ({ core, path, query }) => {
    core.hangup(path.channelId, query.reason, query.reason_code);
    return noContent();
  },
  'channels.continueInDialplan': ({ core, path, query }) => {
    const target = [query.context, query.extension, query.priority ?? query.label].filter(Boolean).join(',') || NEXT_PRIORITY;
    core.leaveStasis(path.channelId, target, 'continue');
    return noContent();
  },
  'channels.move': ({ core, path, query }) => {
    // app_control_move splits with strtok_r, which skips empty arguments.
    core.moveToApp(path.channelId, query.app, query.appArgs?.split(',').filter(Boolean) ?? []);
    return noContent();
  },
  'channels.redirect': ({ core, path, query }) => {
    core.redirect(path.channelId, query.endpoint);
    return noContent();
  },
  'channels.answer': ({ core, path }) => {
    core.answer(path.channelId);
    return noContent();
  },
  'channels.ring': ({ core, path }) => {
    core.ring(path.channelId, true);
    return noContent();
  },
  'channels.ringStop': ({ core, path }) => {
    core.ring(path.channelId, false);
    return noContent();
  },
  'channels.startMoh': ({ core, path, query }) => {
    core.musicOnHold(path.channelId, query.mohClass ?? '');
    return noContent();
  },
  'channels.stopMoh': ({ core, path }) => {
    core.musicOnHold(path.channelId, null);
    return noContent();
  },
  'channels.sendDTMF': ({ core, path, query }) => {
    if (!query.dtmf) throw new AriError(400, 'DTMF is required');
    const ch = core.control(path.channelId);
    ch.session?.note('asterisk', `DTMF ${query.dtmf} sent to the caller`);
    return noContent();
  },
  'channels.play': ({ core, path, query }) => playOn(core, core.control(path.channelId), query, query.playbackId),
  'channels.playWithId': ({ core, path, query }) => playOn(core, core.control(path.channelId), query, path.playbackId),
  'channels.getChannelVar': ({ core, path, query }) => ok({ value: core.getVariable(path.channelId, query.variable) }),
  'channels.setChannelVar': ({ core, path, query }) => {
    core.setVariable(path.channelId, query.variable, query.value);
    return noContent();
  },

  'bridges.list': ({ core }) => ok([...core.bridges.values()].map((b) => b.toJSON())),
  'bridges.create': ({ core, query }) => ok(core.createBridge(query, null).toJSON()),
  'bridges.createWithId': ({ core, query, path }) => ok(core.createBridge({ ...query, bridgeId: path.bridgeId }, null).toJSON()),
  'bridges.get': ({ core, path }) => ok(core.bridge(path.bridgeId).toJSON()),
  'bridges.destroy': ({ core, path }) => {
    core.destroyBridge(path.bridgeId);
    return noContent();
  },
  'bridges.addChannel': ({ core, path, query }) => {
    core.addToBridge(path.bridgeId, list(query.channel), { mute: query.mute === 'true' });
    return noContent();
  },
  'bridges.removeChannel': ({ core, path, query }) => {
    core.removeFromBridge(path.bridgeId, list(query.channel));
    return noContent();
  },
  'bridges.play': ({ core, path, query }) => playOn(core, core.bridge(path.bridgeId), query, query.playbackId),
  'bridges.playWithId': ({ core, path, query }) => playOn(core, core.bridge(path.bridgeId), query, path.playbackId),

  'playbacks.get': ({ core, path }) => ok(core.getPlayback(path.playbackId).toJSON()),
  'playbacks.stop': ({ core, path }) => {
    core.stopPlayback(path.playbackId);
    return noContent();
  },
};

function playOn(
  core: AsteriskCore, target: Parameters<AsteriskCore['play']>[0], query: Record<string, string | undefined>, playbackId: string | undefined,
): AriResult {
  const pb = core.play(target, list(query.media), query.lang, playbackId);
  return { status: 201, body: pb.toJSON() };
}

function applicationJson(core: AsteriskCore, name: string): Record<string, unknown> {
  return {
    name,
    channel_ids: [...core.channels.values()].filter((c) => c.subscribers.has(name)).map((c) => c.id),
    bridge_ids: [...core.bridges.values()].filter((b) => b.subscribers.has(name)).map((b) => b.id),
    endpoint_ids: [],
    device_names: [],
    events_allowed: [],
    events_disallowed: [],
  };
}
