import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../src/config.js';

test('defaults follow the contract', () => {
  const c = loadConfig({});
  assert.equal(c.port, 3000);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.databaseUrl, 'sqlite:./data/coursework.sqlite');
  assert.equal(c.leaderElection, 'lockfile');
  assert.equal(c.schedulerLockFile, '/tmp/coursework-scheduler.lock');
  assert.equal(c.schedulerLockStaleMs, 10_000);
  assert.equal(c.schedulerRetryMs, 5_000);
  assert.equal(c.leaderLeaseMs, 15_000);
  assert.equal(c.schedulerEnabled, true);
  assert.equal(c.stageSweepCron, '* * * * *');
  assert.equal(c.executionRetentionDays, 7);
  assert.equal(c.shutdownTimeoutMs, 10_000);
  assert.equal(c.logLevel, 'info');
  assert.ok(c.webConcurrency >= 1);
});

test('values are parsed', () => {
  const c = loadConfig({ PORT: '8080', WEB_CONCURRENCY: '4', SCHEDULER_ENABLED: 'false', LEADER_ELECTION: 'db', DATABASE_URL: 'mysql://u:p@h:3306/d', STAGE_SWEEP_CRON: '*/10 * * * * *' });
  assert.equal(c.port, 8080);
  assert.equal(c.webConcurrency, 4);
  assert.equal(c.schedulerEnabled, false);
  assert.equal(c.leaderElection, 'db');
  assert.equal(c.databaseUrl, 'mysql://u:p@h:3306/d');
  assert.equal(c.stageSweepCron, '*/10 * * * * *');
});

test('a lock stale time below the lock\'s 2000 ms minimum is raised to it, and a notice says so', () => {
  const low = loadConfig({ SCHEDULER_LOCK_STALE_MS: '1000' });
  assert.equal(low.schedulerLockStaleMs, 2000);
  assert.deepEqual(low.notices, ["SCHEDULER_LOCK_STALE_MS=1000 is below the lock's minimum of 2000 ms; 2000 ms is used"]);
  assert.deepEqual(loadConfig({ SCHEDULER_LOCK_STALE_MS: '2000' }).notices, []);
  assert.equal(loadConfig({ SCHEDULER_LOCK_STALE_MS: '2000' }).schedulerLockStaleMs, 2000);
});

test('a bad value fails with the variable name in the message', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ SCHEDULER_LOCK_STALE_MS: 'abc' }, /Expected SCHEDULER_LOCK_STALE_MS to be a whole number of ms, got "abc"/],
    [{ SCHEDULER_LOCK_STALE_MS: '0' }, /SCHEDULER_LOCK_STALE_MS to be at least 1 ms/],
    [{ PORT: '-1' }, /PORT/],
    [{ WEB_CONCURRENCY: '0' }, /WEB_CONCURRENCY to be at least 1/],
    [{ SCHEDULER_ENABLED: 'maybe' }, /SCHEDULER_ENABLED to be true or false/],
    [{ LEADER_ELECTION: 'zookeeper' }, /LEADER_ELECTION to be one of lockfile, db/],
    [{ DATABASE_URL: 'postgres://x' }, /DATABASE_URL/],
    [{ STAGE_SWEEP_CRON: 'every minute' }, /STAGE_SWEEP_CRON/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    // Five fields, but not a cron expression: parsed at start, not at every leader's attempt.
    [{ STAGE_SWEEP_CRON: '61 * * * *' }, /Expected STAGE_SWEEP_CRON to be a valid cron expression, got "61 \* \* \* \*"/],
    [{ ALERT_WEBHOOK_URL: 'not a url' }, /ALERT_WEBHOOK_URL to be an http\(s\) URL/],
    [{ ALERT_WEBHOOK_URL: 'file:///etc/passwd' }, /ALERT_WEBHOOK_URL to be an http\(s\) URL/],
    [{ DEMO_DATA: 'sometimes' }, /DEMO_DATA to be one of auto, true, false/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && message.test((err).message), JSON.stringify(env));
  }
});

test('uploads: UPLOAD_DIR defaults to <DATA_DIR>/uploads, UPLOAD_MAX_BYTES to 25 MiB, and a bad size names the variable', () => {
  assert.deepEqual(loadConfig({}).uploads, { dir: 'data/uploads', maxBytes: 26_214_400, idleTimeoutMs: 30_000 });
  assert.equal(loadConfig({ DATA_DIR: '/srv/cw' }).uploads.dir, '/srv/cw/uploads');
  assert.deepEqual(loadConfig({ DATA_DIR: '/srv/cw', UPLOAD_DIR: '/mnt/shared', UPLOAD_MAX_BYTES: '1048576' }).uploads, { dir: '/mnt/shared', maxBytes: 1_048_576, idleTimeoutMs: 30_000 });
  assert.throws(() => loadConfig({ UPLOAD_MAX_BYTES: '25MB' }), /Expected UPLOAD_MAX_BYTES to be a whole number of bytes, got "25MB"/);
  assert.throws(() => loadConfig({ UPLOAD_MAX_BYTES: '0' }), /Expected UPLOAD_MAX_BYTES to be at least 1 bytes, got 0/);
});
