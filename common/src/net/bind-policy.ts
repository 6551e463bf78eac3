import { isIP } from 'node:net';
import { readSecret } from '../config/secrets.ts';
import type { Logger } from '../log/logger.ts';

/** Every listener the product opens. Each is loopback-only unless its own env var says otherwise. */
export type ListenerName = 'health' | 'admin' | 'local_ws' | 'rtp' | 'audiosocket' | 'media_ws';

interface ListenerRule {
  /** Env var that opts this listener into a non-loopback address. */
  hostVar: string;
  /** Env var without which a non-loopback bind refuses to start. */
  requires?: string;
  /** Env var a non-loopback bind should have, and what is lost without it (the service still starts). */
  recommends?: { variable: string; without: string };
  /** Shown in the warning for non-loopback binds. */
  advice: string;
}

export const LISTENER_RULES: Readonly<Record<ListenerName, ListenerRule>> = {
  health: {
    hostVar: 'HEALTH_BIND_HOST',
    recommends: {
      variable: 'HEALTH_API_TOKEN',
      without: 'protected control routes accept remote callers only with a signed request (ALLOWED_CALLERS)',
    },
    advice:
      'protected routes accept a remote caller only with HEALTH_API_TOKEN or a request signed by an allowed service ' +
      '(ALLOWED_CALLERS with SERVICE_SECRET_<ID>)',
  },
  admin: { hostVar: 'ADMIN_BIND_HOST', requires: 'JWT_SECRET', advice: 'put TLS in front of the admin UI' },
  local_ws: {
    hostVar: 'LOCAL_WS_HOST',
    requires: 'LOCAL_WS_AUTH_TOKEN',
    advice: 'firewall port so only the engine reaches it',
  },
  rtp: { hostVar: 'EXTERNAL_MEDIA_RTP_HOST', advice: 'firewall the RTP ports so only Asterisk reaches them' },
  audiosocket: { hostVar: 'AUDIOSOCKET_HOST', advice: 'firewall the port so only Asterisk reaches it' },
  media_ws: { hostVar: 'MEDIA_WS_HOST', advice: 'firewall the port so only Asterisk reaches it' },
};

export const DEFAULT_BIND_HOST = '127.0.0.1';

export class BindPolicyError extends Error {
  constructor(message: string, readonly variable: string) {
    super(message);
    this.name = 'BindPolicyError';
  }
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback, and the name localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Decided on the value actually read (an empty file or a blank value is no secret; a short one throws). */
function hasSecret(env: NodeJS.ProcessEnv, name: string): boolean {
  return readSecret(name, env) !== undefined;
}

/**
 * The one place a listener's address is decided. Loopback unless the listener's env var opts in; an opt-in
 * that would expose an unauthenticated service throws, naming the variable that is missing.
 */
export function resolveBindHost(name: ListenerName, env: NodeJS.ProcessEnv = process.env, log?: Logger): string {
  const rule = LISTENER_RULES[name];
  const raw = env[rule.hostVar]?.trim();
  if (!raw) return DEFAULT_BIND_HOST;
  const host = raw.replace(/^\[|\]$/g, '');
  if (host !== 'localhost' && isIP(host) === 0) {
    throw new BindPolicyError(`${rule.hostVar}: "${host}" is not an IP address`, rule.hostVar);
  }
  if (isLoopbackHost(host)) return host;
  if (rule.requires && !hasSecret(env, rule.requires)) {
    throw new BindPolicyError(
      `${rule.hostVar}=${host} exposes the ${name} listener beyond this host, which requires ${rule.requires}; ` +
        `set ${rule.requires} or unset ${rule.hostVar}`,
      rule.requires,
    );
  }
  log?.warn({ listener: name, host }, `${name} listener binds to non-loopback ${host}: ${rule.advice}`);
  return host;
}

/** One thing the bind policy says about a listener: a refusal (fail) or an exposure to note (warn). */
export interface BindFinding {
  level: 'fail' | 'warn';
  message: string;
  /** The variable to change. */
  variable: string;
}

/**
 * The policy's verdict on a listener without binding or logging (start-time checks, `npm run doctor`): where it
 * binds (null when the policy refuses) and every finding, in the words the services log them.
 */
export function assessBind(name: ListenerName, env: NodeJS.ProcessEnv = process.env): { host: string | null; findings: BindFinding[] } {
  const rule = LISTENER_RULES[name];
  let host: string;
  try {
    host = resolveBindHost(name, env);
  } catch (err) {
    if (err instanceof BindPolicyError) return { host: null, findings: [{ level: 'fail', message: err.message, variable: err.variable }] };
    throw err;
  }
  const findings: BindFinding[] = [];
  if (!isLoopbackHost(host)) {
    findings.push({ level: 'warn', message: `${name} listener binds to non-loopback ${host}: ${rule.advice}`, variable: rule.hostVar });
    const missing = missingRecommendation(name, env);
    if (missing) findings.push({ level: 'warn', message: missing, variable: rule.recommends!.variable });
  }
  return { host, findings };
}

/** The line for a non-loopback listener whose recommended secret is unset, or null. */
export function missingRecommendation(name: ListenerName, env: NodeJS.ProcessEnv = process.env): string | null {
  const wanted = LISTENER_RULES[name].recommends;
  if (!wanted || hasSecret(env, wanted.variable)) return null;
  return `${wanted.variable} is not set: ${wanted.without}`;
}
