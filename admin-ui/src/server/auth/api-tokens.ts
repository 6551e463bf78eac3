import { createHash, randomBytes } from 'node:crypto';
import type { AdminDatabase } from '../store/admin-database.ts';
import type { Scope } from './scopes.ts';

export const TOKEN_PREFIX = 'aat_';
const TOKEN_SHAPE = /^aat_[A-Za-z0-9_-]{43}$/;

export interface ApiTokenInfo {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  lastUsedAt: string | null;
}

interface Row {
  id: string;
  name: string;
  scopes: string;
  created_at: string;
  last_used_at: string | null;
}

const toInfo = (row: Row): ApiTokenInfo => ({
  id: row.id,
  name: row.name,
  scopes: JSON.parse(row.scopes) as Scope[],
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

// 256 random bits: a plain SHA-256 is enough to store them (no dictionary to guess from).
const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Scoped API tokens for scripts: shown once at creation, stored only as a hash, revocable, last use kept. */
export class ApiTokens {
  constructor(private readonly db: AdminDatabase) {}

  create(name: string, scopes: Scope[], createdBy: string): { id: string; token: string } {
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const id = randomBytes(8).toString('hex');
    this.db
      .prepare('INSERT INTO api_tokens (id, name, hash, scopes, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, name, digest(token), JSON.stringify(scopes), createdBy, new Date().toISOString());
    return { id, token };
  }

  /** The token's record when it exists (its last use is updated); undefined otherwise. */
  use(token: string): ApiTokenInfo | undefined {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE hash = ?').get(digest(token)) as Row | undefined;
    if (!row) return undefined;
    const now = new Date().toISOString();
    this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, row.id);
    return { ...toInfo(row), lastUsedAt: now };
  }

  list(): ApiTokenInfo[] {
    return (this.db.prepare('SELECT * FROM api_tokens ORDER BY created_at, id').all() as Row[]).map(toInfo);
  }

  revoke(id: string): boolean {
    return this.db.prepare('DELETE FROM api_tokens WHERE id = ?').run(id).changes === 1;
  }
}
