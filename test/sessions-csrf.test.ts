// Sessions and CSRF: an anonymous visit stores no session (the login form's
// CSRF token is tied to a signed anonymous cookie instead), a session ends 7
// days after sign-in however active it is, the CSRF key is derived from the
// session secret rather than being the secret itself, and behind HTTPS
// (COOKIE_SECURE) every cookie is Secure with a __Host- name and HSTS is sent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { Browser, startTestServer, userWithToken, type TestServer } from './helpers/http.js';
import { deriveKey } from '../src/secrets.js';
import { SESSION_ABSOLUTE_MS } from '../src/http/session.js';
import { DAY } from '../src/time.js';

const PASSWORD = 'password-123';
/** What startTestServer signs with. */
const SECRET = 'test-secret-'.padEnd(40, 'x');

/** Each Set-Cookie line by cookie name. */
function setCookies(headers: Headers): Map<string, string> {
  return new Map(headers.getSetCookie().map((line) => [line.slice(0, line.indexOf('=')), line]));
}

async function sessionRows(t: TestDatabase): Promise<{ sid: string; sess: string }[]> {
  return t.db('sessions').select('sid', 'sess');
}

describe(`sessions and CSRF on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let secure: TestServer;

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    secure = await startTestServer(t.db, { secureCookies: true });
  });

  after(async () => {
    await server.close();
    await secure.close();
    await t.cleanup();
  });

  test('20 anonymous visits to the login page store no session; signing in still works with its CSRF token', async () => {
    const before = (await sessionRows(t)).length;
    for (let i = 0; i < 20; i++) {
      const page = await new Browser(server.baseUrl).get('/login');
      assert.equal(page.status, 200);
      assert.match(page.text, /name="_csrf" value="[^"]+"/);
    }
    assert.equal((await sessionRows(t)).length, before, 'no row per visit');

    const { user } = await userWithToken(t.db, 'student');
    const b = new Browser(server.baseUrl);
    const page = await b.get('/login');
    const wrong = await b.post('/login', { _csrf: Browser.csrfFrom(page.text), email: user.email, password: 'wrong-password' });
    assert.equal(wrong.status, 401);
    assert.equal((await sessionRows(t)).length, before, 'a failed sign-in stores none either');
    await b.login(user.email, PASSWORD);
    assert.equal((await b.get('/courses')).status, 200);
    assert.equal((await sessionRows(t)).length, before + 1, 'the sign-in stored one');
  });

  test('the login form refuses a post without its token, or without the anonymous cookie it is tied to', async () => {
    const { user } = await userWithToken(t.db, 'student');
    const b = new Browser(server.baseUrl);
    const csrf = Browser.csrfFrom((await b.get('/login')).text);
    assert.equal((await b.post('/login', { email: user.email, password: PASSWORD })).status, 403, 'no token');
    b.cookies.delete('coursework.anon');
    assert.equal((await b.post('/login', { _csrf: csrf, email: user.email, password: PASSWORD })).status, 403, 'no anonymous cookie');
  });

  test('the CSRF key is derived from the session secret: a token made with the secret itself is refused', async () => {
    const { user } = await userWithToken(t.db, 'student');
    const forge = async (key: string) => {
      const b = new Browser(server.baseUrl);
      await b.get('/login');
      const anonymous = b.cookies.get('coursework.anon');
      assert.ok(anonymous, 'the login page sets the anonymous cookie');
      const identifier = `anonymous:${anonymous.split('.')[0]}`;
      const random = randomBytes(32).toString('hex');
      const message = [identifier.length, identifier, random.length, random].join('!');
      const token = `${createHmac('sha256', key).update(message).digest('hex')}.${random}`;
      b.cookies.set('coursework.csrf', token);
      return (await b.post('/login', { _csrf: token, email: user.email, password: 'wrong-password' })).status;
    };
    assert.equal(await forge(deriveKey(SECRET, 'csrf')), 401, 'the derived key makes a valid token (the form reached the password check)');
    assert.equal(await forge(SECRET), 403, 'the session secret does not');
  });

  test(`a session ends ${SESSION_ABSOLUTE_MS / DAY} days after sign-in, however recently it was used`, async () => {
    const { user } = await userWithToken(t.db, 'student');
    const b = new Browser(server.baseUrl);
    await b.login(user.email, PASSWORD);
    assert.equal((await b.get('/courses')).status, 200);
    const [row] = (await sessionRows(t)).filter((r) => (JSON.parse(r.sess) as { userId?: number }).userId === user.id);
    const sess = JSON.parse(row.sess) as { signedInAt: number };
    assert.ok(Math.abs(sess.signedInAt - Date.now()) < 60_000, 'the sign-in time is kept in the session');

    // Just inside the lifetime: still signed in (and the rolling expiry keeps it alive).
    sess.signedInAt = Date.now() - SESSION_ABSOLUTE_MS + 60_000;
    await t.db('sessions').where({ sid: row.sid }).update({ sess: JSON.stringify(sess) });
    assert.equal((await b.get('/courses')).status, 200);

    sess.signedInAt = Date.now() - SESSION_ABSOLUTE_MS - 1000;
    await t.db('sessions').where({ sid: row.sid }).update({ sess: JSON.stringify(sess) });
    const expired = await b.get('/courses');
    assert.equal(expired.status, 303);
    assert.equal(expired.location, '/login');
    assert.equal((await t.db('sessions').where({ sid: row.sid })).length, 0, 'the stored session is destroyed');
    assert.equal((await b.get('/courses')).location, '/login', 'and stays ended');
    await b.login(user.email, PASSWORD);
    assert.equal((await b.get('/courses')).status, 200, 'signing in again works');
  });

  test('a session from before sign-in times were kept counts as ended', async () => {
    const { user } = await userWithToken(t.db, 'student');
    const b = new Browser(server.baseUrl);
    await b.login(user.email, PASSWORD);
    const [row] = (await sessionRows(t)).filter((r) => (JSON.parse(r.sess) as { userId?: number }).userId === user.id);
    const sess = JSON.parse(row.sess) as { signedInAt?: number };
    delete sess.signedInAt;
    await t.db('sessions').where({ sid: row.sid }).update({ sess: JSON.stringify(sess) });
    assert.equal((await b.get('/courses')).location, '/login');
  });

  test('COOKIE_SECURE: every cookie is Secure with a __Host- name, and responses send HSTS', async () => {
    const { user } = await userWithToken(t.db, 'student');
    // The TLS proxy in front says the request came over HTTPS (trusted: loopback).
    const b = new Browser(secure.baseUrl, { 'x-forwarded-proto': 'https' });
    const page = await b.get('/login');
    assert.match(page.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
    const loginCookies = setCookies(page.headers);
    assert.deepEqual([...loginCookies.keys()].sort(), ['__Host-coursework.anon', '__Host-coursework.csrf']);
    const signIn = await b.post('/login', { _csrf: Browser.csrfFrom(page.text), email: user.email, password: PASSWORD });
    assert.equal(signIn.status, 303, signIn.text);
    const session = setCookies(signIn.headers).get('__Host-coursework.sid');
    assert.ok(session, 'the session cookie has the __Host- name');
    for (const line of [...loginCookies.values(), session]) {
      assert.match(line, /; Secure/i, line);
      assert.match(line, /; Path=\//i, line);
      assert.match(line, /; HttpOnly/i, line);
      assert.doesNotMatch(line, /; Domain=/i, line);
    }
    assert.equal((await b.get('/courses')).status, 200, 'signed in with the __Host- session cookie');
    const signOut = await b.post('/logout', { _csrf: Browser.csrfFrom((await b.get('/courses')).text) });
    assert.match(setCookies(signOut.headers).get('__Host-coursework.sid') ?? '', /Expires=Thu, 01 Jan 1970.*; Secure/i, 'sign-out clears the __Host- cookie (only a Secure one is accepted)');
  });

  test('by default (plain HTTP) cookies are not Secure, keep plain names, and no HSTS is sent', async () => {
    const { user } = await userWithToken(t.db, 'student');
    const b = new Browser(server.baseUrl);
    const page = await b.get('/login');
    assert.equal(page.headers.get('strict-transport-security'), null);
    const signIn = await b.post('/login', { _csrf: Browser.csrfFrom(page.text), email: user.email, password: PASSWORD });
    const cookies = new Map([...setCookies(page.headers), ...setCookies(signIn.headers)]);
    assert.deepEqual([...cookies.keys()].sort(), ['coursework.anon', 'coursework.csrf', 'coursework.sid']);
    for (const line of cookies.values()) assert.doesNotMatch(line, /; Secure/i, line);
  });

  test('an API call riding on the session cookie needs the CSRF token; one with a bearer token is not given a cookie and is the token\'s user', async () => {
    const { user: teacher } = await userWithToken(t.db, 'teacher');
    const { user: other, token } = await userWithToken(t.db, 'teacher');
    const b = new Browser(server.baseUrl);
    await b.login(teacher.email, PASSWORD);
    const csrf = Browser.csrfFrom((await b.get('/courses')).text);
    const cookie = [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const post = (headers: Record<string, string>, code: string) =>
      fetch(`${server.baseUrl}/api/courses`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ title: 'CSRF', code }) });

    const forged = await post({ cookie }, 'CSRF-1');
    assert.equal(forged.status, 403, 'the session cookie alone is refused');
    assert.equal((await forged.json()).error.code, 'csrf_failed');
    const withToken = await post({ cookie, 'x-csrf-token': csrf }, 'CSRF-2');
    assert.equal(withToken.status, 201, 'with the CSRF token it goes through');
    assert.equal((await withToken.json()).teacherId, teacher.id);

    const sessionsBefore = (await sessionRows(t)).length;
    const bearer = await post({ authorization: `Bearer ${token}` }, 'CSRF-3');
    assert.equal(bearer.status, 201, 'a bearer call needs no CSRF token');
    assert.equal(bearer.headers.getSetCookie().length, 0, 'and gets no cookie');
    const both = await fetch(`${server.baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}`, cookie } });
    assert.equal((await both.json()).id, other.id, 'the token decides who calls, not the session cookie beside it');
    assert.equal(both.headers.getSetCookie().length, 0, 'the session cookie beside a token is neither used nor renewed');
    assert.equal((await sessionRows(t)).length, sessionsBefore, 'no session is stored for bearer calls');
    const badToken = await fetch(`${server.baseUrl}/api/me`, { headers: { authorization: 'Bearer nope', cookie } });
    assert.equal(badToken.status, 401, 'an unknown token is a 401 even with a valid session cookie beside it');
  });
});
