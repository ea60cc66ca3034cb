// Stages change status on time with the real cluster running: a stage made
// through a worker that is not the leader opens and closes within 1.5 s of its
// dates, and stages whose dates passed while the cluster was down are caught
// up at start, each transition recorded once; on MySQL the leader is on time
// even while every connection of the requests' pool waits on a row lock. Each
// test runs its own cluster on the file's database and course.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Knex } from 'knex';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, userWithToken, type ApiClient } from './helpers/http.js';
import { requestOnNewConnection, startCluster, startedScheduler, type RunningCluster } from './helpers/cluster.js';
import { tempDir } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';
import { createCourse } from '../src/domain/courses.js';
import type { User } from '../src/domain/users.js';
import { dbNowMs } from '../src/db/clock.js';
import { MINUTE, SECOND, sleep, toIso } from '../src/time.js';

const ON_TIME_MS = 1500;

let database: TestDatabase;
let db: Knex;
let courseId: number;
let token: string;
let student: User;
const dataDirs: string[] = [];

before(async () => {
  database = await createTestDatabase();
  db = database.db;
  const teacher = await userWithToken(db, 'teacher');
  token = teacher.token;
  courseId = (await createCourse(db, teacher.user, { title: 'Timing', code: `T-${randomUUID().slice(0, 6)}` })).id;
  student = (await userWithToken(db, 'student', 'Extended student')).user;
  await db('course_members').insert({ course_id: courseId, user_id: student.id, created_at: Date.now() });
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

    // A student's extension ends 2 s after the class: its end is armed like the stage's.
    const extensionEnd = Date.parse(stage.endDate) + 2 * SECOND;
    const extension = await api.post(`/api/stages/${stage.id}/overrides`, { userId: student.id, endDate: toIso(extensionEnd) });
    assert.equal(extension.status, 201, JSON.stringify(extension.body));

    const activeAt = await seenAt(api, stage.id, 'active', 10 * SECOND);
    assert.ok(activeAt - Date.parse(stage.startDate) <= ON_TIME_MS, `active ${activeAt - Date.parse(stage.startDate)} ms after start`);
    const completedAt = await seenAt(api, stage.id, 'completed', 10 * SECOND);
    assert.ok(completedAt - Date.parse(stage.endDate) <= ON_TIME_MS, `completed ${completedAt - Date.parse(stage.endDate)} ms after end`);

    await waitUntil(async () => (await db('stage_transitions').where({ override_id: extension.body.id }).first('id')) !== undefined, 10 * SECOND, "the extension's end");
    const history = (await api.get(`/api/stages/${stage.id}/transitions`)).body.items as { from: string; to: string; cause: string; overrideId: number | null; lagMs: number }[];
    assert.deepEqual(history.filter((t) => t.overrideId === null).map((t) => `${t.from}>${t.to}:${t.cause}`), ['pending>active:timer', 'active>completed:timer']);
    const ended = history.filter((t) => t.overrideId === extension.body.id);
    assert.deepEqual(ended.map((t) => `${t.from}>${t.to}:${t.cause}`), ['active>completed:timer']);
    assert.ok(ended[0].lagMs <= ON_TIME_MS, `the extension ended ${ended[0].lagMs} ms late`);
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
    // An extension on the open stage whose end passed meanwhile, and one still running.
    const extension = async (stageId: number, end: number) => {
      const [id] = await db('stage_overrides').insert({ stage_id: stageId, user_id: student.id, end_date: end, reason: '', status: 'active', created_at: now, updated_at: now });
      return Number(id);
    };
    const extensionPassed = await extension(begun, now - MINUTE);
    const extensionRunning = await extension(passed, now + 60 * MINUTE);

    cluster = await timingCluster(dataDir, 2);
    const status = async (id: number) => (await db('stages').where({ id }).first('status')).status;
    assert.equal(await status(passed), 'completed');
    assert.equal(await status(begun), 'active');
    assert.equal(await status(ahead), 'pending');

    const steps = async (id: number) =>
      (await db('stage_transitions').where({ stage_id: id }).whereNull('override_id').orderBy('id')).map((t) => `${t.from_status}>${t.to_status}:${t.cause}`);
    assert.deepEqual(await steps(passed), ['pending>active:startup', 'active>completed:startup']);
    assert.deepEqual(await steps(begun), ['pending>active:startup']);
    assert.deepEqual(await steps(ahead), []);
    const overrideSteps = async (id: number) => (await db('stage_transitions').where({ override_id: id }).orderBy('id')).map((t) => `${t.from_status}>${t.to_status}:${t.cause}`);
    assert.deepEqual(await overrideSteps(extensionPassed), ['active>completed:startup']);
    assert.deepEqual(await overrideSteps(extensionRunning), []);
  } finally {
    await stopIfRunning(cluster);
  }
});

test('on MySQL the leader flips a stage on time while every connection of the requests\' pool waits on a row lock', { skip: testDialect !== 'mysql' && 'MySQL/MariaDB only: SQLite keeps one connection per process' }, async () => {
  const cluster = await timingCluster(newDataDir(), 1);
  const student = await userWithToken(db, 'student', 'Blocked student');
  await db('course_members').insert({ course_id: courseId, user_id: student.user.id, created_at: Date.now() });
  const api = apiClient(cluster.baseUrl, token);
  const open = await api.post(`/api/courses/${courseId}/stages`, { name: 'open for work', startDate: toIso(Date.now() - MINUTE), endDate: toIso(Date.now() + 60 * MINUTE) });
  assert.equal(open.status, 201);
  // Far enough ahead for ten submissions to fill the pool on a slow machine (usually under a second).
  const start = Date.now() + 8 * SECOND;
  const target = await api.post(`/api/courses/${courseId}/stages`, { name: 'opens while blocked', startDate: toIso(start), endDate: toIso(start + 60 * MINUTE) });
  assert.equal(target.status, 201);

  // The student's membership row, locked by this test: each submission's
  // transaction waits on it, holding one of the worker's 10 request
  // connections; ten of them hold all ten. (The blocker keeps talking, or
  // MariaDB would end it as an idle transaction after 5 s.)
  const blocker = await db.transaction();
  const keepAlive = setInterval(() => void blocker.raw('SELECT 1').catch(() => undefined), SECOND);
  const submissions: Promise<unknown>[] = [];
  try {
    await blocker('course_members').where({ course_id: courseId, user_id: student.user.id }).forUpdate().select('created_at');
    const studentApi = apiClient(cluster.baseUrl, student.token);
    for (let i = 0; i < 10; i++) submissions.push(studentApi.post(`/api/stages/${open.body.id}/submissions`, { body: `work ${i}` }));
    // The statements waiting on the row right now (innodb_trx does not always list a wait that began in the optimizer's lookup).
    const waiting = async () => Number((await db.raw("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE '%from `course_members`%for update'"))[0][0].n);
    await waitUntil(async () => (await waiting()) >= 10, 10 * SECOND, 'ten submissions waiting on the lock (the requests\' pool is full)');
    assert.ok(Date.now() < start, 'the pool was full before the stage\'s start');

    const status = async () => (await db('stages').where({ id: target.body.id }).first('status')).status;
    await waitUntil(async () => (await status()) === 'active', start - Date.now() + 3 * SECOND, 'the stage opened while the submissions still waited');
    assert.ok((await waiting()) >= 10, 'the submissions were still waiting');
  } finally {
    clearInterval(keepAlive);
    await blocker.rollback();
    await Promise.allSettled(submissions);
    await stopIfRunning(cluster);
  }
  const answers = (await Promise.all(submissions)) as { status: number }[];
  assert.deepEqual([...new Set(answers.map((a) => a.status))], [201], 'every submission was taken once the lock was gone');
});
