import { LISTENER_RULES, assessBind, type ListenerName } from '@ai-agent/common';
import { fail, pass, warn, type CheckResult } from './check.ts';
import type { DoctorContext } from './context.ts';
import { probeTcp, probeUdp, type PortState } from './port-probe.ts';

interface TcpListener {
  name: ListenerName;
  label: string;
  port: number;
  /** The setting that moves it. */
  portKey: string;
}

/** Listeners of the other services npm start runs: their bind policy is checked, their ports are theirs. */
const OTHER_SERVICES: ReadonlyArray<{ name: ListenerName; label: string }> = [
  { name: 'local_ws', label: 'local AI server listener' },
  { name: 'admin', label: 'admin UI listener' },
];

/**
 * Every listener the product opens, as the bind policy decides it (the same function the services call, so a
 * refusal here is a refusal at start), and for the engine's own (control, AudioSocket, media WebSocket in client
 * mode, the RTP range with ExternalMedia RTP): free to bind where the config says. A port in use by the engine of
 * this configuration, when it runs, is no conflict.
 */
export async function listenerChecks(ctx: DoctorContext): Promise<CheckResult[]> {
  const { config } = ctx;
  const tcp: TcpListener[] = [
    { name: 'health', label: 'control API', port: config.control.port, portKey: 'control.port (HEALTH_PORT)' },
    { name: 'audiosocket', label: 'AudioSocket listener', port: config.media.audiosocket.port, portKey: 'media.audiosocket.port (AUDIOSOCKET_PORT)' },
  ];
  if (config.telephony.transport === 'websocket' && config.telephony.websocket_connection === 'client') {
    const port = config.media.websocket.port;
    tcp.push({ name: 'media_ws', label: 'media WebSocket listener', port, portKey: 'media.websocket.port (MEDIA_WS_PORT)' });
  }
  const results: CheckResult[] = [];
  for (const listener of tcp) results.push(...(await tcpListenerCheck(listener, ctx)));
  // RTP ports are bound per call, and only for ExternalMedia RTP.
  if (config.telephony.transport === 'rtp') results.push(...(await rtpRangeCheck(ctx)));
  for (const { name, label } of OTHER_SERVICES) {
    const verdict = policyVerdict(name, label, ctx.env);
    results.push(...verdict.results);
    if (verdict.host !== null && verdict.results.length === 0) results.push(pass(`listener.${name}`, label, `binds ${verdict.host}`));
  }
  return results;
}

/** The bind policy's findings as results; `host` null when the policy refuses to start the listener. */
function policyVerdict(name: ListenerName, label: string, env: NodeJS.ProcessEnv): { host: string | null; results: CheckResult[] } {
  const { host, findings } = assessBind(name, env);
  const hostVar = LISTENER_RULES[name].hostVar;
  const results = findings.map((f) => {
    if (f.level === 'fail') {
      const fix =
        f.variable === hostVar ? `set ${hostVar} to an IP address of this host, or leave it empty for 127.0.0.1` : `set ${f.variable}, or unset ${hostVar}`;
      return fail(`listener.${name}`, label, `refuses to start: ${f.message}`, fix);
    }
    if (f.variable === hostVar) {
      // The service logs this at start with its advice; here the advice is the fix.
      const fix = `${LISTENER_RULES[name].advice}; or unset ${hostVar} to keep it on 127.0.0.1`;
      return warn(`listener.${name}.exposure`, label, `binds ${host}: reachable beyond this host (${hostVar})`, fix);
    }
    return warn(`listener.${name}.token`, label, f.message, `set ${f.variable} (openssl rand -hex 32)`);
  });
  return { host, results };
}

function where(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

async function tcpListenerCheck(l: TcpListener, ctx: DoctorContext): Promise<CheckResult[]> {
  const { host, results } = policyVerdict(l.name, l.label, ctx.env);
  if (host === null) return results;
  const id = `listener.${l.name}`;
  if (l.port === 0) return [pass(id, l.label, `${host}, port chosen by the OS (0)`), ...results];
  return [portResult(l, host, await probeTcp(host, l.port), ctx), ...results];
}

function portResult(l: TcpListener, host: string, state: PortState, ctx: DoctorContext): CheckResult {
  const id = `listener.${l.name}`;
  const at = where(host, l.port);
  if (state.state === 'free') return pass(id, l.label, `${at}: free to bind`);
  if (state.state === 'in_use') {
    if (ctx.engine) return pass(id, l.label, `${at}: in use by the running engine (${ctx.engine.origin})`);
    const fix = `stop that process (ss -ltnp 'sport = :${l.port}' shows it), or choose another port: ${l.portKey}`;
    return fail(id, l.label, `${at} is in use by another process: the engine cannot listen there`, fix);
  }
  return fail(id, l.label, `${at}: ${state.reason}`, `bind it where it can listen: ${LISTENER_RULES[l.name].hostVar}`);
}

/** One UDP port per call: every port of the range is tried, and the range is compared with the call limit. */
async function rtpRangeCheck(ctx: DoctorContext): Promise<CheckResult[]> {
  const label = 'RTP ports';
  const { host, results } = policyVerdict('rtp', label, ctx.env);
  if (host === null) return results;
  const { port_min: min, port_max: max } = ctx.config.media.rtp;
  if (min === 0) return [pass('listener.rtp', label, `${host}, ports chosen by the OS (0)`), ...results];
  let inUse = 0;
  let error: string | null = null;
  for (let port = min; port <= max && error === null; port++) {
    const state = await probeUdp(host, port);
    if (state.state === 'in_use') inUse++;
    else if (state.state === 'error') error = state.reason;
  }
  const range = where(host, `${min}-${max}`);
  const total = max - min + 1;
  const freeRange = 'choose a free range: media.rtp.port_min / port_max';
  const out: CheckResult[] = [];
  if (error !== null) out.push(fail('listener.rtp', label, `${range}: ${error}`, `bind RTP where it can listen: ${LISTENER_RULES.rtp.hostVar}`));
  else if (inUse === 0) out.push(pass('listener.rtp', label, `${range}: all ${total} free to bind`));
  else if (ctx.engine) out.push(pass('listener.rtp', label, `${range}: ${total - inUse} free, ${inUse} in use (calls of the running engine)`));
  else if (inUse === total) out.push(fail('listener.rtp', label, `${range}: every port is in use by other processes: no call gets media`, freeRange));
  else out.push(warn('listener.rtp', label, `${range}: ${inUse} of ${total} in use by other processes: fewer calls can have media at once`, freeRange));
  const maxCalls = ctx.config.limits.max_concurrent_calls;
  if (total < maxCalls) {
    const detail = `${total} ports for up to ${maxCalls} concurrent calls (limits.max_concurrent_calls): calls beyond ${total} get no media`;
    out.push(warn('listener.rtp.capacity', label, detail, 'widen media.rtp.port_min / port_max, or lower limits.max_concurrent_calls'));
  }
  return [...out, ...results];
}
