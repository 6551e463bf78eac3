import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { AdminDatabase } from '../store/admin-database.ts';
import type { SigningKey } from './signing-key.ts';

const ISSUER = 'ai-agent-admin';
const AUDIENCE = 'ai-agent-admin';

export interface SessionTokens {
  access: string;
  refresh: string;
  /** The double-submit value: also a claim of the access token, so a planted csrf cookie alone is useless. */
  csrf: string;
  familyId: string;
  accessExpiresAt: number;
}

export interface AccessClaims {
  user: string;
  familyId: string;
  csrf: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export type RefreshOutcome =
  | { ok: true; tokens: SessionTokens; user: string }
  | { ok: false; reason: 'unknown' | 'reused' | 'revoked'; user?: string };

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** What a rotation issued, kept for the grace window: the same pair answers a concurrent refresh. */
interface Rotation {
  user: string;
  familyId: string;
  tokens: SessionTokens;
  /** Epoch ms after which presenting the old token again counts as reuse. */
  until: number;
}

/**
 * Sessions: a short access JWT (HS256 only) plus a rotating refresh token. The refresh tokens of one login
 * form a family; each is good once. Presenting a used one means it was stolen (or replayed), so the whole
 * family is revoked, locking out both the thief and the victim until a new login.
 *
 * One exception: two tabs of one browser share the cookies and may both refresh at the same moment, the second
 * sending the token the first just rotated. For `graceMs` after a rotation that token answers with the pair the
 * rotation issued (not a new one, so the family still has one live refresh token); after it, reuse revokes.
 * The pairs are kept in memory only: a restart within the window turns such a refresh into a plain refusal.
 */
export class Sessions {
  private readonly rotations = new Map<string, Rotation>();
  /** Pairs being issued right now, by the hash of the token they replace. */
  private readonly pending = new Map<string, Promise<SessionTokens>>();

  constructor(
    private readonly db: AdminDatabase,
    private readonly key: SigningKey,
    private readonly accessTtlSeconds: number,
    private readonly sessionSeconds: number,
    private readonly graceMs = 10_000,
  ) {}

  async start(user: string): Promise<SessionTokens> {
    const familyId = randomUUID();
    this.db
      .prepare('INSERT INTO session_families (id, user_name, created_at, expires_at) VALUES (?, ?, ?, ?)')
      .run(familyId, user, new Date().toISOString(), Math.floor(Date.now() / 1000) + this.sessionSeconds);
    return this.issue(user, familyId);
  }

  private async issue(user: string, familyId: string): Promise<SessionTokens> {
    const refresh = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    this.db.prepare('INSERT INTO refresh_tokens (hash, family_id) VALUES (?, ?)').run(sha256(refresh), familyId);
    const accessExpiresAt = Math.floor(Date.now() / 1000) + this.accessTtlSeconds;
    const access = await new SignJWT({ sid: familyId, csrf })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(accessExpiresAt)
      .sign(this.key.current());
    return { access, refresh, csrf, familyId, accessExpiresAt };
  }

  /** Claims of a valid access token whose session is still live; undefined for anything else. */
  async verifyAccess(token: string): Promise<AccessClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.key.current(), { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
      const { sub, sid, csrf, exp } = payload;
      if (typeof sub !== 'string' || typeof sid !== 'string' || typeof csrf !== 'string' || typeof exp !== 'number') return undefined;
      if (!this.isLive(sid)) return undefined;
      return { user: sub, familyId: sid, csrf, expiresAt: exp };
    } catch {
      return undefined;
    }
  }

  private isLive(familyId: string): boolean {
    const row = this.db.prepare('SELECT revoked_at, expires_at FROM session_families WHERE id = ?').get(familyId) as
      | { revoked_at: string | null; expires_at: number }
      | undefined;
    return row !== undefined && row.revoked_at === null && row.expires_at > Date.now() / 1000;
  }

  async refresh(token: string): Promise<RefreshOutcome> {
    type Found = { familyId: string; user: string };
    const hash = sha256(token);
    const now = Date.now();
    for (const [key, rotation] of this.rotations) if (rotation.until <= now) this.rotations.delete(key);
    const outcome = this.db.transaction((): { ok: true; found: Found } | { ok: false; reason: 'unknown' | 'reused' | 'revoked' | 'rotating'; user?: string } => {
      const row = this.db
        .prepare('SELECT r.used_at, r.family_id, f.user_name FROM refresh_tokens r JOIN session_families f ON f.id = r.family_id WHERE r.hash = ?')
        .get(hash) as { used_at: string | null; family_id: string; user_name: string } | undefined;
      if (!row) return { ok: false, reason: 'unknown' };
      if (row.used_at !== null) {
        const usedAt = Date.parse(row.used_at);
        // Rotated a moment ago: a concurrent refresh from another tab, not a replay (see the class comment).
        if (now - usedAt < this.graceMs) {
          if (!this.isLive(row.family_id)) return { ok: false, reason: 'revoked', user: row.user_name };
          return { ok: false, reason: 'rotating', user: row.user_name };
        }
        this.revokeFamily(row.family_id);
        return { ok: false, reason: 'reused', user: row.user_name };
      }
      if (!this.isLive(row.family_id)) return { ok: false, reason: 'revoked', user: row.user_name };
      this.db.prepare('UPDATE refresh_tokens SET used_at = ? WHERE hash = ?').run(new Date(now).toISOString(), hash);
      return { ok: true, found: { familyId: row.family_id, user: row.user_name } };
    })();
    if (!outcome.ok) {
      if (outcome.reason !== 'rotating') return { ok: false, reason: outcome.reason, user: outcome.user };
      // The rotation's pair, once it is issued (the first request may still be signing it); none after a restart.
      const rotation = await this.rotated(hash);
      return rotation ? { ok: true, user: rotation.user, tokens: rotation.tokens } : { ok: false, reason: 'unknown', user: outcome.user };
    }
    const { user, familyId } = outcome.found;
    const issuing = this.issue(user, familyId);
    this.pending.set(hash, issuing);
    try {
      const tokens = await issuing;
      this.rotations.set(hash, { user, familyId, tokens, until: now + this.graceMs });
      return { ok: true, user, tokens };
    } finally {
      this.pending.delete(hash);
    }
  }

  private async rotated(hash: string): Promise<Rotation | undefined> {
    await this.pending.get(hash)?.catch(() => undefined);
    const rotation = this.rotations.get(hash);
    return rotation && rotation.until > Date.now() ? rotation : undefined;
  }

  revokeFamily(familyId: string): void {
    for (const [key, rotation] of this.rotations) if (rotation.familyId === familyId) this.rotations.delete(key);
    this.db.prepare('UPDATE session_families SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(new Date().toISOString(), familyId);
  }

  revokeUser(user: string): void {
    for (const [key, rotation] of this.rotations) if (rotation.user === user) this.rotations.delete(key);
    this.db.prepare('UPDATE session_families SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL').run(new Date().toISOString(), user);
  }
}
