// The lock-file election with short stale/retry values: contention, stale
// takeover after SIGKILL, and a leader whose event loop was blocked past the
// stale time, which must step down rather than run beside the new leader.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockfileElection } from '../src/leadership/lockfile-election.js';
import { LockPathError, clearStaleLock, readLockState, readOwner } from '../src/leadership/lock-file.js';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { holdElectionInChild, spawnScript, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';
import { numberFromDb } from '../src/db/rows.js';

const STALE_MS = 2000;
let dir: string;
let database: TestDatabase;

before(async () => {
  dir = tempDir('coursework-election-');
  database = await createTestDatabase();
});
after(async () => {
  await database.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

function election(file: string, workerId = 1) {
  return new LockfileElection({ file, staleMs: STALE_MS, workerId });
}

test('one holder at a time; the owner file names it; release frees the lock', async () => {
  const file = path.join(dir, 'contention.lock');
  const a = election(file, 1);
  const b = election(file, 2);
  assert.equal(readLockState(file, STALE_MS).state, 'free');
  assert.equal(await a.acquire(), true);
  assert.equal(await b.acquire(), false);
  const seen = await b.currentOwner();
  assert.equal(seen.state, 'held');
  assert.equal(seen.owner?.pid, process.pid);
  assert.equal(seen.owner?.workerId, 1);
  assert.equal(await a.stillLeading(), true);
  assert.equal(await b.stillLeading(), false);

  await a.release();
  assert.equal(fs.existsSync(`${file}.lock`), false);
  assert.equal(readLockState(file, STALE_MS).state, 'free');
  assert.equal(await b.acquire(), true);
  assert.equal((await b.currentOwner()).owner?.workerId, 2);
  await b.release();
});

test('a lock left by a SIGKILLed holder is taken over once stale, not before', async () => {
  const file = path.join(dir, 'killed.lock');
  const holder = await holdElectionInChild('lockfile', file, STALE_MS);
  assert.equal(readLockState(file, STALE_MS).owner?.pid, holder.child.pid);
  holder.child.kill('SIGKILL');
  await holder.exited;
  const killedAt = Date.now();

  const contender = election(file, 2);
  assert.equal(await contender.acquire(), false, 'not stale yet');
  // Its owner is dead on this host, so anyone reading the lock calls it stale.
  assert.equal(readLockState(file, STALE_MS).state, 'stale');
  await waitUntil(() => contender.acquire(), STALE_MS + 3000, 'the contender takes the stale lock');
  const tookMs = Date.now() - killedAt;
  assert.ok(tookMs <= STALE_MS + 1000, `took ${tookMs} ms`);
  assert.equal(readLockState(file, STALE_MS).owner?.pid, process.pid);
  await contender.release();
});

test('clearStaleLock removes a dead owner\'s lock and leaves a live one', async () => {
  const file = path.join(dir, 'clear.lock');
  fs.mkdirSync(`${file}.lock`);
  fs.writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 12345, hostname: (await import('node:os')).hostname(), workerId: 1, acquiredAt: new Date().toISOString() }));
  assert.equal(clearStaleLock(file, 60_000).state, 'stale');
  assert.equal(fs.existsSync(`${file}.lock`), false);

  const live = election(file);
  assert.equal(await live.acquire(), true);
  assert.equal(clearStaleLock(file, 60_000).state, 'held');
  assert.equal(fs.existsSync(`${file}.lock`), true);
  await live.release();
});

test(`a leader whose event loop is blocked past the stale time steps down and runs nothing more (${testDialect})`, async () => {
  const file = path.join(dir, 'blocked.lock');
  const fixture = spawnScript('test/fixtures/blocking-leader.ts', [file, database.url, String(3 * STALE_MS)]);
  await waitUntil(() => fixture.lines.some((l) => l.msg === 'blocking the event loop'), 20_000, `the fixture blocks (stderr: ${fixture.stderr()})`);
  const fixturePid = fixture.child.pid!;

  // The new leader: takes the lock once the blocked holder's refreshes stop.
  const successor = election(file, 2);
  await waitUntil(() => successor.acquire(), 3 * STALE_MS, 'the successor takes over during the block');
  const takenAt = Date.now();

  assert.equal(await fixture.exited, 0, fixture.stderr());
  const lost = fixture.lines.find((l) => l.msg.includes('scheduler lock lost'));
  assert.ok(lost, 'the blocked leader noticed it lost the lock');
  assert.equal(fixture.lines.find((l) => l.msg === 'fixture done')?.leading, false);

  const runs = await database.db('job_executions').where({ pid: fixturePid }).whereIn('status', ['running', 'success', 'error']);
  assert.ok(runs.length >= 2, 'the job ran while the fixture led');
  const after = runs.filter((r) => numberFromDb(r.started_at) >= takenAt);
  assert.deepEqual(after, [], 'nothing started after the successor took over');
  assert.equal(readLockState(file, STALE_MS).owner?.pid, process.pid);
  await successor.release();
});

test('a lock path that is a symbolic link, or another user\'s, is refused with the path named; nothing is written through it', async () => {
  const target = path.join(dir, 'precious.txt');
  fs.writeFileSync(target, 'keep me');
  const linked = path.join(dir, 'linked.lock');
  fs.symlinkSync(target, linked);
  await assert.rejects(election(linked).acquire(), (err: Error) => err instanceof LockPathError && err.message.includes(linked));
  assert.equal(fs.readFileSync(target, 'utf8'), 'keep me');
  assert.throws(() => clearStaleLock(linked, STALE_MS), LockPathError);

  if (process.getuid?.() === 0) {
    // Root can play the other user: a lock directory planted by uid 65534.
    const planted = path.join(dir, 'planted.lock');
    fs.mkdirSync(`${planted}.lock`);
    fs.chownSync(`${planted}.lock`, 65534, 65534);
    await assert.rejects(election(planted).acquire(), (err: Error) => err instanceof LockPathError && err.message.includes(`${planted}.lock`) && err.message.includes('uid 65534'));
  }
});

test('a lock just taken, whose owner file still names the dead previous owner, is held, not stale', () => {
  const file = path.join(dir, 'fresh.lock');
  fs.writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 999, hostname: os.hostname(), workerId: 1, acquiredAt: new Date().toISOString() }));
  const later = new Date(Date.now() + 50);
  fs.utimesSync(file, new Date(Date.now() - 1000), new Date(Date.now() - 1000));
  fs.mkdirSync(`${file}.lock`); // the new holder's directory, made after the old owner file
  fs.utimesSync(`${file}.lock`, later, later);
  assert.equal(readLockState(file, STALE_MS).state, 'held');
  assert.equal(clearStaleLock(file, STALE_MS).state, 'held');
  assert.ok(fs.existsSync(`${file}.lock`), 'start.sh leaves it');
});

test('if the owner file cannot be written after the lock is taken, the lock is given back', async () => {
  const file = path.join(dir, 'unwritable.lock');
  fs.mkdirSync(file); // a directory where the owner file should go: the rename fails
  await assert.rejects(election(file).acquire());
  assert.equal(fs.existsSync(`${file}.lock`), false, 'not leaked until restart');
});

test('a leader that steps down stops refreshing at once and frees the lock it made; a directory that is not its own is left alone', async () => {
  const file = path.join(dir, 'step-down.lock');
  const leader = new LockfileElection({ file, staleMs: STALE_MS, workerId: 1, db: database.db });
  assert.equal(await leader.acquire(), true);
  leader.stepDown(new Error('term superseded'));
  assert.equal(leader.term, null);
  await waitUntil(() => !fs.existsSync(`${file}.lock`), 2000, 'the lock it made is removed');
  const next = election(file, 2);
  assert.equal(await next.acquire(), true, 'taken at once, not once stale');
  await next.release();

  // While it led, its directory was replaced (a successor's): stepping down must keep it, and never touch it again.
  const other = path.join(dir, 'replaced.lock');
  const former = election(other, 1);
  assert.equal(await former.acquire(), true);
  fs.rmdirSync(`${other}.lock`);
  fs.mkdirSync(`${other}.lock`);
  const successorsMtime = new Date(Date.now() - 500);
  fs.utimesSync(`${other}.lock`, successorsMtime, successorsMtime);
  former.stepDown(new Error('term superseded'));
  await former.release(); // waits for the let-go to finish
  assert.ok(fs.existsSync(`${other}.lock`), "the successor's directory stays");
  // Refreshes come every max(1000, stale / 4) ms: two of them would have run by now.
  await new Promise((r) => setTimeout(r, 2500));
  const drift = Math.abs(fs.statSync(`${other}.lock`).mtimeMs - successorsMtime.getTime());
  assert.ok(drift < 1, `no refresh after stepping down (mtime moved by ${drift} ms)`);
  fs.rmdirSync(`${other}.lock`);
});

test(`two bidders that judge one stale lock at once: soon one of them leads, for good, and the lock names it (${testDialect})`, async () => {
  const file = path.join(dir, 'race.lock');
  const barrier = fs.mkdtempSync(path.join(dir, 'barrier-'));
  // Stale by its mtime alone: the owner it names (this process) is alive.
  fs.writeFileSync(file, JSON.stringify({ pid: process.pid, hostname: os.hostname(), workerId: 9, acquiredAt: new Date().toISOString() }));
  fs.mkdirSync(`${file}.lock`);
  const longAgo = new Date(Date.now() - 60_000);
  fs.utimesSync(`${file}.lock`, longAgo, longAgo);
  const contenders = [
    spawnScript('test/fixtures/stale-race.ts', ['x', file, database.url, barrier]),
    spawnScript('test/fixtures/stale-race.ts', ['y', file, database.url, barrier]),
  ];
  const leading = (c: (typeof contenders)[number]) => {
    const last = c.lines.filter((l) => l.msg.includes('scheduler started') || l.msg.includes('scheduler lock lost')).at(-1);
    return last?.msg.includes('scheduler started') ?? false;
  };
  const story = () => contenders.map((c) => `${c.child.pid}: ${c.lines.map((l) => l.msg).join(' | ')} ${c.stderr()}`).join('\n');
  try {
    await waitUntil(() => contenders.every((c) => c.lines.some((l) => l.msg === 'ready')), 30_000, `both contenders are ready\n${story()}`);
    const goAt = Date.now();
    fs.writeFileSync(path.join(barrier, 'go'), '');
    // Settled: one contender leads, the lock (fresh) names it, and its job has run
    // four times since the race began, the last within the past 1.5 s.
    const settled = async () => {
      const leader = contenders.find(leading);
      const state = readLockState(file, STALE_MS);
      if (!leader || state.state !== 'held' || state.owner?.pid !== leader.child.pid) return false;
      const runs = (await database.db('job_executions').where({ pid: leader.child.pid }).select('started_at')).map((r) => numberFromDb(r.started_at)).filter((t) => t >= goAt);
      return runs.length >= 4 && Math.max(...runs) > Date.now() - 1500;
    };
    // Each barrier holds a step for at most 3 s; then stale + retry, and four runs.
    await waitUntil(settled, 6000 + STALE_MS + 500 + 5000 + 5000, 'a contender leads for good and the lock names it').catch((err: Error) => {
      throw new Error(`${err.message}; lock: ${JSON.stringify(readLockState(file, STALE_MS))}\n${story()}`);
    });
    const leader = contenders.find(leading)!;
    assert.equal(contenders.filter(leading).length, 1, story());
    assert.equal(readOwner(file)?.pid, leader.child.pid);
  } finally {
    for (const c of contenders) c.child.kill('SIGKILL');
    await Promise.all(contenders.map((c) => c.exited));
  }
});
