// The alert webhook: signed with ALERT_WEBHOOK_SECRET so the receiver can
// check it came from us, and never following a redirect elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { createAlerter, SIGNATURE_HEADER } from '../src/scheduler/alerts.js';
import { createLogger } from '../src/log.js';
import { waitUntil } from './helpers/wait.js';

const alert = { jobId: 'broken', executionId: 7, status: 'error' as const, message: 'disk full', scheduledFor: new Date().toISOString(), pid: 1, hostname: 'h' };

async function receiver(handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void) {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString())).on('end', () => handler(req, body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

test('an alert is signed with an HMAC of its exact body', async () => {
  const got: { signature: string | undefined; body: string }[] = [];
  const hook = await receiver((req, body, res) => {
    got.push({ signature: req.headers[SIGNATURE_HEADER] as string | undefined, body });
    res.writeHead(204).end();
  });
  try {
    createAlerter({ log: createLogger('silent'), webhookUrl: `${hook.url}/alerts`, webhookSecret: 'shared-secret' })(alert);
    await waitUntil(() => got.length === 1, 5000, 'the alert arrives');
    const expected = `sha256=${createHmac('sha256', 'shared-secret').update(got[0].body).digest('hex')}`;
    assert.equal(got[0].signature, expected);
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
