// The sign-in rate limit in one process (the cluster-wide and cross-host
// stores are in sign-in-limit-cluster.test.ts): 10 failed attempts per
// account, 100 per client address, within 15 minutes; then 429 with
// Retry-After and the login page saying when to retry. The address is req.ip,
// so X-Forwarded-For counts only from a trusted proxy (TRUST_PROXY).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { Browser, startTestServer, userWithToken, type PageResponse, type TestServer } from './helpers/http.js';
import { createHash, createHmac } from 'node:crypto';
import { addressKey, ATTEMPTS_PER_ACCOUNT, ATTEMPTS_PER_ADDRESS, databaseSignInLimits, memorySignInLimits, SIGN_IN_WINDOW_SECONDS } from '../src/auth/sign-in-limits.js';
import { databaseKnownAddresses, KNOWN_ADDRESSES_TABLE } from '../src/auth/known-addresses.js';

const HMAC_KEY = 'a-key-derived-from-the-session-secret';

const PASSWORD = 'password-123';

function assertTooMany(res: PageResponse, what: string): void {
  assert.equal(res.status, 429, `${what}: ${res.status}`);
  const retryAfter = Number(res.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= SIGN_IN_WINDOW_SECONDS, `${what}: Retry-After ${res.headers.get('retry-after')}`);
  assert.match(res.text, /Too many attempts; try again in \d+ minutes?/, what);
  assert.match(res.text, /name="_csrf"/, `${what}: the login form is shown again`);
}

describe(`sign-in rate limit in one process, on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let untrusting: TestServer;
  /** Known addresses in the database, as a worker keeps them. */
  let remembering: TestServer;

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db); // TRUST_PROXY's default, loopback: the test's X-Forwarded-For counts
    untrusting = await startTestServer(t.db, { trustProxy: false });
    remembering = await startTestServer(t.db, { signInLimits: memorySignInLimits(databaseKnownAddresses(t.db, HMAC_KEY)) });
  });

  after(async () => {
    await server.close();
    await untrusting.close();
    await remembering.close();
    await t.cleanup();
  });

  /** Signs in with a wrong password `times` times, each answer a 401; returns the CSRF token used. */
  async function fail(b: Browser, email: string | ((i: number) => string), times: number): Promise<string> {
    const csrf = Browser.csrfFrom((await b.get('/login')).text);
    for (let i = 0; i < times; i++) {
      const res = await b.post('/login', { _csrf: csrf, email: typeof email === 'string' ? email : email(i), password: 'wrong-password' });
      assert.equal(res.status, 401, `attempt ${i + 1}`);
    }
    return csrf;
  }

  test(`the ${ATTEMPTS_PER_ACCOUNT + 1}th attempt for one account is refused, even with the right password`, async () => {
    const { user } = await userWithToken(t.db, 'student');
    const b = new Browser(server.baseUrl, { 'x-forwarded-for': '198.51.100.1' });
    const csrf = await fail(b, user.email, ATTEMPTS_PER_ACCOUNT);
    assertTooMany(await b.post('/login', { _csrf: csrf, email: user.email, password: PASSWORD }), 'right password');
    // Counted per account at that address, whatever the spelling of the email.
    assertTooMany(await b.post('/login', { _csrf: csrf, email: ` ${user.email.toUpperCase()} `, password: PASSWORD }), 'another spelling');
    assert.equal((await b.get('/courses')).location, '/login', 'not signed in');
  });

  test('no targeted lockout: failures for an account elsewhere leave its owner, at the address they signed in from, able to sign in', async () => {
    const { user } = await userWithToken(t.db, 'student');
    const owner = new Browser(server.baseUrl, { 'x-forwarded-for': '198.51.100.20' });
    const ownerCsrf = Browser.csrfFrom((await owner.get('/login')).text);
    assert.equal((await owner.post('/login', { _csrf: ownerCsrf, email: user.email, password: PASSWORD })).status, 303, 'signed in before');
    await owner.post('/logout', { _csrf: Browser.csrfFrom((await owner.get('/courses')).text) });
    // An attacker elsewhere locks the account out for themselves, not for its owner.
    const attacker = new Browser(server.baseUrl, { 'x-forwarded-for': '198.51.100.21' });
    const attackerCsrf = await fail(attacker, user.email, ATTEMPTS_PER_ACCOUNT);
    assertTooMany(await attacker.post('/login', { _csrf: attackerCsrf, email: user.email, password: PASSWORD }), 'the attacker');
    const back = new Browser(server.baseUrl, { 'x-forwarded-for': '198.51.100.20' });
    const res = await back.post('/login', { _csrf: Browser.csrfFrom((await back.get('/login')).text), email: user.email, password: PASSWORD });
    assert.equal(res.status, 303, `the owner signs in: ${res.status}`);
  });

  test('failures from many addresses share the account\'s one count, while an address that signed in before keeps its own', async () => {
    const { user } = await userWithToken(t.db, 'student');
    const signIn = async (address: string, password: string) => {
      const b = new Browser(remembering.baseUrl, { 'x-forwarded-for': address });
      return b.post('/login', { _csrf: Browser.csrfFrom((await b.get('/login')).text), email: user.email, password });
    };
    assert.equal((await signIn('198.51.100.30', PASSWORD)).status, 303, 'the owner signs in from home');
    // A guesser with an address per attempt (a botnet, or an IPv4 pool): ten in all, not ten each.
    for (let i = 0; i < ATTEMPTS_PER_ACCOUNT; i++) assert.equal((await signIn(`203.0.113.${100 + i}`, 'wrong-password')).status, 401, `guess ${i + 1}`);
    assertTooMany(await signIn('203.0.113.200', 'wrong-password'), 'an eleventh address');
    assertTooMany(await signIn('203.0.113.201', PASSWORD), 'a stranger with the right password');
    // The owner, at home, is not locked out by any of it.
    assert.equal((await signIn('198.51.100.30', PASSWORD)).status, 303, 'the owner signs in again');
    const rows = await t.db<{ key: string }>(KNOWN_ADDRESSES_TABLE).select('key');
    assert.ok(rows.length > 0 && rows.every(({ key }) => /^[0-9a-f]{64}$/.test(key)), 'known addresses are kept as HMACs only');
  });

  test('a successful sign-in starts the account afresh', async () => {
    const { user } = await userWithToken(t.db, 'student');
    const b = new Browser(server.baseUrl, { 'x-forwarded-for': '198.51.100.3' });
    const csrf = await fail(b, user.email, ATTEMPTS_PER_ACCOUNT - 1);
    const ok = await b.post('/login', { _csrf: csrf, email: user.email, password: PASSWORD });
    assert.equal(ok.status, 303);
    const again = new Browser(server.baseUrl, { 'x-forwarded-for': '198.51.100.3' });
    const csrf2 = await fail(again, user.email, ATTEMPTS_PER_ACCOUNT);
    assertTooMany(await again.post('/login', { _csrf: csrf2, email: user.email, password: 'wrong-password' }), 'after ten more');
  });

  test(`the ${ATTEMPTS_PER_ADDRESS + 1}th failed attempt from one address is refused; a trusted X-Forwarded-For is the address`, async () => {
    const { user } = await userWithToken(t.db, 'student');
    const b = new Browser(server.baseUrl, { 'x-forwarded-for': '203.0.113.7' });
    // A new email each time, so no account reaches its own limit.
    const csrf = await fail(b, (i) => `guess${i}@example.test`, ATTEMPTS_PER_ADDRESS);
    assertTooMany(await b.post('/login', { _csrf: csrf, email: user.email, password: PASSWORD }), 'a real account from that address');

    // Behind the trusted loopback proxy, another client is another address.
    const neighbour = new Browser(server.baseUrl, { 'x-forwarded-for': '203.0.113.8' });
    const ok = await neighbour.post('/login', { _csrf: Browser.csrfFrom((await neighbour.get('/login')).text), email: user.email, password: PASSWORD });
    assert.equal(ok.status, 303, 'another forwarded address is not limited');
  });

  test('with TRUST_PROXY=false, X-Forwarded-For is ignored: a client cannot reset its count by changing it', async () => {
    const { user } = await userWithToken(t.db, 'student');
    const b = new Browser(untrusting.baseUrl, { 'x-forwarded-for': '192.0.2.1' });
    await fail(b, (i) => `nobody${i}@example.test`, ATTEMPTS_PER_ADDRESS);
    const disguised = new Browser(untrusting.baseUrl, { 'x-forwarded-for': '192.0.2.2' });
    const res = await disguised.post('/login', { _csrf: Browser.csrfFrom((await disguised.get('/login')).text), email: user.email, password: PASSWORD });
    assertTooMany(res, 'a new X-Forwarded-For from the same socket address');
  });
});

describe(`sign-in counters in the database (LEADER_ELECTION=db), on ${testDialect}`, () => {
  let t: TestDatabase;

  before(async () => {
    t = await createTestDatabase();
  });

  after(async () => {
    await t.cleanup();
  });

  test('two hosts share one count per account at an address and per address', async () => {
    // Two instances on one database: what two hosts' workers would hold.
    const hostA = databaseSignInLimits(t.db, t.url, HMAC_KEY);
    const hostB = databaseSignInLimits(t.db, t.url, HMAC_KEY);
    for (let i = 0; i < ATTEMPTS_PER_ACCOUNT; i++) {
      const verdict = await (i % 2 === 0 ? hostA : hostB).attempt('shared@example.test', '10.0.0.1');
      assert.deepEqual(verdict, { allowed: true }, `attempt ${i + 1}`);
    }
    const refused = await hostB.attempt('Shared@Example.test', '10.0.0.1');
    assert.equal(refused.allowed, false);
    assert.ok(!refused.allowed && refused.retryAfterSeconds > SIGN_IN_WINDOW_SECONDS - 60 && refused.retryAfterSeconds <= SIGN_IN_WINDOW_SECONDS);

    await hostA.succeeded('shared@example.test', '10.0.0.1');
    assert.deepEqual(await hostB.attempt('shared@example.test', '10.0.0.1'), { allowed: true }, 'a success resets the account on every host');

    for (let i = 0; i < ATTEMPTS_PER_ADDRESS; i++) {
      const verdict = await (i % 2 === 0 ? hostA : hostB).attempt(`user${i}@example.test`, '10.9.9.9');
      assert.equal(verdict.allowed, true, `address attempt ${i + 1}`);
    }
    assert.equal((await hostA.attempt('fresh@example.test', '10.9.9.9')).allowed, false, 'the address is over its limit on both hosts');
    const keys = (await t.db('sign_in_limits').select('key')).map(({ key }: { key: string }) => key);
    assert.ok(keys.every((key) => !key.includes('@')), 'no email is stored in the counters');
    // Neither a raw address nor an unsalted SHA-256 of an email: an HMAC under a key from the session secret (issue 24).
    const sha256 = createHash('sha256').update('shared@example.test').digest('hex');
    assert.ok(keys.every((key) => !key.includes('10.9.9.9') && !key.includes(sha256)), keys.slice(0, 3).join(', '));
    const hmac = createHmac('sha256', HMAC_KEY).update(addressKey('10.9.9.9')).digest('hex');
    assert.ok(keys.some((key) => key.endsWith(hmac)), 'the address is kept as its HMAC');
  });
});
