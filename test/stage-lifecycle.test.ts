import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { advanceStageStatuses, nextStageBoundary } from '../src/domain/stage-lifecycle.js';
import { transactions } from '../src/db/transactions.js';
import { beginTerm, fenced, SupersededError } from '../src/leadership/terms.js';
import { dbNowMs } from '../src/db/clock.js';
import { DAY, HOUR } from '../src/time.js';

const run = promisify(execFile);

describe(`stage lifecycle sweep on ${testDialect}`, () => {
  let t: TestDatabase;
  let courseId: number;

  before(async () => {
    t = await createTestDatabase();
    const [teacherId] = await t.db('users').insert({ email: 't@example.test', name: '', password_hash: 'x', role: 'teacher', created_at: 0 });
    [courseId] = await t.db('courses').insert({ title: 'C', code: 'C-1', timezone: 'UTC', teacher_id: teacherId, created_at: 0, updated_at: 0 });
  });
  after(() => t.cleanup());
  beforeEach(async () => {
    await t.db('stage_transitions').delete();
    await t.db('stages').delete();
  });

  async function insertStages(rows: Array<{ start: number; end: number; status?: string }>): Promise<void> {
    const chunk = 500;
    for (let i = 0; i < rows.length; i += chunk) {
      await t.db('stages').insert(
        rows.slice(i, i + chunk).map((r, j) => ({
          course_id: courseId,
          name: `s${i + j}`,
          description: '',
          start_date: r.start,
          end_date: r.end,
          status: r.status ?? 'pending',
          created_at: 0,
          updated_at: 0,
        })),
      );
    }
  }

  async function history(): Promise<Map<number, string[]>> {
    const rows = await t.db('stage_transitions').orderBy('id');
    const byStage = new Map<number, string[]>();
    for (const r of rows) byStage.set(Number(r.stage_id), [...(byStage.get(Number(r.stage_id)) ?? []), `${r.from_status}->${r.to_status}:${r.cause}`]);
    return byStage;
  }

  test('moves due stages by the database clock and records every step once', async () => {
    const now = await dbNowMs(t.db);
    await insertStages([
      { start: now + DAY, end: now + 2 * DAY }, // stays pending
      { start: now - HOUR, end: now + HOUR }, // opens
      { start: now - 2 * DAY, end: now - DAY }, // whole window passed while down
      { start: now - 2 * DAY, end: now - DAY, status: 'active' }, // closes
      { start: now - 2 * DAY, end: now + DAY, status: 'active' }, // stays active
    ]);
    const result = await advanceStageStatuses(transactions(t.db), 'startup');
    assert.equal(result.activated, 1);
    assert.equal(result.completed, 2);

    const stages = await t.db('stages').orderBy('id');
    assert.deepEqual(stages.map((s) => s.status), ['pending', 'active', 'completed', 'completed', 'active']);
    const h = await history();
    const ids = stages.map((s) => Number(s.id));
    assert.equal(h.get(ids[0]), undefined);
    assert.deepEqual(h.get(ids[1]), ['pending->active:startup']);
    assert.deepEqual(h.get(ids[2]), ['pending->active:startup', 'active->completed:startup']);
    assert.deepEqual(h.get(ids[3]), ['active->completed:startup']);
    assert.equal(h.get(ids[4]), undefined);

    const again = await advanceStageStatuses(transactions(t.db), 'sweep');
    assert.deepEqual([again.activated, again.completed], [0, 0], 'a second sweep finds nothing');
  });

  test('the start instant itself opens a stage and the end instant closes it', async () => {
    const now = await dbNowMs(t.db);
    await insertStages([{ start: now - 5, end: now + HOUR }, { start: now - HOUR, end: now - 5, status: 'active' }]);
    await advanceStageStatuses(transactions(t.db), 'timer');
    assert.deepEqual((await t.db('stages').orderBy('id')).map((s) => s.status), ['active', 'completed']);
  });

  test('next boundary is the earliest pending start or unfinished end, past ones included', async () => {
    assert.equal(await nextStageBoundary(t.db), null);
    const now = await dbNowMs(t.db);
    await insertStages([
      { start: now + 5 * HOUR, end: now + 9 * HOUR },
      { start: now - DAY, end: now + 3 * HOUR, status: 'active' },
      { start: now - 3 * DAY, end: now - 2 * DAY, status: 'completed' },
    ]);
    assert.equal(await nextStageBoundary(t.db), now + 3 * HOUR);
    await insertStages([{ start: now - 10, end: now + DAY }]);
    assert.equal(await nextStageBoundary(t.db), now - 10, 'an overdue start is returned so the caller fires at once');
  });

  test('two processes sweeping at once record each transition exactly once', { timeout: 120_000 }, async () => {
    const now = await dbNowMs(t.db);
    const rows = [];
    for (let i = 0; i < 3000; i++) {
      rows.push(i % 3 === 0 ? { start: now - DAY, end: now - HOUR } : { start: now - HOUR - i, end: now + DAY });
    }
    await insertStages(rows);
    const startAt = Date.now() + 1500;
    const sweepers = [0, 1].map(() =>
      run(process.execPath, ['--import', 'tsx', 'test/fixtures/sweep-process.ts', t.url, String(startAt), '3'], { timeout: 90_000 }),
    );
    const outputs = (await Promise.all(sweepers)).map((r) => JSON.parse(r.stdout.trim()));
    const activated = outputs.reduce((n, o) => n + o.activated, 0);
    const completed = outputs.reduce((n, o) => n + o.completed, 0);
    assert.equal(activated, 2000);
    assert.equal(completed, 1000);

    const counts: { from_status: string; to_status: string; n: number | string }[] = await t.db('stage_transitions').select('from_status', 'to_status').count({ n: '*' }).groupBy('from_status', 'to_status');
    const byKind = Object.fromEntries(counts.map((c) => [`${c.from_status}->${c.to_status}`, Number(c.n)]));
    assert.deepEqual(byKind, { 'pending->active': 3000, 'active->completed': 1000 });
    const dupes = await t.db('stage_transitions').select('stage_id', 'to_status').count({ n: '*' }).groupBy('stage_id', 'to_status').having(t.db.raw('count(*) > 1'));
    assert.equal(dupes.length, 0, 'no stage has a transition twice');
  });

  async function transitionCounts(): Promise<{ byKind: Record<string, number>; dupes: number }> {
    const counts: { from_status: string; to_status: string; n: number | string }[] = await t.db('stage_transitions').select('from_status', 'to_status').count({ n: '*' }).groupBy('from_status', 'to_status');
    const dupes = await t.db('stage_transitions').select('stage_id', 'to_status').count({ n: '*' }).groupBy('stage_id', 'to_status').having(t.db.raw('count(*) > 1'));
    return { byKind: Object.fromEntries(counts.map((c) => [`${c.from_status}->${c.to_status}`, Number(c.n)])), dupes: dupes.length };
  }

  test('a pending stage whose end a direct write put before its start closes once its end passes, in both steps, in either batch mode', async () => {
    const now = await dbNowMs(t.db);
    for (const batchSize of [Number.POSITIVE_INFINITY, 2]) {
      await t.db('stage_transitions').delete();
      await t.db('stages').delete();
      await insertStages([
        { start: now + DAY, end: now - HOUR }, // end passed, start ahead: due by its end
        { start: now + DAY, end: now + HOUR }, // neither passed: not due
      ]);
      const result = await advanceStageStatuses(transactions(t.db), 'sweep', { batchSize });
      assert.deepEqual([result.activated, result.completed], [0, 1], `batch size ${batchSize}`);
      const stages = await t.db('stages').orderBy('id');
      assert.deepEqual(stages.map((s) => s.status), ['completed', 'pending']);
      assert.deepEqual((await history()).get(Number(stages[0].id)), ['pending->active:sweep', 'active->completed:sweep']);
    }
  });

  test('each stage\'s next boundary is the start while pending, the end while active, none once completed, and the earliest is the next to arm', async () => {
    const now = await dbNowMs(t.db);
    await insertStages([
      { start: now + 3 * HOUR, end: now + DAY },
      { start: now - DAY, end: now + 2 * HOUR, status: 'active' },
      { start: now - 2 * DAY, end: now - DAY, status: 'completed' },
    ]);
    const rows = await t.db('stages').orderBy('id').select('next_boundary');
    assert.deepEqual(rows.map((r) => (r.next_boundary === null ? null : Number(r.next_boundary))), [now + 3 * HOUR, now + 2 * HOUR, null]);
    assert.equal(await nextStageBoundary(t.db), now + 2 * HOUR);
    await t.db('stages').update({ status: 'completed' });
    assert.equal(await nextStageBoundary(t.db), null);
  });

  test('more due stages than one batch: every one moves, each transition is recorded once, in order, over several transactions', async () => {
    const now = await dbNowMs(t.db);
    const rows = [];
    for (let i = 0; i < 50; i++) rows.push({ start: now - HOUR - i, end: now + DAY }); // open
    for (let i = 0; i < 23; i++) rows.push({ start: now - DAY, end: now - HOUR + i }); // whole window passed
    for (let i = 0; i < 31; i++) rows.push({ start: now - DAY, end: now - i - 1, status: 'active' }); // close
    for (let i = 0; i < 10; i++) rows.push({ start: now + DAY, end: now + 2 * DAY }); // not due
    await insertStages(rows);

    const result = await advanceStageStatuses(transactions(t.db), 'sweep', { batchSize: 7 });
    assert.equal(result.activated, 50);
    assert.equal(result.completed, 23 + 31);
    // 50 + 23 + 31 = 104 due: 15 batches of 7, the last one short.
    assert.equal(result.batches, 15);
    assert.ok(result.longestBatchMs > 0);

    const stages = await t.db('stages').orderBy('id');
    assert.deepEqual(
      stages.map((s) => s.status),
      [...Array<string>(50).fill('active'), ...Array<string>(23 + 31).fill('completed'), ...Array<string>(10).fill('pending')],
    );
    assert.deepEqual(await transitionCounts(), { byKind: { 'pending->active': 73, 'active->completed': 54 }, dupes: 0 });
    const h = await history();
    for (const s of stages.slice(50, 73)) assert.deepEqual(h.get(Number(s.id)), ['pending->active:sweep', 'active->completed:sweep'], 'both steps, in order');
    const ats = new Set((await t.db('stage_transitions').select('at')).map((r) => Number(r.at)));
    assert.deepEqual([...ats], [result.now], 'every batch judged by the one instant');

    const again = await advanceStageStatuses(transactions(t.db), 'sweep', { batchSize: 7 });
    assert.deepEqual([again.activated, again.completed, again.batches], [0, 0, 1], 'a second sweep finds nothing: one empty batch');
  });

  test('a fenced sweep superseded between batches keeps what it committed and records nothing more', async () => {
    const now = await dbNowMs(t.db);
    await insertStages(Array.from({ length: 20 }, (_, i) => ({ start: now - HOUR - i, end: now + DAY })));
    const holder = { pid: process.pid, hostname: 'here', workerId: 1, election: 'db' as const };
    const ours = await beginTerm(t.db, holder, { reason: 'released' });
    let batches = 0;
    const inTransaction = transactions(t.db, ours, async (work) => {
      // A successor takes over once our second batch has committed.
      if (batches === 2) await beginTerm(t.db, { ...holder, workerId: 2 }, { reason: 'stale' });
      const value = await fenced(t.db, ours, work);
      batches += 1;
      return value;
    });
    await assert.rejects(advanceStageStatuses(inTransaction, 'timer', { batchSize: 5 }), SupersededError);
    assert.equal(batches, 2);
    assert.equal(Number((await t.db('stages').where({ status: 'active' }).count({ n: '*' }).first())?.n), 10, 'the two committed batches stay');
    const { byKind, dupes } = await transitionCounts();
    assert.deepEqual(byKind, { 'pending->active': 10 });
    assert.equal(dupes, 0);
    assert.deepEqual([...new Set((await t.db('stage_transitions').select('term')).map((r) => Number(r.term)))], [ours]);
  });

  test('two processes sweeping at once in small batches record each transition exactly once', { timeout: 120_000 }, async () => {
    const now = await dbNowMs(t.db);
    const rows = [];
    for (let i = 0; i < 2000; i++) rows.push(i % 4 === 0 ? { start: now - DAY, end: now - HOUR } : { start: now - HOUR - i, end: now + DAY });
    for (let i = 0; i < 500; i++) rows.push({ start: now - DAY, end: now - i - 1, status: 'active' });
    await insertStages(rows);
    const startAt = Date.now() + 1500;
    const sweepers = [0, 1].map(() =>
      run(process.execPath, ['--import', 'tsx', 'test/fixtures/sweep-process.ts', t.url, String(startAt), '2', '97'], { timeout: 90_000 }),
    );
    const outputs = (await Promise.all(sweepers)).map((r) => JSON.parse(r.stdout.trim()) as { activated: number; completed: number });
    assert.equal(outputs.reduce((n, o) => n + o.activated, 0), 1500);
    assert.equal(outputs.reduce((n, o) => n + o.completed, 0), 500 + 500);
    assert.deepEqual(await transitionCounts(), { byKind: { 'pending->active': 2000, 'active->completed': 1000 }, dupes: 0 });
  });
});
