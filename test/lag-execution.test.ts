// Execution lag in the ledger: each execution's start lag (started minus
// scheduled, for claimed fires) and the console's p50/p99/max per job over the
// last day. A stage transition's lag: lag-transition.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { abandonExecution, claimFire, executionJson, getExecution, recordOutcome, startUnclaimedExecution } from '../src/scheduler/executions.js';
import { executionHistory, summarizeLags } from '../src/scheduler/history.js';
import { DAY, HOUR } from '../src/time.js';

let t: TestDatabase;
const runner = { pid: 4242, hostname: 'lag-host' };

before(async () => {
  t = await createTestDatabase();
});

after(async () => {
  await t.cleanup();
});

test(`an execution's lag is started minus scheduled for a claimed fire, null for run-now, skipped and missed (${testDialect})`, async () => {
  const scheduledFor = Date.UTC(2030, 0, 1, 9, 0, 0);
  const claimed = await claimFire(t.db, { jobId: 'lagged', scheduledFor, ...runner }, scheduledFor + 250);
  const execution = (await getExecution(t.db, claimed!))!;
  assert.equal(execution.lagMs, 250);
  assert.equal(executionJson(execution).lagMs, 250, 'in the API JSON too');
  const manual = await startUnclaimedExecution(t.db, { jobId: 'lagged', ...runner });
  assert.equal((await getExecution(t.db, manual))!.lagMs, null);
  const skipped = await recordOutcome(t.db, { jobId: 'lagged', scheduledFor, status: 'skipped', reason: 'paused', ...runner });
  assert.equal((await getExecution(t.db, skipped))!.lagMs, null);
  const abandoned = await claimFire(t.db, { jobId: 'lagged', scheduledFor: scheduledFor + 60_000, ...runner }, scheduledFor + 60_010);
  await abandonExecution(t.db, abandoned!, 'scheduler stopped before the run began');
  assert.equal((await getExecution(t.db, abandoned!))!.lagMs, null, 'a claim abandoned before its run never started');
});

test('the console summary: p50, p99 and max start lag per job, from the claimed fires of the last 24 hours', async () => {
  assert.equal(summarizeLags([]), null);
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.deepEqual(summarizeLags(hundred), { count: 100, p50: 50, p99: 99, max: 100 });

  const now = Date.now();
  const row = (lag: number, createdAt: number, claimed = true) => ({
    job_id: 'summarized',
    scheduled_for: createdAt - lag,
    started_at: createdAt,
    claim_key: claimed ? `summarized@${createdAt}-${lag}` : null,
    status: 'success',
    pid: 1,
    hostname: 'h',
    created_at: createdAt,
  });
  await t.db('job_executions').insert([row(5, now - HOUR), row(7, now - 2 * HOUR), row(400, now - 3 * HOUR), row(90_000, now - 2 * DAY), row(60_000, now - HOUR, false)]);
  const { startLagByJob } = await executionHistory(t.db, now);
  assert.deepEqual(startLagByJob.summarized, { count: 3, p50: 7, p99: 400, max: 400 }, 'the old fire and the run-now are left out');
});
