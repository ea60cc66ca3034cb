// start.sh as the container runs it: clears a lock left by a dead process,
// migrates, execs the cluster; --daemon/--status/--stop; and the entry
// points that must never take the lock (CLI, knex CLI) while nothing runs.
// Each test gets a new database: an empty one where start.sh or the test
// itself migrates, a migrated one where the test needs the tables.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEmptyDatabase, createTestDatabase, testDialect } from './helpers/database.js';
import { startCluster, startedScheduler, FAST_ELECTION } from './helpers/cluster.js';
import { runCli } from './helpers/cli.js';
import { freePort, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';
import { readOwner } from '../src/leadership/lock-file.js';

const exec = promisify(execFile);
let dir: string;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  dir = tempDir('coursework-start-');
});
after(async () => {
  for (const cleanup of cleanups) await cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A new database with no tables yet; returns its URL. */
async function emptyDatabase(): Promise<string> {
  const { url, drop } = await createEmptyDatabase();
  cleanups.push(drop);
  return url;
}

/** A new database as `migrate` leaves it; returns its URL. */
async function migratedDatabase(): Promise<string> {
  const database = await createTestDatabase();
  cleanups.push(() => database.cleanup());
  return database.url;
}

const DEAD_PID = 2 ** 22 + 4321; // above the default pid_max of 4194304
function leaveDeadLock(lockFile: string, { ageMs }: { ageMs: number }): void {
  fs.mkdirSync(`${lockFile}.lock`, { recursive: true });
  fs.writeFileSync(lockFile, JSON.stringify({ pid: DEAD_PID, hostname: os.hostname(), workerId: 3, acquiredAt: new Date(Date.now() - ageMs).toISOString() }));
  const then = new Date(Date.now() - ageMs);
  fs.utimesSync(`${lockFile}.lock`, then, then);
}

test(`CLI and knex CLI with no cluster running never create the lock (${testDialect})`, async () => {
  const url = await emptyDatabase();
  const lockFile = path.join(dir, 'untouched.lock');
  const env = { ...process.env, DATABASE_URL: url, DATA_DIR: dir, SCHEDULER_LOCK_FILE: lockFile };
  for (const args of [['migrate'], ['scheduler:status'], ['lock:status']]) {
    const result = await runCli(env, ...args);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /scheduler started/);
  }
  await exec(process.execPath, ['--import', 'tsx', 'node_modules/knex/bin/cli.js', 'migrate:latest'], { env });
  assert.equal(fs.existsSync(lockFile), false);
  assert.equal(fs.existsSync(`${lockFile}.lock`), false);
  assert.deepEqual(JSON.parse((await runCli(env, 'lock:status')).stdout), { path: lockFile, state: 'free', owner: null });
});

test('scheduler:run with no leader says so (exit 1); with --local it runs in the CLI process without the lock', async () => {
  const url = await migratedDatabase();
  const lockFile = path.join(dir, 'local-run.lock');
  const env = { ...process.env, DATABASE_URL: url, DATA_DIR: dir, SCHEDULER_LOCK_FILE: lockFile };
  const remote = await runCli(env, 'scheduler:run', 'stage-status-sweep');
  assert.equal(remote.code, 1);
  assert.match(remote.stderr, /No scheduler leader is running/);

  const local = await runCli(env, 'scheduler:run', 'stage-status-sweep', '--local');
  assert.equal(local.code, 0, local.stderr);
  const execution = JSON.parse(local.stdout);
  assert.equal(execution.status, 'success');
  assert.equal(execution.jobId, 'stage-status-sweep');
  assert.notEqual(execution.pid, process.pid);
  assert.equal(fs.existsSync(lockFile), false);
  assert.equal(fs.existsSync(`${lockFile}.lock`), false);
});

test('start.sh clears a lock left by a dead process, migrates, and the new cluster elects a leader at once', async () => {
  const url = await emptyDatabase();
  const lockFile = path.join(dir, 'start.lock');
  leaveDeadLock(lockFile, { ageMs: 0 });
  // A long stale time: only start.sh's clearing can explain a quick leader.
  const cluster = await startCluster({ databaseUrl: url, viaStartSh: true, lockFile, dataDir: dir, env: { SCHEDULER_LOCK_STALE_MS: '600000' } });
  try {
    const leader = await cluster.waitForLog(startedScheduler, 20_000, 'scheduler started');
    assert.ok(cluster.text.some((t) => t.includes(`Removed a stale scheduler lock left by pid ${DEAD_PID}`)), cluster.text.join('\n'));
    assert.equal(readOwner(lockFile)?.pid, leader.pid);
    const ready = await fetch(`${cluster.baseUrl}/readyz`);
    assert.equal(ready.status, 200, 'migrations ran');
  } finally {
    assert.equal((await cluster.stop()).code, 0);
  }
  assert.equal(fs.existsSync(`${lockFile}.lock`), false);
});

test('without start.sh, stale detection alone recovers a dead process\'s lock', async () => {
  const STALE_MS = 6000;
  const url = await migratedDatabase();
  const lockFile = path.join(dir, 'nostart.lock');
  leaveDeadLock(lockFile, { ageMs: 0 });
  const startedAt = Date.now();
  // A stale time well beyond a worker's boot, so the workers surely first
  // find the lock fresh and must wait for it to go stale.
  const cluster = await startCluster({ databaseUrl: url, lockFile, workers: 2, env: { SCHEDULER_LOCK_STALE_MS: String(STALE_MS) } });
  try {
    const leader = await cluster.waitForLog(startedScheduler, 20_000, 'scheduler started');
    const tookMs = Date.now() - startedAt;
    assert.ok(tookMs >= STALE_MS - 500, `waited for staleness (${tookMs} ms)`);
    assert.ok(cluster.logs.some((l) => l.msg.includes(`scheduler already running in pid ${DEAD_PID}`)), `first saw the dead owner; the log:\n${cluster.logs.map((l) => `${String(l.time)} ${l.pid} ${l.msg}`).join('\n')}`);
    assert.equal(readOwner(lockFile)?.pid, leader.pid);
  } finally {
    assert.equal((await cluster.stop()).code, 0);
    fs.rmSync(cluster.dataDir, { recursive: true, force: true });
  }
});

test('start.sh --daemon, --status, --reload, --stop', async () => {
  const url = await emptyDatabase();
  const dataDir = tempDir('coursework-daemon-');
  const env = {
    ...process.env,
    ...FAST_ELECTION,
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    WEB_CONCURRENCY: '1',
    DATABASE_URL: url,
    DATA_DIR: dataDir,
    SCHEDULER_LOCK_FILE: path.join(dataDir, 'scheduler.lock'),
  };
  const run = async (flag: string) => {
    try {
      const { stdout } = await exec('./start.sh', [flag], { env });
      return { code: 0, stdout };
    } catch (err) {
      const e = err as { code: number; stdout: string };
      return { code: e.code, stdout: e.stdout };
    }
  };
  try {
    const started = await run('--daemon');
    assert.equal(started.code, 0, started.stdout);
    const pid = Number(fs.readFileSync(path.join(dataDir, 'coursework.pid'), 'utf8'));
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${env.PORT}/healthz`).catch(() => null))?.status === 200, 20_000, 'the daemon serves');
    assert.match((await run('--status')).stdout, new RegExp(`running \\(pid ${pid}\\)`));
    assert.equal((await run('--daemon')).code, 1, 'a second daemon is refused');

    // --reload: a rolling restart of the running daemon, the primary stays.
    const workerBefore = ((await (await fetch(`http://127.0.0.1:${env.PORT}/healthz`)).json()) as { pid: number }).pid;
    const reloaded = await run('--reload');
    assert.equal(reloaded.code, 0, reloaded.stdout);
    await waitUntil(() => /rolling restart done/.test(fs.readFileSync(path.join(dataDir, 'coursework.log'), 'utf8')), 30_000, 'the rolling restart ends');
    const workerAfter = ((await (await fetch(`http://127.0.0.1:${env.PORT}/healthz`)).json()) as { pid: number }).pid;
    assert.notEqual(workerAfter, workerBefore, 'the worker was replaced');
    assert.match((await run('--status')).stdout, new RegExp(`running \\(pid ${pid}\\)`));

    const stopped = await run('--stop');
    assert.equal(stopped.code, 0, stopped.stdout);
    const status = await run('--status');
    assert.equal(status.code, 3);
    assert.match(status.stdout, /not running/);
    assert.match(fs.readFileSync(path.join(dataDir, 'coursework.log'), 'utf8'), /primary stopped/);

    // A pid file left behind whose pid now belongs to another program: never signalled.
    const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(dataDir, 'coursework.pid'), String(stranger.pid));
      const refused = await run('--stop');
      assert.equal(refused.code, 0);
      assert.match(refused.stdout, /not running/);
      assert.equal(stranger.exitCode, null, 'the other program still runs');
      assert.equal(stranger.signalCode, null);
    } finally {
      stranger.kill('SIGKILL');
    }
  } finally {
    await run('--stop');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
