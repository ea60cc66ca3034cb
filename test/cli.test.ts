// The built CLI, run as a real process; each test on a new database of its own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createEmptyDatabase, createTestDatabase, testDialect } from './helpers/database.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/processes.js';
import { DEMO_ACCOUNTS_FILE, readDemoAccounts } from '../src/cli/seed-demo.js';
import { connect } from '../src/db/connect.js';
import { userForApiToken } from '../src/domain/api-tokens.js';
import { authenticate, createUser } from '../src/domain/users.js';

let dataDir: string;
const cleanups: (() => Promise<void>)[] = [];

before(() => {
  dataDir = tempDir('coursework-cli-');
});
after(async () => {
  for (const cleanup of cleanups) await cleanup();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The built CLI against the database at `url`, with the environment an operator would give it. */
function cliOn(url: string) {
  const env = { ...process.env, DATABASE_URL: url, DATA_DIR: dataDir, SCHEDULER_LOCK_FILE: path.join(dataDir, 'scheduler.lock') };
  return (...args: string[]) => runCli(env, ...args);
}

/** A new database with no tables yet; returns its URL. */
async function emptyDatabase(): Promise<string> {
  const { url, drop } = await createEmptyDatabase();
  cleanups.push(drop);
  return url;
}

/** A new database as `migrate` leaves it. */
async function migratedDatabase() {
  const database = await createTestDatabase();
  cleanups.push(() => database.cleanup());
  return database;
}

test(`migrate, users:create, tokens:create on ${testDialect}`, async () => {
  const url = await emptyDatabase();
  const cli = cliOn(url);
  const first = await cli('migrate');
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /Ran \d+ migration\(s\)/);
  assert.match((await cli('migrate')).stdout, /up to date/);

  const created = await cli('users:create', '--email', 'Ada@Example.com', '--password', 'correct-horse', '--role', 'teacher');
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^\d+\n$/);

  const token = await cli('tokens:create', '--email', 'ada@example.com');
  assert.equal(token.code, 0, token.stderr);
  const lines = token.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, 'the token alone, on one line');

  const db = connect(url);
  try {
    const user = await userForApiToken(db, lines[0]);
    assert.equal(user?.email, 'ada@example.com');
    assert.equal(user?.id, Number(created.stdout));
    const stored = await db('api_tokens').first('token_hash');
    assert.notEqual(stored.token_hash, lines[0], 'only a hash is stored');
    const userRow = await db('users').first('password_hash');
    assert.match(userRow.password_hash, /^\$argon2id\$/);
  } finally {
    await db.destroy();
  }
});

test('bad usage exits 2 and names the problem; failures exit 1', async () => {
  const database = await migratedDatabase();
  // Taken already, for the duplicate below.
  await createUser(database.db, { email: 'ada@example.com', password: 'correct-horse', role: 'teacher' });
  const cli = cliOn(database.url);
  const unknown = await cli('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown command "frobnicate"/);

  const missing = await cli('users:create', '--email', 'x@example.com', '--role', 'admin');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Missing --password/);

  const short = await cli('users:create', '--email', 'x@example.com', '--password', 'short', '--role', 'admin');
  assert.equal(short.code, 2);
  assert.match(short.stderr, /password: must be at least 8 characters/);

  const badRole = await cli('users:create', '--email', 'x@example.com', '--password', 'long-enough', '--role', 'janitor');
  assert.equal(badRole.code, 2);
  assert.match(badRole.stderr, /role/);

  const duplicate = await cli('users:create', '--email', 'ada@example.com', '--password', 'long-enough', '--role', 'student');
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /already exists/);

  const nobody = await cli('tokens:create', '--email', 'nobody@example.com');
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /No user with email/);
});

test('seed:demo creates the demo course once', async () => {
  const { url } = await migratedDatabase();
  const cli = cliOn(url);
  const seeded = await cli('seed:demo');
  assert.equal(seeded.code, 0, seeded.stderr);
  assert.match(seeded.stdout, /Created demo course DEMO-101 with 3 stages/);
  assert.match((await cli('seed:demo')).stdout, /already exists/);
  const db = connect(url);
  try {
    const statuses = (await db('stages').orderBy('start_date')).map((s) => s.status);
    assert.deepEqual(statuses, ['completed', 'active', 'pending']);
  } finally {
    await db.destroy();
  }
});

test('tokens:list shows no secret, tokens:revoke refuses the token at once, an expired token is refused', async () => {
  const { url, db } = await migratedDatabase();
  const cli = cliOn(url);
  await createUser(db, { email: 'tok@example.com', password: 'long-enough', role: 'teacher', name: '' });
  const kept = (await cli('tokens:create', '--email', 'tok@example.com', '--label', 'kept')).stdout.trim();
  const doomed = (await cli('tokens:create', '--email', 'tok@example.com', '--label', 'doomed')).stdout.trim();
  assert.ok(await userForApiToken(db, doomed));

  const listed = await cli('tokens:list', '--email', 'tok@example.com');
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(!listed.stdout.includes(kept) && !listed.stdout.includes(doomed), 'never the secret');
  const tokens = JSON.parse(listed.stdout) as { id: number; label: string; createdAt: string; lastUsedAt: string | null; expiresAt: string | null }[];
  assert.deepEqual(tokens.map((t) => t.label), ['kept', 'doomed']);
  assert.ok(tokens[1].lastUsedAt, 'the last use is shown');

  const revoked = await cli('tokens:revoke', String(tokens[1].id));
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(await userForApiToken(db, doomed), undefined, 'refused from the next request on');
  assert.ok(await userForApiToken(db, kept));
  assert.equal((await cli('tokens:revoke', String(tokens[1].id))).code, 1);
  assert.equal((await cli('tokens:revoke', 'abc')).code, 2);

  const expiring = (await cli('tokens:create', '--email', 'tok@example.com', '--expires-days', '1')).stdout.trim();
  assert.ok(await userForApiToken(db, expiring));
  await db('api_tokens').whereNotNull('expires_at').update({ expires_at: Date.now() - 1 });
  assert.equal(await userForApiToken(db, expiring), undefined, 'past its expiry');
  const bad = await cli('tokens:create', '--email', 'tok@example.com', '--expires-days', 'soon');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /expires-days/);
});

test('users:create --password-stdin reads the password from standard input', async () => {
  const { url, db } = await migratedDatabase();
  const env = { ...process.env, DATABASE_URL: url, DATA_DIR: dataDir, SCHEDULER_LOCK_FILE: path.join(dataDir, 'scheduler.lock') };
  const result = spawnSync(process.execPath, ['dist/cli.js', 'users:create', '--email', 'root@example.com', '--role', 'admin', '--password-stdin'], { env, input: 'a-secret-from-stdin\n', encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.ok(await authenticate(db, 'root@example.com', 'a-secret-from-stdin'), 'the trailing newline is not part of the password');
});

test('welcome: demo accounts on a fresh embedded database, never with NODE_ENV=production or DEMO_DATA=false', async () => {
  const users = async (url: string) => {
    const db = connect(url);
    try {
      return (await db('users').orderBy('email')).map((u) => `${u.email}:${u.role}`);
    } finally {
      await db.destroy();
    }
  };
  const sqliteOnly = testDialect === 'sqlite';

  const production = await migratedDatabase();
  const said = await runCli({ ...process.env, DATABASE_URL: production.url, DATA_DIR: dataDir, NODE_ENV: 'production' }, 'welcome');
  assert.equal(said.code, 0, said.stderr);
  assert.deepEqual(await users(production.url), [], 'no demo accounts in production');
  assert.match(said.stdout, /users:create --email you@example.com --role admin --password-stdin/);

  const off = await migratedDatabase();
  await runCli({ ...process.env, DATABASE_URL: off.url, DATA_DIR: dataDir, DEMO_DATA: 'false' }, 'welcome');
  assert.deepEqual(await users(off.url), []);

  const auto = await migratedDatabase();
  const demoDir = tempDir('coursework-demo-');
  const seeded = await runCli({ ...process.env, DATABASE_URL: auto.url, DATA_DIR: demoDir, NODE_ENV: 'development' }, 'welcome');
  if (sqliteOnly) {
    assert.deepEqual(await users(auto.url), ['admin@example.com:admin', 'student@example.com:student', 'teacher@example.com:teacher']);
    await assertDemoPasswordsGenerated(auto.url, demoDir, seeded.stdout);
  } else {
    assert.deepEqual(await users(auto.url), [], 'auto seeds only the embedded database');
  }

  const forced = await migratedDatabase();
  await runCli({ ...process.env, DATABASE_URL: forced.url, DATA_DIR: dataDir, DEMO_DATA: 'true' }, 'welcome');
  assert.equal((await users(forced.url)).length, 3, 'DEMO_DATA=true seeds any database');
});

/**
 * The demo accounts' passwords (issue 24): made on the first start, none of
 * the old fixed ones, printed that once, kept in <DATA_DIR>/demo-accounts.txt
 * with mode 0600 as `<email> <password> <role>` lines, and they sign in.
 */
async function assertDemoPasswordsGenerated(url: string, demoDir: string, firstStdout: string): Promise<void> {
  const file = path.join(demoDir, DEMO_ACCOUNTS_FILE);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ').filter((w, i) => i !== 1).join(' ')), ['admin@example.com admin', 'teacher@example.com teacher', 'student@example.com student']);
  const accounts = readDemoAccounts(demoDir);
  const db = connect(url);
  try {
    for (const [role, { email, password }] of Object.entries(accounts)) {
      assert.ok(password.length >= 16, `${role}: a long password`);
      assert.ok(!/demo-pass/.test(password), `${role}: not the old fixed one`);
      assert.ok(firstStdout.includes(`${email} ${password} ${role}`), `${role}: printed on the first start`);
      assert.ok(await authenticate(db, email, password), `${role}: signs in`);
    }
  } finally {
    await db.destroy();
  }
  // Printed once: a later seed names the file, not the passwords.
  const again = await runCli({ ...process.env, DATABASE_URL: url, DATA_DIR: demoDir }, 'seed:demo');
  assert.match(again.stdout, /already exists; its accounts and passwords are in .*demo-accounts\.txt/);
  for (const { password } of Object.values(accounts)) assert.ok(!again.stdout.includes(password));
}
