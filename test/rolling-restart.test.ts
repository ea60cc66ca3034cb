// SIGHUP's rolling restart when things do not go to plan: signals that come
// while one is under way are queued (one) or refused with a log line, never
// run side by side; a new worker that cannot boot stops the restart and the
// old workers keep serving, and the next SIGHUP starts afresh.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { userWithToken } from './helpers/http.js';
import { removeCluster, startReadyCluster, type RunningCluster } from './helpers/cluster.js';
import { childPids, type LogLine } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';
import { readOwner } from '../src/leadership/lock-file.js';

const WORKERS = 2;
const RESTART_BOUND_MS = 60_000;

let database: TestDatabase;
let token: string;

before(async () => {
  database = await createTestDatabase();
  ({ token } = await userWithToken(database.db, 'teacher'));
});
after(async () => {
  await database.cleanup();
});

const readyCluster = () => startReadyCluster({ databaseUrl: database.url, workers: WORKERS });

const restartBegins = (l: LogLine) => l.msg.startsWith('rolling restart: replacing every worker');
const restartDone = (l: LogLine) => l.msg === 'rolling restart done';
const indexesOf = (cluster: RunningCluster, predicate: (l: LogLine) => boolean) => cluster.logs.flatMap((l, i) => (predicate(l) ? [i] : []));

async function apiAnswers(cluster: RunningCluster): Promise<number> {
  return (await fetch(`${cluster.baseUrl}/api/courses`, { headers: { authorization: `Bearer ${token}` } })).status;
}

test(`SIGHUPs during a rolling restart: the next is queued and runs after it, a third is refused, none overlap (${testDialect})`, async () => {
  const cluster = await readyCluster();
  try {
    const before = await childPids(cluster.child.pid!);
    cluster.child.kill('SIGHUP');
    await cluster.waitForLog(restartBegins, RESTART_BOUND_MS, 'the restart begins');
    // One signal at a time, each answered before the next: signals sent back to back may merge.
    cluster.child.kill('SIGHUP');
    await cluster.waitForLog((l) => l.msg.includes('queued'), RESTART_BOUND_MS, 'the second SIGHUP queued');
    cluster.child.kill('SIGHUP');
    await cluster.waitForLog((l) => l.msg.includes('already queued: ignored'), RESTART_BOUND_MS, 'the third SIGHUP refused');

    await waitUntil(() => indexesOf(cluster, restartDone).length === 2, 2 * RESTART_BOUND_MS, 'two restarts done');
    const begins = indexesOf(cluster, restartBegins);
    const dones = indexesOf(cluster, restartDone);
    assert.equal(begins.length, 2, 'two restarts, not three');
    assert.ok(begins[0] < dones[0] && dones[0] < begins[1] && begins[1] < dones[1], 'the queued restart began only after the first ended');

    const afterPids = await childPids(cluster.child.pid!);
    assert.equal(afterPids.length, WORKERS);
    for (const pid of afterPids) assert.ok(!before.includes(pid), `worker ${pid} was not replaced`);
    assert.equal(await apiAnswers(cluster), 200);
    await waitUntil(() => afterPids.includes(readOwner(cluster.lockFile)?.pid ?? -1), 15_000, 'a new worker leads');
  } finally {
    await removeCluster(cluster);
  }
});

test(`a new worker that cannot boot stops the rolling restart; the old workers keep serving and the next SIGHUP starts afresh (${testDialect})`, async () => {
  const cluster = await readyCluster();
  const secretFile = path.join(cluster.dataDir, 'session-secret');
  const secret = fs.readFileSync(secretFile, 'utf8');
  try {
    const before = await childPids(cluster.child.pid!);
    const leader = readOwner(cluster.lockFile)?.pid;
    // Workers already running hold the secret; a new one reads the file at boot and refuses an empty one.
    fs.writeFileSync(secretFile, '');
    cluster.child.kill('SIGHUP');
    const stopped = await cluster.waitForLog((l) => l.msg.startsWith('rolling restart stopped'), RESTART_BOUND_MS, 'the restart to stop');
    assert.match(stopped.msg, /did not start \(it exited/);
    assert.match(cluster.text.join('\n') + cluster.logs.map((l) => JSON.stringify(l)).join('\n'), /session-secret is empty/, 'the new worker says why');

    await waitUntil(async () => (await childPids(cluster.child.pid!)).length === WORKERS, 10_000, 'the failed worker gone');
    assert.deepEqual((await childPids(cluster.child.pid!)).sort(), [...before].sort(), 'the old workers still serve');
    for (let i = 0; i < 4; i++) assert.equal(await apiAnswers(cluster), 200);
    assert.equal(readOwner(cluster.lockFile)?.pid, leader, 'the leader was not retired');
    assert.ok(!cluster.logs.some(restartDone), 'no restart claimed to be done');

    fs.writeFileSync(secretFile, secret);
    cluster.child.kill('SIGHUP');
    await cluster.waitForLog(restartDone, RESTART_BOUND_MS, 'the next restart to finish');
    const afterPids = await childPids(cluster.child.pid!);
    assert.equal(afterPids.length, WORKERS);
    for (const pid of afterPids) assert.ok(!before.includes(pid), `worker ${pid} was not replaced`);
  } finally {
    await removeCluster(cluster);
  }
});
