// The CLI's commands, each a small function of narrow dependencies.
import type { Knex } from 'knex';
import type { Config } from '../config.js';
import { migrateLatest } from '../db/migrations.js';
import { countUsers, createUser, findUserByEmail } from '../domain/users.js';
import { dialectOf } from '../db/connect.js';
import { apiTokenJson, createApiToken, listApiTokens, revokeApiToken } from '../domain/api-tokens.js';
import { seedDemo } from './seed-demo.js';
import { clearStaleLock } from '../leadership/lock-file.js';
import { exportCommand } from './export-command.js';
import { createElection, describeLock } from '../leadership/create-election.js';
import { DAY } from '../time.js';
import { email, parseInput, password, role, z } from '../validation.js';
import { UsageError, type Command, type CommandContext } from './command.js';
import { schedulerCommands } from './scheduler-commands.js';

export { UsageError };

/**
 * Known demo passwords are for a developer's embedded database, never for a
 * production server: `auto` seeds only a fresh SQLite database outside
 * NODE_ENV=production; DEMO_DATA=true/false force it.
 */
export function wantsDemoData(config: Config): boolean {
  if (config.demoData !== 'auto') return config.demoData === 'true';
  return !config.production && dialectOf(config.databaseUrl) === 'sqlite';
}

async function readPasswordFromStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.replace(/\r?\n$/, '');
}

/** The user --email names; says so on stderr when there is none. */
async function userNamedBy(db: Knex, args: CommandContext['args']): Promise<{ id: number } | undefined> {
  const address = required(args, 'email');
  const user = await findUserByEmail(db, address);
  if (!user) process.stderr.write(`No user with email ${address}\n`);
  return user;
}

function required(args: CommandContext['args'], name: string): string {
  const value = args[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`Missing --${name}`);
  return value;
}

export const commands: Record<string, Command> = {
  'submissions:export': exportCommand,

  migrate: {
    usage: '',
    summary: 'run pending database migrations',
    async run({ db, out }) {
      const ran = await migrateLatest(db);
      out(ran.length ? `Ran ${ran.length} migration(s):\n${ran.map((m) => `  ${m}`).join('\n')}` : 'Database is up to date; no migrations to run.');
    },
  },

  'users:create': {
    usage: '--email E (--password P | --password-stdin) --role admin|teacher|student [--name N]',
    summary: 'create a user and print its id (--password-stdin keeps the password out of the process list and shell history)',
    options: { email: { type: 'string' }, password: { type: 'string' }, 'password-stdin': { type: 'boolean' }, role: { type: 'string' }, name: { type: 'string' } },
    async run({ db, args, out }) {
      const input = parseInput(z.object({ email, password, role, name: z.string().max(200).optional() }), {
        email: required(args, 'email'),
        password: args['password-stdin'] ? await readPasswordFromStdin() : required(args, 'password'),
        role: required(args, 'role'),
        name: args.name,
      });
      const user = await createUser(db, input);
      out(String(user.id));
    },
  },

  'tokens:create': {
    usage: '--email E [--label L] [--expires-days N]',
    summary: 'create an API token and print it (shown once); --expires-days makes it expire',
    options: { email: { type: 'string' }, label: { type: 'string' }, 'expires-days': { type: 'string' } },
    async run({ db, args, out }) {
      const user = await userNamedBy(db, args);
      if (!user) return 1;
      const days = args['expires-days'];
      const expiresAt = typeof days === 'string' ? Date.now() + parseInput(z.object({ 'expires-days': z.coerce.number().int().min(1).max(3650) }), { 'expires-days': days })['expires-days'] * DAY : null;
      out(await createApiToken(db, user.id, typeof args.label === 'string' ? args.label : 'cli', { expiresAt }));
    },
  },

  'tokens:list': {
    usage: '--email E',
    summary: "a user's API tokens (id, label, created, last used, expiry), never the secrets (JSON)",
    options: { email: { type: 'string' } },
    async run({ db, args, out }) {
      const user = await userNamedBy(db, args);
      if (!user) return 1;
      out(JSON.stringify((await listApiTokens(db, user.id)).map(apiTokenJson)));
    },
  },

  'tokens:revoke': {
    usage: '<id>',
    summary: 'revoke an API token at once, on every worker (it is deleted; each request looks tokens up)',
    async run({ db, positionals, out }) {
      const id = Number(positionals[0]);
      if (!Number.isInteger(id) || id <= 0) throw new UsageError('Expected <id>, the token id that tokens:list shows');
      const revoked = await revokeApiToken(db, id);
      if (!revoked) {
        process.stderr.write(`No API token with id ${id}\n`);
        return 1;
      }
      out(`Revoked token ${revoked.id} (${revoked.label || 'no label'}) of user ${revoked.userId}`);
    },
  },

  'seed:demo': {
    usage: '',
    summary: 'add a demo course with past, current and future stages, a teacher and a student',
    async run({ db, config, out }) {
      out(await seedDemo(db, config.dataDir));
    },
  },

  welcome: {
    usage: '',
    summary: 'on a database with no users, say how to sign in (DEMO_DATA: seeds the demo on a fresh embedded database outside production)',
    async run({ db, config, out }) {
      if ((await countUsers(db)) > 0) return;
      const url = `http://localhost:${config.port}`;
      if (wantsDemoData(config)) {
        out(`First start: ${await seedDemo(db, config.dataDir)}\nOpen ${url}`);
        return;
      }
      out(
        `No users yet. Create the first admin (the password is read from standard input), then sign in at ${url}:\n` +
          `  npm run --silent cli -- users:create --email you@example.com --role admin --password-stdin`,
      );
    },
  },

  'lock:status': {
    usage: '',
    summary: 'the scheduler lock: held, stale or free, and its owner (JSON)',
    async run({ db, config, out }) {
      const { state, owner } = await createElection(config, { db, workerId: null }).currentOwner();
      out(JSON.stringify({ path: describeLock(config), state, owner: state === 'free' ? null : owner }));
    },
  },

  'lock:clear-stale': {
    usage: '',
    summary: 'remove the scheduler lock file if it is stale (start.sh runs this before the cluster)',
    run({ config, out }) {
      // A database lease expires by itself; only a lock file can be left behind.
      if (config.leaderElection !== 'lockfile') return Promise.resolve();
      const { state, owner } = clearStaleLock(config.schedulerLockFile, config.schedulerLockStaleMs);
      if (state === 'stale') out(`Removed a stale scheduler lock left by pid ${owner?.pid ?? 'unknown'} on ${owner?.hostname ?? 'an unknown host'}`);
      if (state === 'held') out(`Scheduler lock is held by live pid ${owner?.pid} on ${owner?.hostname}; leaving it`);
      return Promise.resolve();
    },
  },
  ...schedulerCommands,
};
