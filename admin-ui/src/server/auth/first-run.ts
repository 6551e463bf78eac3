import { hashPassword, randomPassword } from './passwords.ts';
import type { UserStore } from './user-store.ts';

export const FIRST_ADMIN = 'admin';

/**
 * On the first start (no users yet) creates `admin` with a random one-time password that must be changed at
 * first login. Returns the password so the caller shows it once, on the terminal; it is stored only hashed.
 */
export async function createFirstAdmin(users: UserStore): Promise<string | undefined> {
  if (users.count() > 0) return undefined;
  const password = randomPassword();
  return users.create(FIRST_ADMIN, 'admin', await hashPassword(password), true) ? password : undefined;
}
