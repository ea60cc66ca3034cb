// Stages change status on time with the real cluster running: a stage made
// through a worker that is not the leader opens and closes within 1.5 s of its
// dates, and stages whose dates passed while the cluster was down are caught
// up at start, each transition recorded once. Each test runs its own cluster
// on the file's database and course.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Knex } from 'knex';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, userWithToken, type ApiClient } from './helpers/http.js';
import { requestOnNewConnection, startCluster, startedScheduler, type RunningCluster } from './helpers/cluster.js';
import { tempDir } from './helpers/processes.js';
import { createCourse } from '../src/domain/courses.js';
import { dbNowMs } from '../src/db/clock.js';
import { MINUTE, SECOND, sleep, toIso } from '../src/time.js';

const ON_TIME_MS = 1500;

let database: TestDatabase;
let db: Knex;
let courseId: number;
let token: string;
const dataDirs: string[] = [];

before(async () => {
  database = await createTestDatabase();
  db = database.db;
  const teacher = await userWithToken(db, 'teacher');
  token = teacher.token;
  courseId = (await createCourse(db, teacher.user, { title: 'Timing', code: `T-${randomUUID().slice(0, 6)}` })).id;
});

after(async () => {
  await database.cleanup();
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A cluster whose sweep runs once a year, so only the boundary timer moves stages; waits for its leader. */
async function timingCluster(dataDir: string, workers: number): Promise<RunningCluster> {
  const cluster = await startCluster({ databaseUrl: database.url, dataDir, workers, env: { STAGE_SWEEP_CRON: '0 0 1 1 *' } });
  await cluster.waitForLog(startedScheduler, 20_000, 'scheduler started').catch(async (err) => {
    await cluster.stop();
    throw err;
  });
  return cluster;
}

function newDataDir(): string {
  const dir = tempDir();
  dataDirs.push(dir);
  return dir;
}

async function stopIfRunning(cluster: RunningCluster | undefined): Promise<void> {
  if (cluster && cluster.child.exitCode === null && cluster.child.signalCode === null) await cluster.stop();
}

/** Polls until the stage shows `status`; returns when we first saw it. */
async function seenAt(api: ApiClient, stageId: number, status: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await api.get(`/api/stages/${stageId}`);
    if (res.body.status === status) return Date.now();
    await sleep(25);
  }
  throw new Error(`stage ${stageId} never became ${status}`);
}

test(`a stage made through a non-leader opens and closes within ${ON_TIME_MS} ms of its dates (${testDialect})`, async () => {
  const cluster = await timingCluster(newDataDir(), 4);
  try {
    const api = apiClient(cluster.baseUrl, token);
    // The sweep's cron is set to once a year, so only the boundary timer can be on time.
    const leaderPid = cluster.logs.filter(startedScheduler).at(-1)!.pid;
    let stage: { id: number; startDate: string; endDate: string } | undefined;
    for (let attempt = 0; attempt < 12 && !stage; attempt++) {
      const requestId = randomUUID();
      const start = Date.now() + 2 * SECOND;
      const res = await requestOnNewConnection(`${cluster.baseUrl}/api/courses/${courseId}/stages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
        body: { name: `on time ${attempt}`, startDate: toIso(start), endDate: toIso(start + 2 * SECOND) },
      });
      assert.equal(res.status, 201);
      const line = await cluster.waitForLog((l) => (l.req as { id?: string } | undefined)?.id === requestId, 5000, 'the request log line');
      if (line.pid !== leaderPid) stage = res.body;
      else await api.delete(`/api/stages/${res.body.id}`);
    }
    assert.ok(stage, 'a non-leader worker created the stage');

    const activeAt = await seenAt(api, stage.id, 'active', 10 * SECOND);
    assert.ok(activeAt - Date.parse(stage.startDate) <= ON_TIME_MS, `active ${activeAt - Date.parse(stage.startDate)} ms after start`);
    const completedAt = await seenAt(api, stage.id, 'completed', 10 * SECOND);
    assert.ok(completedAt - Date.parse(stage.endDate) <= ON_TIME_MS, `completed ${completedAt - Date.parse(stage.endDate)} ms after end`);

    const history = (await api.get(`/api/stages/${stage.id}/transitions`)).body.items;
    assert.deepEqual(history.map((t: { from: string; to: string; cause: string }) => `${t.from}>${t.to}:${t.cause}`), ['pending>active:timer', 'active>completed:timer']);
  } finally {
    await stopIfRunning(cluster);
  }
});

test('stages whose dates passed while the cluster was down are caught up at start, each step recorded once', async () => {
  // The cluster ran, and is down while the stages' dates pass.
  const dataDir = newDataDir();
  let cluster = await timingCluster(dataDir, 4);
  try {
    assert.equal((await cluster.stop()).code, 0);
    const now = await dbNowMs(db);
    const insert = async (name: string, start: number, end: number) => {
      const [id] = await db('stages').insert({ course_id: courseId, name, description: '', start_date: start, end_date: end, status: 'pending', created_at: now, updated_at: now });
      return Number(id);
    };
    const passed = await insert('window passed', now - 10 * MINUTE, now - 5 * MINUTE);
    const begun = await insert('window begun', now - 5 * MINUTE, now + 60 * MINUTE);
    const ahead = await insert('window ahead', now + 60 * MINUTE, now + 120 * MINUTE);

    cluster = await timingCluster(dataDir, 2);
    const status = async (id: number) => (await db('stages').where({ id }).first('status')).status;
    assert.equal(await status(passed), 'completed');
    assert.equal(await status(begun), 'active');
    assert.equal(await status(ahead), 'pending');

    const steps = async (id: number) =>
      (await db('stage_transitions').where({ stage_id: id }).orderBy('id')).map((t) => `${t.from_status}>${t.to_status}:${t.cause}`);
    assert.deepEqual(await steps(passed), ['pending>active:startup', 'active>completed:startup']);
    assert.deepEqual(await steps(begun), ['pending>active:startup']);
    assert.deepEqual(await steps(ahead), []);
  } finally {
    await stopIfRunning(cluster);
  }
});
