import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { claimFire, finishExecution, recentExecutions, recordOutcome, startUnclaimedExecution } from '../src/scheduler/executions.js';

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(() => t.cleanup());

const leaderA = { pid: 101, hostname: 'host-a' };
const leaderB = { pid: 202, hostname: 'host-b' };

test(`two claims of the same fire: one runs, one is recorded as skipped (${testDialect})`, async () => {
  const fire = { jobId: 'stage-status-sweep', scheduledFor: Date.UTC(2030, 0, 1, 12, 0, 0) };
  const [a, b] = await Promise.all([claimFire(t.db, { ...fire, ...leaderA }), claimFire(t.db, { ...fire, ...leaderB })]);
  const winners = [a, b].filter((id) => id !== null);
  assert.equal(winners.length, 1, 'exactly one claim wins');

  const rows = await recentExecutions(t.db, { jobId: fire.jobId });
  assert.deepEqual(rows.map((r) => r.status).sort(), ['running', 'skipped']);
  const skipped = rows.find((r) => r.status === 'skipped')!;
  assert.match(skipped.error ?? '', new RegExp(`already claimed by execution ${winners[0]}`));

  const third = await claimFire(t.db, { ...fire, ...leaderA });
  assert.equal(third, null, 'a retry of the same fire is skipped too');

  const next = await claimFire(t.db, { ...fire, scheduledFor: fire.scheduledFor + 60_000, ...leaderB });
  assert.notEqual(next, null, 'the next instant is a different fire');
});

test('finishing records status, duration and the error', async () => {
  const id = (await claimFire(t.db, { jobId: 'failing', scheduledFor: 1_000, ...leaderA }, 5_000))!;
  await finishExecution(t.db, id, { status: 'error', error: new Error('boom') }, 5_250);
  const [row] = await recentExecutions(t.db, { jobId: 'failing' });
  assert.equal(row.status, 'error');
  assert.equal(row.error, 'boom');
  assert.equal(row.durationMs, 250);
  assert.equal(row.finishedAt, 5_250);
  const stack = await t.db('job_executions').where({ id }).first('error_stack');
  assert.match(stack.error_stack, /Error: boom/);
});

test('run-now executions and missed fires need no claim', async () => {
  const a = await startUnclaimedExecution(t.db, { jobId: 'manual', ...leaderA });
  const b = await startUnclaimedExecution(t.db, { jobId: 'manual', ...leaderA });
  assert.notEqual(a, b);
  await recordOutcome(t.db, { jobId: 'manual', scheduledFor: 0, status: 'missed', reason: 'leader was down', ...leaderA });
  assert.deepEqual((await recentExecutions(t.db, { jobId: 'manual' })).map((r) => r.status), ['missed', 'running', 'running']);
});
