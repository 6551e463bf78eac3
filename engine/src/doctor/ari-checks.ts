import { fail, pass, skip, warn, type CheckResult } from './check.ts';
import type { DoctorContext } from './context.ts';
import { ariGet, ariMessage, trySubscribe, type AriAnswer, type AriTarget } from './ari-http.ts';
import {
  CHAN_WEBSOCKET_RELEASES,
  OLDEST_SUPPORTED_MAJOR,
  hasChanWebsocket,
  parseAsteriskVersion,
  requiredModules,
  type RequiredModule,
} from './asterisk-support.ts';
import { describeNetFailure } from './net-failure.ts';

const ARI = 'ARI';
const VERSION = 'Asterisk version';
const MODULES = 'Asterisk modules';
const APP = 'Stasis app';

const UNREACHABLE_FIX =
  'start Asterisk, or correct ARI_URL: http.conf needs enabled = yes and bindaddr/bindport matching ARI_URL ' +
  '(bindaddr = 127.0.0.1 serves this host only); ari.conf needs enabled = yes';

/**
 * ARI as the engine uses it: reachable with the engine's credentials (GET /ari/asterisk/info), a release this
 * product supports, the modules the configured call paths need, and (doctor mode) its Stasis app free or held by
 * the running engine. Later checks are skipped, and say so, when ARI does not answer.
 */
export async function ariChecks(ctx: DoctorContext): Promise<CheckResult[]> {
  const { ari, telephony } = ctx.config;
  const notChecked = (why: string): CheckResult[] => [
    skip('asterisk.version', VERSION, `not checked: ${why}`),
    skip('asterisk.modules', MODULES, `not checked: ${why}`),
    ...(ctx.mode === 'doctor' ? [skip('stasis.app', APP, `not checked: ${why}`)] : []),
  ];
  if (!ctx.ariPassword) {
    if (telephony.dialplan_audiosocket.enabled) {
      return [skip('ari.reachable', ARI, 'ARI_PASSWORD is not set: no ARI; only dialplan AudioSocket() calls reach the engine')];
    }
    return [
      fail(
        'ari.reachable',
        ARI,
        'ARI_PASSWORD is not set: the engine does not connect to Asterisk, so no Stasis() call reaches it',
        `set ARI_PASSWORD (or ARI_PASSWORD_FILE) to the password of the [${ari.username}] user in ari.conf`,
      ),
      ...notChecked('no ARI password'),
    ];
  }
  const target: AriTarget = { url: ari.url, username: ari.username, password: ctx.ariPassword, timeoutMs: ctx.timeoutMs };

  let info;
  try {
    info = await ariGet(target, '/asterisk/info');
  } catch (err) {
    const failure = describeNetFailure(err, ctx.timeoutMs);
    return [fail('ari.reachable', ARI, `${ari.url}: ${failure.reason}`, UNREACHABLE_FIX, failure.transient), ...notChecked('ARI not reachable')];
  }
  if (info.status === 401) {
    return [
      fail(
        'ari.reachable',
        ARI,
        `${ari.url}: credentials of "${ari.username}" refused (HTTP 401)`,
        `ARI_USERNAME and ARI_PASSWORD must match a user section of ari.conf ([${ari.username}] type = user, password = ...); ` +
          'after editing ari.conf: asterisk -rx "module reload res_ari.so"',
      ),
      ...notChecked('credentials refused'),
    ];
  }
  if (info.status !== 200) {
    const why = info.status === 404 ? 'the HTTP server answers but serves no ARI (404)' : `unexpected ${httpStatus(info)}`;
    return [
      fail('ari.reachable', ARI, `${ari.url}: ${why}`, 'ari.conf [general] enabled = yes, res_ari.so loaded (modules.conf), http.conf enabled = yes'),
      ...notChecked('ARI not available'),
    ];
  }
  const version = String((info.body as { system?: { version?: unknown } } | null)?.system?.version ?? 'unknown');
  const results = [
    pass('ari.reachable', ARI, `${ari.url}: Asterisk ${version}, credentials of "${ari.username}" accepted`),
    versionCheck(version, ctx),
  ];
  results.push(...(await Promise.all(requiredModules(ctx.config).map((m) => moduleCheck(target, m, ctx.timeoutMs)))));
  if (ctx.mode === 'doctor') results.push(await appCheck(target, ctx));
  return results;
}

function httpStatus(answer: AriAnswer): string {
  const message = ariMessage(answer);
  return message ? `HTTP ${answer.status}: ${message}` : `HTTP ${answer.status}`;
}

function versionCheck(version: string, ctx: DoctorContext): CheckResult {
  const v = parseAsteriskVersion(version);
  if (!v) return pass('asterisk.version', VERSION, `${version}: not a release number (a development build?); release requirements not checked`);
  if (v.major < OLDEST_SUPPORTED_MAJOR) {
    return warn(
      'asterisk.version',
      VERSION,
      `${version} is older than the ${OLDEST_SUPPORTED_MAJOR} series: not a release this product supports`,
      `upgrade Asterisk to ${OLDEST_SUPPORTED_MAJOR} or later (22 LTS or newer recommended)`,
    );
  }
  if (ctx.config.telephony.transport === 'websocket' && !hasChanWebsocket(v)) {
    return warn(
      'asterisk.version',
      VERSION,
      `${version} has no chan_websocket: WebSocket media (telephony.transport: websocket) needs ${CHAN_WEBSOCKET_RELEASES}`,
      'upgrade Asterisk, or set telephony.transport to rtp or audiosocket',
    );
  }
  return pass('asterisk.version', VERSION, `${version}: supported for telephony.transport ${ctx.config.telephony.transport}`);
}

async function moduleCheck(target: AriTarget, m: RequiredModule, timeoutMs: number): Promise<CheckResult> {
  const id = `asterisk.module.${m.module.replace(/\.so$/, '')}`;
  const title = `module ${m.module}`;
  const load =
    `load it: asterisk -rx "module load ${m.module}", and keep it loaded at restart (modules.conf: autoload = yes ` +
    `or load = ${m.module}, and no noload = ${m.module})` +
    (m.module === 'chan_websocket.so' ? `; chan_websocket needs Asterisk ${CHAN_WEBSOCKET_RELEASES}` : '');
  let answer;
  try {
    answer = await ariGet(target, `/asterisk/modules/${encodeURIComponent(m.module)}`);
  } catch (err) {
    return warn(id, title, `could not check: ${describeNetFailure(err, timeoutMs).reason}`, 'run the doctor again');
  }
  if (answer.status === 404) return fail(id, title, `not loaded; needed for ${m.why}`, load);
  if (answer.status !== 200) {
    return warn(id, title, `could not check (${httpStatus(answer)})`, `check by hand: asterisk -rx "module show like ${m.module}"`);
  }
  const status = String((answer.body as { status?: unknown } | null)?.status ?? 'unknown');
  if (status !== 'Running') {
    return fail(id, title, `loaded but ${status}; needed for ${m.why}`, `see Asterisk's log for why ${m.module} did not start, then ${load}`);
  }
  return pass(id, title, `running; needed for ${m.why}`);
}

/**
 * Another client holding the app (a second engine, or another AI engine with the same app name) takes calls
 * this engine never sees: Asterisk hands Stasis() calls to whichever registered last. A free name is proven
 * usable by registering it once and letting go; never while an engine runs (it could be reconnecting).
 */
async function appCheck(target: AriTarget, ctx: DoctorContext): Promise<CheckResult> {
  const app = ctx.config.ari.app;
  const title = `${APP} "${app}"`;
  let answer;
  try {
    answer = await ariGet(target, '/applications');
  } catch (err) {
    return warn('stasis.app', title, `could not list applications: ${describeNetFailure(err, ctx.timeoutMs).reason}`, 'run the doctor again');
  }
  if (answer.status !== 200 || !Array.isArray(answer.body)) {
    return warn('stasis.app', title, `could not list applications (HTTP ${answer.status})`, 'ari.conf: the ARI user needs read access');
  }
  const registered = (answer.body as Array<{ name?: unknown }>).some((a) => a.name === app);
  const rename = `or give this engine its own name: ARI_APP, and Stasis(<name>) in the dialplan`;
  if (registered) {
    if (ctx.engine?.ariConnected) return pass('stasis.app', title, `registered by the running engine (${ctx.engine.origin})`);
    return fail(
      'stasis.app',
      title,
      'already registered by another ARI client: Stasis() calls go to whichever client registered last',
      `stop the other client (another engine, or another AI engine using "${app}"), ${rename}`,
    );
  }
  if (ctx.engine) {
    const why = `not registered, and the running engine (${ctx.engine.origin}) is not connected to ARI`;
    return warn('stasis.app', title, why, "see the engine's log for its ARI connection errors");
  }
  const outcome = await trySubscribe(target, app);
  if (outcome.ok) return pass('stasis.app', title, 'free: registered once on the events WebSocket and released');
  if ('status' in outcome) {
    const why = outcome.status === 401 ? 'credentials refused' : `HTTP ${outcome.status}`;
    const fix = 'res_http_websocket.so and res_ari_events.so loaded; the ARI user allowed (ari.conf)';
    return fail('stasis.app', title, `the events WebSocket refused the registration (${why})`, fix);
  }
  const failure = describeNetFailure(outcome.error, ctx.timeoutMs);
  const fix = 'a proxy between the engine and Asterisk must pass WebSocket upgrades';
  return fail('stasis.app', title, `the events WebSocket failed: ${failure.reason}`, fix, failure.transient);
}
