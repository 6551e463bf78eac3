import { LISTENER_RULES, assessBind, isLoopbackHost, type ListenerName } from '@ai-agent/common';
import { fail, pass, skip, type CheckResult } from './check.ts';
import type { DoctorContext } from './context.ts';
import { isUnspecified, placeOf, type Place } from './network-place.ts';

/** "This host" to whoever connects or sends there: loopback, or 0.0.0.0/:: as a destination. */
const isSendersOwnHost = (host: string): boolean => isLoopbackHost(host) || isUnspecified(host);

interface AdvertisedListener {
  id: string;
  label: string;
  listener: ListenerName;
  /** Where it binds (the bind policy's decision). */
  bind: string;
  /** What the engine tells Asterisk: the advertise setting, else the bind address (as the engine does). */
  advertised: string;
  advertiseKey: string;
  /** What the caller notices when Asterisk's packets or connection to the advertised address reach nothing. */
  unreached: string;
  /** ... and when the address is Asterisk's own host. */
  ownHost: string;
}

/**
 * Asterisk must reach the address the engine gives it: ExternalMedia's `external_host` (RTP, AudioSocket), the
 * listener Asterisk dials in chan_websocket client mode, the dialplan's AudioSocket() target. An address that
 * means "this host" (127.0.0.1, 0.0.0.0) is right only when Asterisk runs on this host too; a listener bound to
 * loopback is reachable only from this host, whatever address is advertised.
 */
export async function advertiseChecks(ctx: DoctorContext): Promise<CheckResult[]> {
  const { config, env } = ctx;
  const t = config.telephony;
  const ariHost = new URL(config.ari.url).hostname;
  if (t.transport === 'websocket' && t.websocket_connection === 'server' && !t.dialplan_audiosocket.enabled) {
    return [pass('media.advertise', 'media addresses', `nothing to advertise: the engine connects to Asterisk's /media/<id> on ${ariHost}`)];
  }
  const targets: AdvertisedListener[] = [];
  const add = (listener: ListenerName, advertise: string | undefined, fields: Omit<AdvertisedListener, 'listener' | 'bind' | 'advertised'>): void => {
    const bind = assessBind(listener, env).host;
    // A listener the policy refuses has its own failure line; nothing is advertised for it.
    if (bind !== null) targets.push({ ...fields, listener, bind, advertised: advertise ?? bind });
  };
  if (t.transport === 'rtp') {
    add('rtp', config.media.rtp.advertise_host, {
      id: 'media.advertise.rtp', label: 'RTP address for Asterisk', advertiseKey: 'media.rtp.advertise_host',
      unreached: 'the agent never hears the caller: one-way audio (or none, with Asterisk on another host)',
      ownHost: "Asterisk sends the caller's audio to its own host and the agent's never arrives: no audio",
    });
  }
  if (t.transport === 'audiosocket' || t.dialplan_audiosocket.enabled) {
    const external = t.transport === 'audiosocket';
    add('audiosocket', external ? t.audiosocket_advertise_host : undefined, {
      id: 'media.advertise.audiosocket', label: 'AudioSocket address for Asterisk',
      advertiseKey: external ? 'telephony.audiosocket_advertise_host' : "the dialplan's AudioSocket(uuid,host:port)",
      unreached: 'Asterisk cannot connect to the AudioSocket listener: the call has no audio and ends',
      ownHost: 'Asterisk connects to its own host: the call has no audio and ends',
    });
  }
  if (t.transport === 'websocket' && t.websocket_connection === 'client') {
    add('media_ws', undefined, {
      id: 'media.advertise.websocket', label: 'media WebSocket for Asterisk',
      advertiseKey: `the uri of [${t.websocket_client}] in websocket_client.conf`,
      unreached: 'Asterisk cannot connect to the media WebSocket listener: the call has no audio and ends',
      ownHost: 'Asterisk connects to its own host: the call has no audio and ends',
    });
  }
  const place = await placeOf(ariHost, ctx.timeoutMs);
  return targets.map((target) => judge(target, ariHost, place));
}

function judge(t: AdvertisedListener, ariHost: string, place: Place): CheckResult {
  const bindVar = LISTENER_RULES[t.listener].hostVar;
  if (isLoopbackHost(t.bind) && !isSendersOwnHost(t.advertised)) {
    return fail(
      t.id, t.label,
      `the listener binds ${t.bind} but Asterisk is told ${t.advertised}, where nothing listens for it: ${t.unreached}`,
      `set ${bindVar} to ${t.advertised} (or 0.0.0.0) and firewall the port(s) so only Asterisk reaches them`,
    );
  }
  if (isSendersOwnHost(t.advertised)) {
    if (place === 'unknown') {
      return skip(t.id, t.label, `${t.advertised} is right only if Asterisk runs on this host; ARI host ${ariHost} could not be resolved`);
    }
    if (place === 'remote') {
      return fail(
        t.id, t.label,
        `Asterisk (ARI host ${ariHost}) is on another host but is told ${t.advertised}, its own host to it: ${t.ownHost}`,
        `set ${t.advertiseKey} to this host's address as Asterisk reaches it, ${bindVar} to that address (or 0.0.0.0), ` +
          'and let Asterisk through the firewall to those ports',
      );
    }
    return pass(t.id, t.label, `${t.advertised}: Asterisk runs on this host (ARI host ${ariHost})`);
  }
  const unseen = 'a firewall or NAT in between is not visible from here';
  return pass(t.id, t.label, `${t.advertised} (listener bound to ${t.bind}; Asterisk at ${ariHost} must reach it: ${unseen})`);
}
