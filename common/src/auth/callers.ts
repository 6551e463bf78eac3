import { readSecret } from '../config/secrets.ts';
import { ConfigError } from '../config/errors.ts';

const SERVICE_ID = /^[a-z][a-z0-9-]{0,31}$/;

/** Env var holding the signing secret of a service, e.g. admin-ui → SERVICE_SECRET_ADMIN_UI. */
export function serviceSecretVar(service: string): string {
  return `SERVICE_SECRET_${service.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * The callers this service accepts signed requests from: `ALLOWED_CALLERS` (comma-separated service ids,
 * default given by the service), each with its secret from SERVICE_SECRET_<ID> (or _FILE). A caller without a
 * secret is simply not accepted.
 */
export function loadAllowedCallers(env: NodeJS.ProcessEnv, defaults: string[]): Map<string, string> {
  const raw = env.ALLOWED_CALLERS?.trim();
  const ids = raw !== undefined && raw !== '' ? raw.split(',').map((s) => s.trim()).filter(Boolean) : defaults;
  const callers = new Map<string, string>();
  for (const id of ids) {
    if (!SERVICE_ID.test(id)) throw new ConfigError('ALLOWED_CALLERS', `"${id}" is not a valid service id`);
    const secret = readSecret(serviceSecretVar(id), env, 32);
    if (secret) callers.set(id, secret);
  }
  return callers;
}
