import { sourceAllowlist, type EngineConfig, type Logger } from '@ai-agent/common';
import type { CallStore } from '../store/types.ts';
import type { MediaTransports } from '../transport/create-media-transports.ts';
import type { Admission } from './admission.ts';
import { AriConnection } from './ari-connection.ts';
import { AudioSocketLegFactory } from './audiosocket-leg.ts';
import type { ConversationFactory } from '../call/index.ts';
import { DialplanAudioSocketSession } from './dialplan-audiosocket-session.ts';
import type { MediaLegFactory } from './media-leg.ts';
import { RtpLegFactory } from './rtp-leg.ts';
import { SessionRegistry } from './session-registry.ts';
import { StasisApp, type CallDispatch } from './stasis-app.ts';
import { WebSocketLegFactory } from './websocket-leg.ts';

export interface TelephonyDeps {
  config: EngineConfig;
  ariPassword: string | undefined;
  media: MediaTransports;
  conversations: ConversationFactory;
  admission: Admission;
  store: CallStore | null;
  log: Logger;
  /** Other engine processes new callers may be moved to (`shards:`). */
  dispatch?: CallDispatch;
}

export interface Telephony {
  ari: AriConnection | null;
  registry: SessionRegistry;
  start(): void;
  stopAccepting(): void;
  close(): Promise<void>;
}

function legFactory(config: EngineConfig, media: MediaTransports, log: Logger): MediaLegFactory {
  const t = config.telephony;
  switch (t.transport) {
    case 'rtp':
      return new RtpLegFactory(media.rtp, t.rtp_format);
    case 'audiosocket':
      return new AudioSocketLegFactory(media.audiosocket, t.audiosocket_format, t.audiosocket_advertise_host ?? media.audiosocket.host);
    case 'websocket':
      return new WebSocketLegFactory({
        ariUrl: config.ari.url,
        format: t.websocket_format,
        // The schema requires the client name in client mode, and main opens the listener for it.
        client: t.websocket_connection === 'client' && media.websocket ? { listener: media.websocket, clientName: t.websocket_client! } : undefined,
        log,
        pacer: media.pacer,
        stream: { resamplerQuality: config.media.resampler_quality, maxQueueSeconds: config.media.max_queue_seconds },
      });
  }
}

/**
 * Both ways calls reach the engine: ARI Stasis calls (with the media leg the config names) and calls the
 * dialplan sends straight to the AudioSocket listener. Both land in one registry.
 */
export function buildTelephony(deps: TelephonyDeps): Telephony {
  const { config, media, log } = deps;
  const registry = new SessionRegistry(log);
  const resolveContext = (requested: string | undefined): string => {
    if (requested && requested in config.contexts) return requested;
    if (requested) log.warn({ requested }, 'unknown AI_CONTEXT; using the default context');
    return 'default';
  };

  let ari: AriConnection | null = null;
  let stasis: StasisApp | null = null;
  if (deps.ariPassword) {
    ari = new AriConnection({
      url: config.ari.url,
      username: config.ari.username,
      password: deps.ariPassword,
      app: config.ari.app,
      log: log.child({ component: 'ari' }),
    });
    stasis = new StasisApp(
      ari,
      {
        app: config.ari.app,
        legs: legFactory(config, media, log),
        conversations: deps.conversations,
        admission: deps.admission,
        store: deps.store,
        resolveContext,
        log,
      },
      registry,
      log,
      deps.dispatch,
    );
  } else {
    log.warn('ARI_PASSWORD is not set: not connecting to Asterisk ARI (dialplan AudioSocket calls still work)');
  }

  let accepting = true;
  const dialplan = config.telephony.dialplan_audiosocket;
  if (dialplan.enabled) {
    media.audiosocket.acceptDialplanCalls(sourceAllowlist(dialplan.allowed_sources));
    media.audiosocket.on('call', (stream) => {
      if (!accepting) {
        log.warn({ audiosocket: stream.id }, 'draining: AudioSocket call refused');
        stream.close('refused');
        return;
      }
      const session = new DialplanAudioSocketSession(stream, {
        conversations: deps.conversations,
        admission: deps.admission,
        store: deps.store,
        context: resolveContext(dialplan.context),
        log,
      });
      registry.add(session);
      void session.run();
    });
  }

  return {
    ari,
    registry,
    start: () => ari?.start(),
    stopAccepting() {
      accepting = false;
      stasis?.stopAccepting();
    },
    async close() {
      await ari?.stop();
    },
  };
}
