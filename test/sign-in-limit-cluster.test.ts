// The sign-in limit holds across the workers of a real cluster (the counters
// live in the primary) and, with LEADER_ELECTION=db, across hosts (the
// counters live in the shared database). Every request goes on a connection
// of its own, so the cluster hands them to different workers. The cluster's
// /metrics is checked against METRICS_TOKEN on the way.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { listening, requestOnNewConnection, startCluster, type RunningCluster } from './helpers/cluster.js';
import { createUser } from '../src/domain/users.js';
import { ATTEMPTS_PER_ACCOUNT } from '../src/auth/sign-in-limits.js';
import type { LogLine } from './helpers/processes.js';

const PASSWORD = 'password-123';
/** Shared by both "hosts", as a real deployment shares SESSION_SECRET: a CSRF token from one is valid on the other. */
const SESSION_SECRET = 'a-session-secret-shared-by-every-host-0123456789';
const METRICS_TOKEN = 'a-metrics-token-for-the-scraper-0123456789';

/** The login form's CSRF token and the cookies it is tied to, from one GET /login. */
async function loginForm(baseUrl: string): Promise<{ csrf: string; cookie: string }> {
  const page = await requestOnNewConnection(`${baseUrl}/login`, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 200);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(String(page.body))?.[1];
  assert.ok(csrf, 'a CSRF token on the login page');
  const cookie = (page.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; ');
  return { csrf, cookie };
}

function signIn(baseUrl: string, form: { csrf: string; cookie: string }, email: string, password: string) {
  return requestOnNewConnection(`${baseUrl}/login`, {
    method: 'POST',
    headers: { cookie: form.cookie, accept: 'text/html' },
    body: { _csrf: form.csrf, email, password },
  });
}

const signInLogged = (line: LogLine) => {
  const req = line.req as { method?: string; url?: string } | undefined;
  return req?.method === 'POST' && req.url === '/login';
};

async function started(options: Parameters<typeof startCluster>[0]): Promise<RunningCluster> {
  const cluster = await startCluster(options);
  const workers = options.workers ?? 2;
  await cluster.waitForLog(() => cluster.logs.filter(listening).length >= workers, 30_000, `${workers} workers listening`);
  return cluster;
}

describe(`sign-in limit across processes, on ${testDialect}`, () => {
  let t: TestDatabase;
  const clusters: RunningCluster[] = [];

  before(async () => {
    t = await createTestDatabase();
  });

  after(async () => {
    for (const cluster of clusters) await cluster.stop();
    await t.cleanup();
  });

  test(`failed attempts spread over two workers: the ${ATTEMPTS_PER_ACCOUNT + 1}th for one account is a 429`, async () => {
    const user = await createUser(t.db, { email: 'spread@example.test', password: PASSWORD, role: 'student' });
    const cluster = await started({ databaseUrl: t.url, workers: 2, env: { SCHEDULER_ENABLED: 'false', METRICS_TOKEN } });
    clusters.push(cluster);
    const form = await loginForm(cluster.baseUrl);
    for (let i = 0; i < ATTEMPTS_PER_ACCOUNT; i++) {
      assert.equal((await signIn(cluster.baseUrl, form, user.email, 'wrong-password')).status, 401, `attempt ${i + 1}`);
    }
    const refused = await signIn(cluster.baseUrl, form, user.email, PASSWORD);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers['retry-after']) > 0, `Retry-After: ${refused.headers['retry-after']}`);
    assert.match(String(refused.body), /Too many attempts; try again in \d+ minutes?/);
    const pids = new Set(cluster.logs.filter(signInLogged).map((line) => line.pid));
    assert.ok(pids.size >= 2, `the attempts reached ${pids.size} worker(s)`);

    // The same workers guard the cluster's /metrics with METRICS_TOKEN.
    const anonymous = await requestOnNewConnection(`${cluster.baseUrl}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.equal((anonymous.body as { error: { code: string } }).error.code, 'unauthorized');
    const scraped = await requestOnNewConnection(`${cluster.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(scraped.status, 200);
    assert.match(String(scraped.body), /coursework_http_requests_total/);
  });

  test('across two workers, an address that signed in before keeps trying after strangers used up the account', async () => {
    const user = await createUser(t.db, { email: 'known@example.test', password: PASSWORD, role: 'student' });
    const cluster = await started({ databaseUrl: t.url, workers: 2, env: { SCHEDULER_ENABLED: 'false' } });
    clusters.push(cluster);
    const form = await loginForm(cluster.baseUrl);
    // TRUST_PROXY's default trusts loopback: X-Forwarded-For is the client's address.
    const from = (address: string, password: string) =>
      requestOnNewConnection(`${cluster.baseUrl}/login`, { method: 'POST', headers: { cookie: form.cookie, accept: 'text/html', 'x-forwarded-for': address }, body: { _csrf: form.csrf, email: user.email, password } });
    assert.equal((await from('192.0.2.10', PASSWORD)).status, 303, 'the owner signs in from home');
    for (let i = 0; i < ATTEMPTS_PER_ACCOUNT; i++) assert.equal((await from(`198.18.0.${i + 1}`, 'wrong-password')).status, 401, `stranger ${i + 1}`);
    assert.equal((await from('198.18.0.200', PASSWORD)).status, 429, 'one more stranger, whatever the password');
    assert.equal((await from('192.0.2.10', PASSWORD)).status, 303, 'the owner, at home, still signs in');
    assert.ok(new Set(cluster.logs.filter(signInLogged).map((line) => line.pid)).size >= 2, 'the attempts reached both workers');
  });

  test('with LEADER_ELECTION=db, two hosts on one database share the count', async () => {
    const user = await createUser(t.db, { email: 'hosts@example.test', password: PASSWORD, role: 'student' });
    const env = { LEADER_ELECTION: 'db', SCHEDULER_ENABLED: 'false', SESSION_SECRET };
    // Two clusters, each with its own primary: its in-memory counters could not see the other's.
    const hostA = await started({ databaseUrl: t.url, workers: 1, env });
    clusters.push(hostA);
    const hostB = await started({ databaseUrl: t.url, workers: 1, env });
    clusters.push(hostB);
    const form = await loginForm(hostA.baseUrl);
    for (let i = 0; i < ATTEMPTS_PER_ACCOUNT; i++) {
      const host = i % 2 === 0 ? hostA : hostB;
      assert.equal((await signIn(host.baseUrl, form, user.email, 'wrong-password')).status, 401, `attempt ${i + 1}`);
    }
    for (const host of [hostA, hostB]) {
      const refused = await signIn(host.baseUrl, form, user.email, PASSWORD);
      assert.equal(refused.status, 429, host === hostA ? 'host A' : 'host B');
      assert.ok(Number(refused.headers['retry-after']) > 0);
    }
  });
});
