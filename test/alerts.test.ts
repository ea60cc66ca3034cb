// The alert webhook: a failed job's alert reaches it (retried when the first
// attempt fails), signed with ALERT_WEBHOOK_SECRET so the receiver can check it
// came from us, and never following a redirect elsewhere.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { createAlerter, SIGNATURE_HEADER, TIMESTAMP_HEADER, type Alerter } from '../src/scheduler/alerts.js';
import { createLogger } from '../src/log.js';
import { waitUntil } from './helpers/wait.js';
import { job, log, SchedulerHarness } from './helpers/scheduler.js';
import type { JobDefinition } from '../src/jobs/job.js';

const alert = { jobId: 'broken', executionId: 7, status: 'error' as const, message: 'disk full', scheduledFor: new Date().toISOString(), pid: 1, hostname: 'h' };

let harness: SchedulerHarness;
before(async () => {
  harness = await SchedulerHarness.open('coursework-alerts-');
});
afterEach(() => harness.reset());
after(() => harness.close());

const startScheduler = (jobs: JobDefinition[], alert: Alerter) => harness.start(jobs, alert);
const executions = (jobId: string) => harness.executions(jobId);

async function receiver(handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString())).on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

test('an alert is signed with an HMAC of its timestamp and exact body, and sends the timestamp (no replay)', async () => {
  const got: { signature: string | undefined; timestamp: string | undefined; body: string }[] = [];
  const hook = await receiver((req, body, res) => {
    got.push({ signature: req.headers[SIGNATURE_HEADER] as string | undefined, timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined, body });
    res.writeHead(204).end();
  });
  try {
    createAlerter({ log: createLogger('silent'), webhookUrl: `${hook.url}/alerts`, webhookSecret: 'shared-secret' })(alert);
    await waitUntil(() => got.length === 1, 5000, 'the alert arrives');
    const timestamp = Number(got[0].timestamp);
    assert.ok(Number.isInteger(timestamp) && Math.abs(timestamp - Date.now() / 1000) < 300, `a current unix time: ${got[0].timestamp}`);
    const expected = `sha256=${createHmac('sha256', 'shared-secret').update(`${got[0].timestamp}.${got[0].body}`).digest('hex')}`;
    assert.equal(got[0].signature, expected);
    // The body alone no longer verifies: a receiver checks the timestamp with it.
    assert.notEqual(got[0].signature, `sha256=${createHmac('sha256', 'shared-secret').update(got[0].body).digest('hex')}`);
    assert.equal((JSON.parse(got[0].body) as { jobId: string }).jobId, 'broken');
  } finally {
    await hook.close();
  }
});

test('a redirect is not followed: the alert never reaches where it points', async () => {
  let redirected = 0;
  let elsewhere = 0;
  const target = await receiver((_req, _body, res) => {
    elsewhere += 1;
    res.writeHead(204).end();
  });
  const hook = await receiver((_req, _body, res) => {
    redirected += 1;
    res.writeHead(307, { location: `${target.url}/stolen` }).end();
  });
  try {
    createAlerter({ log: createLogger('silent'), webhookUrl: `${hook.url}/alerts`, retryDelayMs: 10 })(alert);
    await waitUntil(() => redirected === 3, 5000, 'every attempt was answered with a redirect');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(elsewhere, 0);
  } finally {
    await hook.close();
    await target.close();
  }
});

test('a failure is POSTed to the alert webhook with the job and execution ids', async () => {
  const received: Record<string, unknown>[] = [];
  let attempts = 0;
  const hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d)).on('end', () => {
      attempts += 1;
      // The first attempt fails: the alert is retried.
      if (attempts === 1) return void res.writeHead(500).end();
      received.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
    const scheduler = await startScheduler(
      [job({ id: 'broken', cron: '0 0 1 1 *', run: async () => Promise.reject(new Error('disk full')) })],
      createAlerter({ log, webhookUrl: url, retryDelayMs: 50 }),
    );
    const { executionId, done } = await scheduler.runNow('broken');
    await done;
    await waitUntil(() => received.length === 1, 5000, 'the webhook got the alert');
    assert.equal(received[0].jobId, 'broken');
    assert.equal(received[0].executionId, executionId);
    assert.equal(received[0].status, 'error');
    assert.equal(received[0].message, 'disk full');
    assert.equal(received[0].type, 'coursework.job.error');
    assert.equal((await executions('broken'))[0].status, 'error');
  } finally {
    await new Promise((resolve) => hook.close(resolve));
  }
});
