// Clearing a dead leader's lock at once (src/leadership/dead-leader.ts) must
// never remove a lock someone else holds: not one whose owner lives (even
// under a pid that was reused), not one made beside an old owner file, not
// one that may be being taken over as stale; and contenders racing over a
// dead owner's lock end with exactly one holder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clearDeadOwnersLock, lockDirectoryId } from '../src/leadership/dead-leader.js';
import { readLockState } from '../src/leadership/lock-file.js';
import { processStartTime } from '../src/leadership/process-identity.js';
import { holdElectionInChild, spawnScript, tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const STALE_MS = 10_000;
let dir: string;

before(() => {
  dir = tempDir('coursework-dead-leader-');
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A lock directory and an owner file naming `pid`, as a leader would leave them. */
function lockNaming(file: string, pid: number, startTime: string | null): void {
  fs.rmSync(`${file}.lock`, { recursive: true, force: true });
  fs.mkdirSync(`${file}.lock`);
  const owner = { pid, hostname: os.hostname(), workerId: 1, acquiredAt: new Date().toISOString(), startTime, lockId: lockDirectoryId(`${file}.lock`) };
  fs.writeFileSync(file, JSON.stringify(owner));
}

test('a reused pid: a live process with another start time counts as dead, with the recorded one as alive', async () => {
  const stranger = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    const pid = stranger.pid!;
    await waitUntil(() => processStartTime(pid) !== null, 5000, 'the stranger runs');
    const file = path.join(dir, 'reused.lock');

    lockNaming(file, pid, processStartTime(pid));
    assert.equal(readLockState(file, STALE_MS).state, 'held', 'the very process that took it');
    const kept = clearDeadOwnersLock(file, STALE_MS);
    assert.equal(kept.cleared, false);
    assert.ok(fs.existsSync(`${file}.lock`));

    lockNaming(file, pid, '1'); // the recorded leader started at another time: the pid was reused
    assert.equal(readLockState(file, STALE_MS).state, 'stale');
    assert.equal(clearDeadOwnersLock(file, STALE_MS).cleared, true);
    assert.equal(fs.existsSync(`${file}.lock`), false);
  } finally {
    stranger.kill('SIGKILL');
  }
});

test('a lock directory newer than its owner file, or one close to stale, is left alone', async () => {
  const file = path.join(dir, 'newer.lock');
  const gone = spawn('true');
  const deadPid = gone.pid!;
  await new Promise((resolve) => gone.once('exit', resolve));
  lockNaming(file, deadPid, '1');
  // The dead leader's directory went (stale takeover) and a contender made a
  // new one, not yet naming itself: the same inode number may come back, the
  // birth time does not.
  fs.rmdirSync(`${file}.lock`);
  await new Promise((resolve) => setTimeout(resolve, 5));
  fs.mkdirSync(`${file}.lock`);
  const newer = clearDeadOwnersLock(file, STALE_MS);
  assert.equal(newer.cleared, false);
  assert.match(newer.cleared ? '' : newer.why, /newer than its owner file/);
  assert.ok(fs.existsSync(`${file}.lock`));

  lockNaming(file, deadPid, '1');
  const old = new Date(Date.now() - STALE_MS);
  fs.utimesSync(`${file}.lock`, old, old);
  const nearlyStale = clearDeadOwnersLock(file, STALE_MS);
  assert.equal(nearlyStale.cleared, false);
  assert.match(nearlyStale.cleared ? '' : nearlyStale.why, /close to stale/);

  lockNaming(file, deadPid, '1');
  assert.equal(clearDeadOwnersLock(file, STALE_MS, deadPid + 1).cleared, false, 'not the worker that died');
  assert.equal(clearDeadOwnersLock(file, STALE_MS, deadPid).cleared, true);
});

test('contenders racing over dead leaders\' locks, 25 races: exactly one holder each time', async () => {
  const CONTENDERS = 4;
  const RACES = 25;
  const EVERY_MS = 150;
  // Long enough that no lock gets close to stale during the races (that one would be left to
  // the stale takeover, by design).
  const RACE_STALE_MS = 60_000;
  // The first lock is a real leader's, killed: its owner file and directory as a crash leaves
  // them. The others name a process that has exited, written as a leader writes them.
  const files = Array.from({ length: RACES }, (_, race) => path.join(dir, `race-${race}.lock`));
  const leader = await holdElectionInChild('lockfile', files[0], RACE_STALE_MS);
  leader.child.kill('SIGKILL');
  await leader.exited;
  for (const file of files.slice(1)) lockNaming(file, spawnSync('true').pid, '1');

  const firstAt = Date.now() + 4000; // every contender has booted by then, and they go at once
  const contenders = Array.from({ length: CONTENDERS }, () => spawnScript('test/fixtures/race-dead-lock.ts', [String(RACE_STALE_MS), String(firstAt), String(EVERY_MS), ...files]));
  try {
    await waitUntil(() => contenders.every((c) => c.lines.length === RACES || c.child.exitCode !== null), 30_000 + RACES * EVERY_MS, 'every contender has run every race');
    for (let race = 0; race < RACES; race++) {
      const results = contenders.map((c) => c.lines.find((l) => (l as unknown as { race: number }).race === race) as unknown as { acquired: boolean; cleared: boolean; late: number } | undefined);
      const holders = results.filter((r) => r?.acquired).length;
      assert.equal(holders, 1, `race ${race}: ${JSON.stringify(results)} ${contenders.map((c) => c.stderr()).join('')}`);
      assert.ok(results.filter((r) => r?.cleared).length >= 1, `race ${race}: someone cleared the dead lock`);
    }
  } finally {
    for (const c of contenders) c.child.kill('SIGKILL');
    await Promise.all(contenders.map((c) => c.exited));
  }
});
