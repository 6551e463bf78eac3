import type { AdminDatabase } from '../store/admin-database.ts';
import type { Role } from './scopes.ts';

export interface User {
  name: string;
  role: Role;
  passwordHash: string;
  mustChangePassword: boolean;
  createdAt: string;
}

interface Row {
  name: string;
  role: Role;
  password_hash: string;
  must_change: number;
  created_at: string;
}

const toUser = (row: Row): User => ({
  name: row.name,
  role: row.role,
  passwordHash: row.password_hash,
  mustChangePassword: row.must_change === 1,
  createdAt: row.created_at,
});

export const USER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** Users and their argon2id hashes. A password change also ends the user's sessions, in one transaction. */
export class UserStore {
  constructor(private readonly db: AdminDatabase) {}

  get(name: string): User | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE name = ?').get(name) as Row | undefined;
    return row && toUser(row);
  }

  list(): Array<Omit<User, 'passwordHash'>> {
    const rows = this.db.prepare('SELECT * FROM users ORDER BY name').all() as Row[];
    return rows.map((row) => {
      const { passwordHash: _hidden, ...user } = toUser(row);
      return user;
    });
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  }

  countAdmins(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM users WHERE role = 'admin'").get() as { n: number }).n;
  }

  /** False when the name is taken. */
  create(name: string, role: Role, passwordHash: string, mustChange: boolean): boolean {
    const result = this.db
      .prepare('INSERT OR IGNORE INTO users (name, role, password_hash, must_change, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(name, role, passwordHash, mustChange ? 1 : 0, new Date().toISOString());
    return result.changes === 1;
  }

  /**
   * Sets a new hash and revokes the user's sessions except `keepFamily` (the session that made the change).
   * False when there is no such user.
   */
  setPassword(name: string, passwordHash: string, mustChange: boolean, keepFamily?: string): boolean {
    return this.db.transaction(() => {
      const result = this.db.prepare('UPDATE users SET password_hash = ?, must_change = ? WHERE name = ?').run(passwordHash, mustChange ? 1 : 0, name);
      this.db
        .prepare('UPDATE session_families SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL AND id IS NOT ?')
        .run(new Date().toISOString(), name, keepFamily ?? null);
      return result.changes === 1;
    })();
  }

  delete(name: string): boolean {
    return this.db.prepare('DELETE FROM users WHERE name = ?').run(name).changes === 1;
  }
}
