/**
 * What an API token or a user may do. `admin` includes every other scope. `calls:test` places test calls from
 * the browser softphone (they run the real conversation, tools and providers, so they cost what calls cost).
 */
export const SCOPES = ['calls:read', 'calls:write', 'calls:test', 'config:read', 'config:write', 'containers:read', 'logs:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export type Role = 'admin' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'viewer'];

const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  admin: SCOPES,
  viewer: ['calls:read', 'config:read', 'containers:read', 'logs:read'],
};

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

export function scopesOfRole(role: Role): Scope[] {
  return [...ROLE_SCOPES[role]];
}

export function grants(held: readonly Scope[], needed: Scope): boolean {
  return held.includes('admin') || held.includes(needed);
}
