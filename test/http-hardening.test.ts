// No caching of pages and API answers, /metrics behind METRICS_TOKEN, and
// /readyz checking migrations only until they are current.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, Browser, startTestServer, userWithToken, type TestServer } from './helpers/http.js';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { migrateLatest } from '../src/db/migrations.js';
import { healthRoutes } from '../src/http/routes/health.js';

const PASSWORD = 'password-123';
const METRICS_TOKEN = 'metrics-token-for-the-test-0123456789';
const collect = () => Promise.resolve({ contentType: 'text/plain; version=0.0.4', body: 'coursework_test_metric 1\n' });

describe(`HTTP hardening on ${testDialect}`, () => {
  let t: TestDatabase;
  let plain: TestServer;
  let guardedMetrics: TestServer;

  before(async () => {
    t = await createTestDatabase();
    plain = await startTestServer(t.db, { metrics: { collect } });
    guardedMetrics = await startTestServer(t.db, { metrics: { collect, token: METRICS_TOKEN } });
  });

  after(async () => {
    for (const server of [plain, guardedMetrics]) await server.close();
    await t.cleanup();
  });

  test('pages and API answers are Cache-Control: no-store; static files are cacheable', async () => {
    const { user, token } = await userWithToken(t.db, 'teacher');
    const b = new Browser(plain.baseUrl);
    await b.login(user.email, PASSWORD);
    for (const path of ['/courses', '/login']) assert.equal((await b.get(path)).headers.get('cache-control'), 'no-store', path);
    const api = apiClient(plain.baseUrl, token);
    assert.equal((await api.get('/api/me')).headers.get('cache-control'), 'no-store');
    assert.equal((await api.get('/api/courses')).headers.get('cache-control'), 'no-store');
    assert.equal((await apiClient(plain.baseUrl).get('/api/me')).headers.get('cache-control'), 'no-store', 'a 401 too');
    const css = await b.get('/static/app.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('cache-control') ?? '', /max-age=3600/);
  });

  test('METRICS_TOKEN: /metrics needs it as a bearer token (401 JSON otherwise); unset, /metrics is open', async () => {
    const unauthorized = async (headers: Record<string, string>) => {
      const res = await apiClient(guardedMetrics.baseUrl).call('GET', '/metrics', undefined, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.body.error.code, 'unauthorized');
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    };
    await unauthorized({});
    await unauthorized({ authorization: 'Bearer wrong-token' });
    await unauthorized({ authorization: `Basic ${METRICS_TOKEN}` });
    await unauthorized({ accept: 'text/html' });
    const ok = await fetch(`${guardedMetrics.baseUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'coursework_test_metric 1\n');

    const open = await fetch(`${plain.baseUrl}/metrics`);
    assert.equal(open.status, 200);
    assert.equal(await open.text(), 'coursework_test_metric 1\n');
  });
});

describe(`/readyz on ${testDialect}`, () => {
  test('checks migrations until they are current, then only that the database answers', async () => {
    const t = await createTestDatabase({ migrate: false });
    // The health routes alone: the whole app needs the sessions table, which no migration made yet.
    const server = express().use(healthRoutes({ db: t.db })).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const queries: string[] = [];
    t.db.on('query', (q: { sql: string }) => queries.push(q.sql));
    try {
      const ready = () => fetch(`${baseUrl}/readyz`).then(async (res) => ({ status: res.status, body: (await res.json()) as { status: string } }));
      assert.deepEqual(await ready(), { status: 503, body: { status: 'migrations pending', pid: process.pid } });
      assert.equal((await ready()).status, 503, 'pending is asked again');
      await migrateLatest(t.db);
      assert.equal((await ready()).status, 200);
      queries.length = 0;
      for (let i = 0; i < 3; i++) assert.equal((await ready()).status, 200);
      assert.deepEqual(queries, ['select 1', 'select 1', 'select 1'], 'once current, a probe is one select 1');
    } finally {
      server.close();
      server.closeAllConnections();
      await t.cleanup();
    }
  });
});
