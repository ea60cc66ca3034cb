// Transition lag: each stage transition's lag behind the boundary it crossed
// (API and stage page), and the histogram the leader observes after each
// sweep. An execution's start lag: lag-execution.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { apiClient, Browser, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import { sweepTransitionLags, transitionLagMs } from '../src/domain/stage-boundaries.js';
import { overrideTransitionLagSeconds, stageTransitionLagSeconds } from '../src/jobs/stage-transition-lag.js';
import { sweepStageStatuses } from '../src/jobs/stage-status-sweep.js';
import { advanceStageStatuses } from '../src/domain/stage-lifecycle.js';
import { transactions } from '../src/db/transactions.js';
import { dbNowMs } from '../src/db/clock.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import type { JobContext } from '../src/jobs/job.js';
import { DAY, sleep, toIso } from '../src/time.js';

let t: TestDatabase;
let server: TestServer;
let teacher: ApiClient;
let teacherPages: Browser;
let courseId: number;

before(async () => {
  t = await createTestDatabase();
  server = await startTestServer(t.db);
  const { user, token } = await userWithToken(t.db, 'teacher');
  teacher = apiClient(server.baseUrl, token);
  teacherPages = new Browser(server.baseUrl);
  await teacherPages.login(user.email, 'password-123');
  courseId = (await teacher.post('/api/courses', { title: 'Lagging', code: 'LAG-1' })).body.id;
});

after(async () => {
  await server.close();
  await t.cleanup();
});

test('a transition\'s lag: its instant minus the start (opening) or end (closing) it crossed; none for edits, creations, or dates moved since', () => {
  const stage = { startDate: 1_000, endDate: 5_000 };
  assert.equal(transitionLagMs({ from: 'pending', to: 'active', at: 1_040, cause: 'timer' }, stage), 40);
  assert.equal(transitionLagMs({ from: 'active', to: 'completed', at: 5_300, cause: 'sweep' }, stage), 300);
  assert.equal(transitionLagMs({ from: 'pending', to: 'active', at: 9_000, cause: 'startup' }, stage), 8_000);
  assert.equal(transitionLagMs({ from: 'pending', to: 'active', at: 1_040, cause: 'edit' }, stage), null);
  assert.equal(transitionLagMs({ from: 'pending', to: 'active', at: 1_040, cause: 'created' }, stage), null);
  assert.equal(transitionLagMs({ from: 'completed', to: 'active', at: 6_000, cause: 'timer' }, stage), null);
  assert.equal(transitionLagMs({ from: 'pending', to: 'active', at: 900, cause: 'timer' }, stage), null, 'the start was moved after it opened');
});

test('GET /api/stages/:id/transitions gives each transition its lagMs beside the fields it had; the stage page shows the lag', async () => {
  // Ahead by more than the POST can take, even on a slow machine: made after its start, the
  // stage would open as 'created'.
  const start = (await dbNowMs(t.db)) + 1500;
  const created = await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Soon', startDate: toIso(start), endDate: toIso(start + DAY) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await sleep(Math.max(0, start - Date.now()) + 100);
  await advanceStageStatuses(transactions(t.db), 'timer');
  const history = await teacher.get(`/api/stages/${created.body.id}/transitions`);
  assert.equal(history.status, 200);
  const [opened] = history.body.items;
  assert.deepEqual(Object.keys(opened).sort(), ['at', 'cause', 'from', 'lagMs', 'overrideId', 'to']);
  assert.equal(opened.cause, 'timer');
  assert.equal(opened.lagMs, Date.parse(opened.at) - start);
  assert.ok(opened.lagMs >= 0);

  const past = await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Past', startDate: toIso(start - 2 * DAY), endDate: toIso(start - DAY) });
  const made = await teacher.get(`/api/stages/${past.body.id}/transitions`);
  assert.deepEqual(made.body.items.map((i: { lagMs: unknown }) => i.lagMs), [null, null], 'a stage created with past dates has no lag');

  const page = await teacherPages.get(`/stages/${created.body.id}`);
  assert.equal(page.status, 200);
  const lag = opened.lagMs < 1000 ? `${opened.lagMs} ms` : `${(opened.lagMs / 1000).toFixed(1)} s`;
  assert.match(page.text, new RegExp(`<ol class="history">[\\s\\S]*?timer · <span class="lag"[^>]*>lag ${lag.replace('.', '\\.')}</span>`));
});

test('after each sweep the leader observes the lags of the transitions it recorded, read in one bounded query', async () => {
  const now = await dbNowMs(t.db);
  const stage = (name: string, start: number, end: number) => ({ course_id: courseId, name, description: '', start_date: start, end_date: end, status: 'pending', created_at: 0, updated_at: 0 });
  // Two open late, one opens and closes in the same sweep.
  await t.db('stages').insert([stage('a', now - 1000, now + DAY), stage('b', now - 2000, now + DAY), stage('c', now - 4000, now - 3000)]);
  const histogram = async () => {
    const values = (await stageTransitionLagSeconds.get()).values;
    const pick = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
    return { count: pick('coursework_stage_transition_lag_seconds_count'), sum: pick('coursework_stage_transition_lag_seconds_sum') };
  };
  const before = await histogram();
  const afterId = Number((await t.db('stage_transitions').max({ id: 'id' }).first())?.id ?? 0);
  const ctx: JobContext = { db: t.db, log: createLogger('silent'), config: loadConfig({}), reason: 'timer', transaction: transactions(t.db) };
  const result = await sweepStageStatuses(ctx);
  assert.deepEqual([result.activated, result.completed], [2, 1], 'c went through both steps');
  const observed = await histogram();
  assert.equal(observed.count - before.count, 4, 'one observation per transition');
  const at = result.now;
  const expected = (at - (now - 1000) + at - (now - 2000) + at - (now - 4000) + at - (now - 3000)) / 1000;
  assert.ok(Math.abs(observed.sum - before.sum - expected) < 0.01, `${observed.sum - before.sum} s against ${expected} s`);

  assert.equal((await sweepTransitionLags(t.db, { afterId, at, term: null })).length, 4);
  assert.equal((await sweepTransitionLags(t.db, { afterId, at, term: null }, 2)).length, 2, 'capped');
  assert.equal((await sweepTransitionLags(t.db, { afterId, at, term: 99 })).length, 0, 'only the rows of that sweep');
  const idle = await histogram();
  await sweepStageStatuses(ctx);
  assert.equal((await histogram()).count, idle.count, 'a sweep that moved nothing observes nothing');
});

test("an override's end is observed in its own histogram, with its lag, and not in the stages'", async () => {
  const now = await dbNowMs(t.db);
  const [stageId] = await t.db('stages').insert({ course_id: courseId, name: 'extended', description: '', start_date: now - DAY, end_date: now + DAY, status: 'active', created_at: 0, updated_at: 0 });
  const { user } = await userWithToken(t.db, 'student');
  await t.db('course_members').insert({ course_id: courseId, user_id: user.id, created_at: 0 });
  await t.db('stage_overrides').insert({ stage_id: stageId, user_id: user.id, end_date: now - 1500, reason: '', status: 'active', created_at: 0, updated_at: 0 });
  const pick = async (h: typeof stageTransitionLagSeconds, name: string) => (await h.get()).values.find((v) => v.metricName === name)?.value ?? 0;
  const [stagesBefore, overridesBefore, sumBefore] = [
    await pick(stageTransitionLagSeconds, 'coursework_stage_transition_lag_seconds_count'),
    await pick(overrideTransitionLagSeconds, 'coursework_override_transition_lag_seconds_count'),
    await pick(overrideTransitionLagSeconds, 'coursework_override_transition_lag_seconds_sum'),
  ];
  const ctx: JobContext = { db: t.db, log: createLogger('silent'), config: loadConfig({}), reason: 'timer', transaction: transactions(t.db) };
  await sweepStageStatuses(ctx);
  assert.equal((await pick(overrideTransitionLagSeconds, 'coursework_override_transition_lag_seconds_count')) - overridesBefore, 1);
  const lag = (await pick(overrideTransitionLagSeconds, 'coursework_override_transition_lag_seconds_sum')) - sumBefore;
  assert.ok(lag >= 1.5 && lag < 60, `observed ${lag} s`);
  assert.equal(await pick(stageTransitionLagSeconds, 'coursework_stage_transition_lag_seconds_count'), stagesBefore, "the stages' histogram has none of it");
});
