import { createHmac, randomBytes } from 'node:crypto';
import type { AdminDatabase } from '../store/admin-database.ts';

/**
 * The key that signs session JWTs: HMAC(JWT_SECRET, a random key kept in the database), or the random key
 * alone on a loopback install without JWT_SECRET. There is never a built-in default. Rotating the stored key
 * (`npm run admin -- rotate-jwt-secret`) invalidates every access token at once, even in a running server:
 * the key is read on each use (one indexed row).
 */
export class SigningKey {
  private cached: { stored: Buffer; derived: Uint8Array } | undefined;

  constructor(private readonly db: AdminDatabase, private readonly jwtSecret: string | undefined) {
    db.prepare('INSERT OR IGNORE INTO signing_key (id, key, rotated_at) VALUES (1, ?, ?)').run(randomBytes(32), new Date().toISOString());
  }

  current(): Uint8Array {
    const { key } = this.db.prepare('SELECT key FROM signing_key WHERE id = 1').get() as { key: Buffer };
    if (this.cached?.stored.equals(key)) return this.cached.derived;
    const derived = this.jwtSecret === undefined ? new Uint8Array(key) : new Uint8Array(createHmac('sha256', this.jwtSecret).update(key).digest());
    this.cached = { stored: key, derived };
    return derived;
  }

  /** New stored key, and every session family revoked: no old access or refresh token works afterwards. */
  static rotate(db: AdminDatabase): void {
    db.transaction(() => {
      const now = new Date().toISOString();
      db.prepare('INSERT OR REPLACE INTO signing_key (id, key, rotated_at) VALUES (1, ?, ?)').run(randomBytes(32), now);
      db.prepare('UPDATE session_families SET revoked_at = ? WHERE revoked_at IS NULL').run(now);
    })();
  }
}
