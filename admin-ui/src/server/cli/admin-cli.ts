// `npm run admin -- <command>`: the operator's way in when the UI is not (lost password, scripts, incidents).
// Works on the same database file as a running server; every change is audited with source `cli`.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApiTokens } from '../auth/api-tokens.ts';
import { hashPassword, passwordProblem, randomPassword } from '../auth/passwords.ts';
import { SCOPES, isScope, type Scope } from '../auth/scopes.ts';
import { SigningKey } from '../auth/signing-key.ts';
import { USER_NAME, UserStore } from '../auth/user-store.ts';
import { REPO_ENV_FILE, adminDbPath } from '../settings.ts';
import { openAdminDatabase, type AdminDatabase } from '../store/admin-database.ts';
import { AuditLog } from '../store/audit-log.ts';

const USAGE = `usage: npm run admin -- <command>
  hash-password                          read a password on stdin, print its argon2id hash
  reset-password <user> [--stdin]        new one-time password (printed; must be changed at login), or
                                         the password read on stdin; ends the user's sessions
  create-token --name <name> --scopes <s1,s2>   print a new API token (shown once)
  list-tokens                            id, name, scopes, last use
  revoke-token <id>
  rotate-jwt-secret                      new session signing key: every session ends now
scopes: ${SCOPES.join(', ')}`;

class UsageError extends Error {}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (input is shown; pipe it to hide it): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function newPassword(fromStdin: boolean): Promise<{ password: string; oneTime: boolean }> {
  if (!fromStdin) return { password: randomPassword(), oneTime: true };
  const password = await readStdin();
  const problem = passwordProblem(password);
  if (problem) throw new UsageError(`password ${problem}`);
  return { password, oneTime: false };
}

async function run(argv: string[], db: () => AdminDatabase): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, scopes: { type: 'string' }, stdin: { type: 'boolean', default: false } },
  });
  const [command, arg] = positionals;
  const audit = (action: string, detail: Record<string, unknown>): void => new AuditLog(db()).record('cli', action, detail, 'cli');
  switch (command) {
    case 'hash-password': {
      const password = await readStdin();
      const problem = passwordProblem(password);
      if (problem) throw new UsageError(`password ${problem}`);
      return hashPassword(password);
    }
    case 'reset-password': {
      if (!arg || !USER_NAME.test(arg)) throw new UsageError('reset-password needs a user name');
      const users = new UserStore(db());
      const { password, oneTime } = await newPassword(values.stdin);
      const hash = await hashPassword(password);
      // The first admin can always be brought back, e.g. after its row was deleted by hand.
      const done = users.setPassword(arg, hash, oneTime) || (arg === 'admin' && users.create(arg, 'admin', hash, oneTime));
      if (!done) throw new UsageError(`no user "${arg}"`);
      audit('password.reset', { user: arg });
      return oneTime ? `one-time password for ${arg}: ${password}\n(it must be changed at first login; other sessions ended)` : `password of ${arg} set; sessions ended`;
    }
    case 'create-token': {
      const scopes = (values.scopes ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      if (!values.name || !/^[A-Za-z0-9 _.:@-]{1,64}$/.test(values.name)) throw new UsageError('create-token needs --name (1-64 letters, digits, " _.:@-")');
      const unknown = scopes.filter((s) => !isScope(s));
      if (scopes.length === 0 || unknown.length) throw new UsageError(`--scopes must list known scopes${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
      const created = new ApiTokens(db()).create(values.name, [...new Set(scopes)] as Scope[], 'cli');
      audit('token.create', { id: created.id, name: values.name, scopes });
      return `id: ${created.id}\ntoken: ${created.token}\n(shown once: store it now)`;
    }
    case 'list-tokens':
      return new ApiTokens(db()).list().map((t) => `${t.id}  ${t.name}  ${t.scopes.join(',')}  last used ${t.lastUsedAt ?? 'never'}`).join('\n') || '(no tokens)';
    case 'revoke-token': {
      if (!arg || !new ApiTokens(db()).revoke(arg)) throw new UsageError(`no token with id "${arg ?? ''}"`);
      audit('token.revoke', { id: arg });
      return `token ${arg} revoked`;
    }
    case 'rotate-jwt-secret':
      SigningKey.rotate(db());
      audit('sessions.rotate-key', {});
      return 'session signing key rotated: every session has ended';
    default:
      throw new UsageError(USAGE);
  }
}

// Settings already in the environment win over the file (as with the services).
if (existsSync(REPO_ENV_FILE)) process.loadEnvFile(REPO_ENV_FILE);
let database: AdminDatabase | undefined;
try {
  process.stdout.write(`${await run(process.argv.slice(2), () => (database ??= openAdminDatabase(adminDbPath(process.env))))}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof UsageError || err instanceof TypeError ? err.message : `admin: ${(err as Error).message}`}\n`);
  process.exitCode = 2;
} finally {
  database?.close();
}
