import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { DueTimer } from '../src/scheduler/due-timer.js';
import { advanceStageStatuses, nextStageBoundary } from '../src/domain/stage-lifecycle.js';
import { transactions } from '../src/db/transactions.js';
import { dbNowMs } from '../src/db/clock.js';
import { createLogger } from '../src/log.js';
import { DAY, sleep } from '../src/time.js';

let t: TestDatabase;
let courseId: number;
const log = createLogger('silent');

before(async () => {
  t = await createTestDatabase();
  const [teacherId] = await t.db('users').insert({ email: 't@example.test', name: '', password_hash: 'x', role: 'teacher', created_at: 0 });
  [courseId] = await t.db('courses').insert({ title: 'C', code: 'C-1', timezone: 'UTC', teacher_id: teacherId, created_at: 0, updated_at: 0 });
});
after(() => t.cleanup());

async function addStage(start: number, end: number, status = 'pending'): Promise<number> {
  const [id] = await t.db('stages').insert({ course_id: courseId, name: 's', description: '', start_date: start, end_date: end, status, created_at: 0, updated_at: 0 });
  return Number(id);
}

async function statusOf(id: number): Promise<string> {
  return (await t.db('stages').where({ id }).first('status')).status;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now();
    await sleep(20);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

test(`opens and closes a stage within a second of its dates (${testDialect})`, { timeout: 20_000 }, async () => {
  const fired: number[] = [];
  const timer = new DueTimer({
    log,
    findNext: () => nextStageBoundary(t.db),
    fire: async (boundary) => {
      fired.push(boundary);
      await advanceStageStatuses(transactions(t.db), 'timer');
    },
  });
  await timer.start();
  try {
    const now = await dbNowMs(t.db);
    const start = now + 1500;
    const end = now + 3000;
    const id = await addStage(start, end);
    timer.poke(); // what a worker's "stage changed" message does
    // Re-arming asks the database first: bounded by its answer, not by a fixed pause.
    await waitFor(async () => timer.nextRunAt === start, 3000);

    const opened = await waitFor(async () => (await statusOf(id)) === 'active', 5000);
    assert.ok(opened - start < 1000, `opened ${opened - start} ms after its start`);
    const closed = await waitFor(async () => (await statusOf(id)) === 'completed', 5000);
    assert.ok(closed - end < 1000, `closed ${closed - end} ms after its end`);
    assert.deepEqual(fired.slice(0, 2), [start, end]);
  } finally {
    await timer.stop();
    await t.db('stages').delete();
  }
});

test('a boundary already past fires at once; a far one is armed, not fired', async () => {
  const now = await dbNowMs(t.db);
  const overdue = await addStage(now - 1000, now + DAY);
  const far = await addStage(now + 200 * DAY, now + 300 * DAY);
  const timer = new DueTimer({ log, findNext: () => nextStageBoundary(t.db), fire: async () => void (await advanceStageStatuses(transactions(t.db), 'timer')) });
  await timer.start();
  try {
    await waitFor(async () => (await statusOf(overdue)) === 'active', 3000);
    await waitFor(async () => timer.nextRunAt === now + DAY, 3000);
    await t.db('stages').where({ id: overdue }).delete();
    timer.poke();
    await waitFor(async () => timer.nextRunAt === now + 200 * DAY, 3000);
    assert.equal(await statusOf(far), 'pending');
  } finally {
    await timer.stop();
    await t.db('stages').delete();
  }
});

test('a fire that moves nothing is retried with a pause, not in a tight loop', async () => {
  let fires = 0;
  const stuck = Date.now() - 10_000;
  const timer = new DueTimer({ log, findNext: async () => stuck, fire: async () => void fires++ });
  await timer.start();
  await sleep(1000);
  await timer.stop();
  // 0, 100, 200, 400 ms pauses: about five fires in a second, never hundreds.
  assert.ok(fires >= 2 && fires <= 8, `fired ${fires} times`);
});

test('stop cancels the armed timer', async () => {
  let fires = 0;
  const at = Date.now() + 300;
  const timer = new DueTimer({ log, findNext: async () => at, fire: async () => void fires++ });
  await timer.start();
  await timer.stop();
  await sleep(600);
  assert.equal(fires, 0);
  assert.equal(timer.nextRunAt, null);
});

test('onArmed hears each new instant the timer is armed for once, and null when nothing is due', async () => {
  const armed: (number | null)[] = [];
  let next: number | null = Date.now() + DAY;
  const timer = new DueTimer({ log, findNext: async () => next, fire: async () => undefined, onArmed: (at) => armed.push(at) });
  await timer.start();
  try {
    timer.poke(); // the same instant again: nothing new to tell
    await sleep(50);
    assert.deepEqual(armed, [next]);
    const first = next;
    next = first + 1000;
    timer.poke();
    await sleep(50);
    next = null;
    timer.poke();
    await sleep(50);
    assert.deepEqual(armed, [first, first + 1000, null]);
  } finally {
    await timer.stop();
  }
});
