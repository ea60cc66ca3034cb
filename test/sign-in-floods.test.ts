// Sign-in floods (issue 24): one IPv6 /64 is one address for the per-address
// limit (it could otherwise pick a fresh address for every try), and each
// worker runs a bounded number of argon2 hashes with a bounded queue behind
// them: past the queue a sign-in is a fast 503 with Retry-After, never more
// memory. The real app, real argon2, a real database.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { Browser, startTestServer, type TestServer } from './helpers/http.js';
import { ATTEMPTS_PER_ADDRESS, addressKey } from '../src/auth/sign-in-limits.js';
import { DEFAULT_HASH_LIMITS, hashGate, HashesBusyError, HashGate } from '../src/auth/hash-gate.js';
import { hashPassword, verifyPassword } from '../src/auth/passwords.js';

let t: TestDatabase;
let server: TestServer;

before(async () => {
  t = await createTestDatabase();
  server = await startTestServer(t.db); // TRUST_PROXY loopback: the test's X-Forwarded-For counts
});

after(async () => {
  hashGate.configure(DEFAULT_HASH_LIMITS);
  await server.close();
  await t.cleanup();
});

test('an IPv6 address is counted by its /64; IPv4 and mapped IPv4 by the address', () => {
  assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), addressKey('2001:0DB8:0001:0002::9'));
  assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
  assert.equal(addressKey('::ffff:198.51.100.7'), '198.51.100.7');
  assert.notEqual(addressKey('198.51.100.7'), addressKey('198.51.100.8'));
});

test(`${ATTEMPTS_PER_ADDRESS} failures from one IPv6 /64, each from a new address in it, refuse the next one`, async () => {
  const prefix = '2001:db8:24:64';
  const csrfFor = async (b: Browser) => Browser.csrfFrom((await b.get('/login')).text);
  for (let i = 0; i < ATTEMPTS_PER_ADDRESS; i++) {
    const b = new Browser(server.baseUrl, { 'x-forwarded-for': `${prefix}:${(i + 1).toString(16)}::1` });
    const res = await b.post('/login', { _csrf: await csrfFor(b), email: `nobody${i}@example.test`, password: 'wrong-password' });
    assert.equal(res.status, 401, `attempt ${i + 1}`);
  }
  const next = new Browser(server.baseUrl, { 'x-forwarded-for': `${prefix}:ffff:ffff:ffff:ffff` });
  const refused = await next.post('/login', { _csrf: await csrfFor(next), email: 'someone@example.test', password: 'wrong-password' });
  assert.equal(refused.status, 429);
  // Another /64 is another client.
  const neighbour = new Browser(server.baseUrl, { 'x-forwarded-for': '2001:db8:24:65::1' });
  assert.equal((await neighbour.post('/login', { _csrf: await csrfFor(neighbour), email: 'someone@example.test', password: 'wrong-password' })).status, 401);
});

test('the gate runs at most `concurrent` hashes, queues at most `queued`, and refuses the rest at once', async () => {
  const gate = new HashGate({ concurrent: 2, queued: 3 });
  let running = 0;
  let most = 0;
  const work = () =>
    gate.run(async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 50));
      running -= 1;
      return true;
    });
  const results = await Promise.allSettled(Array.from({ length: 10 }, work));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
  assert.ok(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof HashesBusyError));
  assert.equal(most, 2);
  // Once the flood is over, hashes run again.
  assert.equal(await work(), true);
});

test('a flood of sign-ins past the queue gets fast 503s with Retry-After; every hash in flight is a real one', async () => {
  const hash = await hashPassword('password-123');
  hashGate.configure({ concurrent: 1, queued: 1 });
  try {
    const answers = await Promise.allSettled(Array.from({ length: 8 }, () => verifyPassword(hash, 'wrong-password')));
    assert.ok(answers.some((a) => a.status === 'rejected' && a.reason instanceof HashesBusyError), 'some verifications are refused');
    assert.ok(answers.some((a) => a.status === 'fulfilled' && a.value === false), 'the others are checked');

    const browsers = Array.from({ length: 12 }, (_, i) => new Browser(server.baseUrl, { 'x-forwarded-for': `203.0.113.${i + 1}` }));
    const tokens = await Promise.all(browsers.map(async (b) => Browser.csrfFrom((await b.get('/login')).text)));
    const answersHttp = await Promise.all(browsers.map((b, i) => b.post('/login', { _csrf: tokens[i], email: `flood${i}@example.test`, password: 'wrong-password' })));
    const busy = answersHttp.filter((r) => r.status === 503);
    assert.ok(busy.length > 0, `some sign-ins are refused: ${answersHttp.map((r) => r.status).join(',')}`);
    assert.ok(busy.every((r) => Number(r.headers.get('retry-after')) > 0), 'with Retry-After');
    assert.ok(answersHttp.every((r) => r.status === 503 || r.status === 401));
  } finally {
    hashGate.configure(DEFAULT_HASH_LIMITS);
  }
});
