// The daily cleanup is "02:00 in the app timezone". On the days the clocks
// move that hour is missing (spring) or, in Berlin, happens twice (autumn);
// node-schedule has an open report of a fire lost on fall-back. These tests
// run the real job definition through node-schedule on a mocked clock over
// each change and pin the outcome: exactly one cleanup per local day, at
// 02:00, or at 03:00 on the day 02:00 does not exist.
import { afterEach, test, mock } from 'node:test';
import assert from 'node:assert/strict';
import schedule from 'node-schedule';
import { loadConfig } from '../src/config.js';
import { jobDefinitions } from '../src/jobs/registry.js';
import { cronTrigger } from '../src/scheduler/cron.js';
import { MINUTE } from '../src/time.js';

afterEach(() => {
  void schedule.gracefulShutdown();
  mock.timers.reset();
});

/** Every instant the cleanup job fires from `from` for `days` days, with APP_TIMEZONE=zone. */
function cleanupFires(zone: string, from: string, days: number): string[] {
  const job = jobDefinitions(loadConfig({ APP_TIMEZONE: zone })).find((j) => j.id === 'cleanup-job-executions')!;
  assert.equal(job.timezone, zone);
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: Date.parse(from) });
  const fires: string[] = [];
  const scheduled = schedule.scheduleJob(job.id, cronTrigger(job), () => {
    fires.push(new Date().toISOString());
  });
  assert.ok(scheduled);
  // A minute at a time, as the real clock would pass.
  for (let minute = 0; minute < days * 24 * 60; minute++) mock.timers.tick(MINUTE);
  scheduled.cancel();
  return fires;
}

test('Europe/Berlin, spring forward (29 March 2026, 02:00 does not exist): once a day, 03:00 CEST that day', () => {
  assert.deepEqual(cleanupFires('Europe/Berlin', '2026-03-27T12:00:00Z', 4), [
    '2026-03-28T01:00:00.000Z', // 02:00 CET
    '2026-03-29T01:00:00.000Z', // 03:00 CEST: the first instant after the missing hour
    '2026-03-30T00:00:00.000Z', // 02:00 CEST
    '2026-03-31T00:00:00.000Z',
  ]);
});

test('Europe/Berlin, fall back (25 October 2026, 02:00 happens twice): once a day, the first 02:00', () => {
  assert.deepEqual(cleanupFires('Europe/Berlin', '2026-10-23T12:00:00Z', 4), [
    '2026-10-24T00:00:00.000Z', // 02:00 CEST
    '2026-10-25T00:00:00.000Z', // the first 02:00 (CEST); not again an hour later
    '2026-10-26T01:00:00.000Z', // 02:00 CET
    '2026-10-27T01:00:00.000Z',
  ]);
});

test('America/New_York, spring forward (8 March 2026): once a day, 03:00 EDT that day', () => {
  assert.deepEqual(cleanupFires('America/New_York', '2026-03-06T12:00:00Z', 4), [
    '2026-03-07T07:00:00.000Z', // 02:00 EST
    '2026-03-08T07:00:00.000Z', // 03:00 EDT
    '2026-03-09T06:00:00.000Z', // 02:00 EDT
    '2026-03-10T06:00:00.000Z',
  ]);
});

test('America/New_York, fall back (1 November 2026): once a day at 02:00, none skipped', () => {
  assert.deepEqual(cleanupFires('America/New_York', '2026-10-30T12:00:00Z', 4), [
    '2026-10-31T06:00:00.000Z', // 02:00 EDT
    '2026-11-01T07:00:00.000Z', // 02:00 EST, after 01:00-02:00 ran twice
    '2026-11-02T07:00:00.000Z',
    '2026-11-03T07:00:00.000Z',
  ]);
});
