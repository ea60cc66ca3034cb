// The host-wide ceiling on password hashes (issue 24: "keep a global
// ceiling"): each worker runs at most 4 argon2 hashes with 64 waiting, and
// the primary also holds a ceiling for all workers together
// (SIGN_IN_HASHES_PER_HOST running, SIGN_IN_HASHES_QUEUED_PER_HOST waiting),
// so more workers do not mean more hashes at once. The built cluster with two
// workers and a ceiling of one running and one waiting: a burst of sign-ins
// spread over both workers, far below what the two workers' own gates would
// take, gets fast 503s with Retry-After; the rest are checked (401).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { listening, removeCluster, requestOnNewConnection, startReadyCluster, type RunningCluster } from './helpers/cluster.js';
import { HostHashCeiling } from '../src/cluster/hash-ceiling.js';
import { loadConfig } from '../src/config.js';

let t: TestDatabase;
let cluster: RunningCluster;

before(async () => {
  t = await createTestDatabase();
  cluster = await startReadyCluster({ databaseUrl: t.url, workers: 2, env: { SIGN_IN_HASHES_PER_HOST: '1', SIGN_IN_HASHES_QUEUED_PER_HOST: '1' } });
});

after(async () => {
  if (cluster) await removeCluster(cluster);
  await t?.cleanup();
});

test('the primary grants at most `running` places, queues at most `queued`, and a dead worker gives its places back', () => {
  const ceiling = new HostHashCeiling({ running: 2, queued: 1 });
  const answers: Array<[string, boolean]> = [];
  const ask = (worker: number, id: string) => ceiling.ask(worker, id, (granted) => answers.push([id, granted]));
  ask(1, 'a');
  ask(2, 'b');
  ask(2, 'c'); // waits
  ask(1, 'd'); // refused: the queue is full
  assert.deepEqual(answers, [['a', true], ['b', true], ['d', false]]);
  ceiling.done('a');
  assert.deepEqual(answers.at(-1), ['c', true], 'a place given back goes to the next in line');
  ask(1, 'e'); // waits behind b and c
  ceiling.workerGone(2);
  assert.deepEqual(answers.at(-1), ['e', true], "worker 2's places come back when it dies");
  assert.deepEqual(loadConfig({}).hostHashLimits.queued, 256);
  assert.ok(loadConfig({}).hostHashLimits.running >= 4, 'by default at least what one worker runs');
  assert.throws(() => loadConfig({ SIGN_IN_HASHES_PER_HOST: '0' }), /SIGN_IN_HASHES_PER_HOST/);
});

test(`on ${testDialect}: a burst of sign-ins over two workers meets the host's ceiling, not only each worker's`, async () => {
  assert.equal(new Set(cluster.logs.filter(listening).map((l) => l.pid)).size, 2);
  const page = await requestOnNewConnection(`${cluster.baseUrl}/login`, { headers: { accept: 'text/html' } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(String(page.body))?.[1];
  assert.ok(csrf);
  const cookie = (page.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; ');
  // 24 at once: well inside two workers' own gates (2 x (4 + 64)), far past the host's 1 + 1.
  const answers = await Promise.all(
    Array.from({ length: 24 }, (_, i) =>
      requestOnNewConnection(`${cluster.baseUrl}/login`, {
        method: 'POST',
        // A client address each (TRUST_PROXY's default trusts loopback), so no sign-in limit answers first.
        headers: { cookie, accept: 'text/html', 'x-forwarded-for': `198.51.100.${i + 1}` },
        body: { _csrf: csrf, email: `burst${i}@example.test`, password: 'wrong-password' },
      }),
    ),
  );
  const statuses = answers.map((a) => a.status);
  const busy = answers.filter((a) => a.status === 503);
  assert.ok(busy.length > 0, `some sign-ins are refused by the host's ceiling: ${statuses.join(',')}`);
  assert.ok(busy.every((a) => Number(a.headers['retry-after']) > 0), 'with Retry-After');
  assert.ok(statuses.every((s) => s === 503 || s === 401), statuses.join(','));
  assert.ok(statuses.includes(401), 'the ones given a place are checked');
});
