import type { FastifyRequest } from 'fastify';
import type { ApiTokens } from '../auth/api-tokens.ts';
import type { LoginLockout } from '../auth/login-lockout.ts';
import type { Scope } from '../auth/scopes.ts';
import type { Sessions } from '../auth/sessions.ts';
import type { UserStore } from '../auth/user-store.ts';
import type { EngineClient } from '../engine/engine-client.ts';
import type { EngineFeed } from '../engine/engine-feed.ts';
import type { ConfigFile } from '../files/config-file.ts';
import type { EnvFile } from '../files/env-file.ts';
import type { AdminSettings } from '../settings.ts';
import type { AuditLog } from '../store/audit-log.ts';
import { principalOf, type RouteHook } from '../http/authenticate.ts';

/** What the route groups share. Built once by the composition root. */
export interface RouteContext {
  settings: AdminSettings;
  users: UserStore;
  sessions: Sessions;
  tokens: ApiTokens;
  lockout: LoginLockout;
  audit: AuditLog;
  engine: EngineClient;
  feed: EngineFeed;
  configFile: ConfigFile;
  envFile: EnvFile;
  requireScope: (scope: Scope) => RouteHook;
}

/**
 * Where a request came from, for the audit log and the lockout: the socket's address, or the client a trusted
 * proxy (ADMIN_TRUSTED_PROXIES) names in X-Forwarded-For; a header from anyone else is ignored.
 */
export function sourceOf(request: FastifyRequest): string {
  return request.ip || (request.socket.remoteAddress ?? 'unknown');
}

/** Appends an audit entry for the authenticated actor of `request`. */
export function auditRequest(ctx: RouteContext, request: FastifyRequest, action: string, detail: Record<string, unknown> = {}): void {
  ctx.audit.record(principalOf(request).actor, action, detail, sourceOf(request));
}
