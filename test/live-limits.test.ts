// Live streams cannot be hoarded (issue 24): at most 10 per user on a worker
// (the 11th is a 429 with Retry-After), a cap per worker from the open-file
// limit (503 beyond), every stream ends after its lifetime so a revoked token
// stops receiving at the latest then (its reconnect is refused), and a member
// removed from the course stops at once. The real app, the real leader link
// (outside a cluster it hands the news on in-process) and a real database.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { apiClient, Browser, courseOfTeacherWithActiveStage, startTestServer, userWithToken, type TestServer } from './helpers/http.js';
import { createLogger } from '../src/log.js';
import { LiveStages } from '../src/http/live-stages.js';
import { openFilesSoftLimit, StreamAdmission, workerStreamCap } from '../src/http/live-admission.js';
import { webLiveRoutes } from '../src/http/routes/web-live.js';
import { createLeaderLink, type LeaderLink } from '../src/scheduler/leader-link.js';
import { revokeApiToken, listApiTokens } from '../src/domain/api-tokens.js';

const LIFETIME_MS = 1500;

let t: TestDatabase;
let live: LiveStages;
let link: LeaderLink;
let server: TestServer;
let teacher: Awaited<ReturnType<typeof userWithToken>>;
let student: Awaited<ReturnType<typeof userWithToken>>;
let courseId: number;

before(async () => {
  t = await createTestDatabase();
  live = new LiveStages({ db: t.db, log: createLogger('silent'), maxStreamMs: LIFETIME_MS });
  link = createLeaderLink({ leaderElection: 'lockfile' }, { db: t.db, log: createLogger('silent'), jobIds: [], leadership: async () => ({ state: 'none' }) as never, leader: () => null, inCluster: false, stagesMayHaveChanged: () => live.check() });
  server = await startTestServer(t.db, { pageRoutes: [webLiveRoutes({ db: t.db, live })] });
  teacher = await userWithToken(t.db, 'teacher');
  student = await userWithToken(t.db, 'student');
  ({ course: { id: courseId } } = await courseOfTeacherWithActiveStage(apiClient(server.baseUrl, teacher.token), student.user.email, 'LIVE1'));
});

after(async () => {
  live?.close();
  link?.close();
  await server?.close();
  await t?.cleanup();
});

interface OpenStream {
  status: number;
  retryAfter: string | undefined;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  hasEnded(): boolean;
  close(): void;
}

/** A stream opened with an API token, or with other headers (a session cookie). */
function openStream(credentials: string | Record<string, string>): Promise<OpenStream> {
  const headers = typeof credentials === 'string' ? { authorization: `Bearer ${credentials}` } : credentials;
  return new Promise((resolve, reject) => {
    const req = http.get(`${server.baseUrl}/courses/${courseId}/live`, { headers }, (res) => {
      let done = false;
      const ended = new Promise<void>((end) =>
        res.on('end', () => {
          done = true;
          end();
        }),
      );
      res.resume();
      resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], ended, hasEnded: () => done, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

const within = <T>(promise: Promise<T>, ms: number, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))]);

test('the 11th stream of one user on a worker is a 429 with Retry-After; closing one frees a place', async () => {
  const open = [];
  for (let i = 0; i < 10; i++) open.push(await openStream(student.token));
  try {
    assert.deepEqual(open.map((s) => s.status), Array(10).fill(200));
    const eleventh = await openStream(student.token);
    assert.equal(eleventh.status, 429);
    assert.ok(Number(eleventh.retryAfter) > 0, 'Retry-After says when to try again');
    // Another user is not counted against this one.
    const teachers = await openStream(teacher.token);
    assert.equal(teachers.status, 200);
    teachers.close();
    open.pop()!.close();
    const deadline = Date.now() + 10_000;
    let again = await openStream(student.token);
    while (again.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      again = await openStream(student.token);
    }
    assert.equal(again.status, 200, 'a closed stream gives its place back');
    open.push(again);
  } finally {
    for (const s of open) s.close();
  }
});

test('a stream ends after its lifetime, and a revoked token cannot reconnect', async () => {
  const { token } = await userWithToken(t.db, 'admin', 'revoked');
  const stream = await openStream(token);
  assert.equal(stream.status, 200);
  const userId = (await t.db('api_tokens').orderBy('id', 'desc').first('user_id')).user_id as number;
  for (const info of await listApiTokens(t.db, Number(userId))) await revokeApiToken(t.db, info.id);
  await within(stream.ended, 20 * LIFETIME_MS, 'the stream to reach its lifetime');
  const reconnect = await openStream(token);
  assert.equal(reconnect.status, 401);
});

test('an ended session stops receiving at the latest at the end of its stream: the reconnect is refused', async () => {
  const { user } = await userWithToken(t.db, 'admin', 'session');
  const browser = new Browser(server.baseUrl);
  await browser.login(user.email, 'password-123');
  const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  const stream = await openStream({ cookie });
  assert.equal(stream.status, 200, 'the session follows the course');
  const out = await browser.post('/logout', { _csrf: Browser.csrfFrom((await browser.get('/courses')).text) });
  assert.equal(out.status, 303);
  await within(stream.ended, 20 * LIFETIME_MS, 'the stream to reach its lifetime');
  assert.equal((await openStream({ cookie })).status, 401, 'the ended session cannot reconnect');
});

test('a member removed from the course stops receiving at once; the teacher keeps the stream', async () => {
  const mine = await openStream(student.token);
  const teachers = await openStream(teacher.token);
  try {
    assert.equal(mine.status, 200);
    const started = Date.now();
    const removed = await apiClient(server.baseUrl, teacher.token).delete(`/api/courses/${courseId}/members/${student.user.id}`);
    assert.equal(removed.status, 204);
    await within(mine.ended, 10_000, "the removed member's stream to end");
    assert.ok(Date.now() - started < LIFETIME_MS, 'ended by the removal, before its lifetime ran out');
    assert.equal(teachers.hasEnded(), false, "the teacher's stream goes on");
    assert.equal((await openStream(student.token)).status, 404, 'and cannot come back');
  } finally {
    mine.close();
    teachers.close();
  }
});

test('the per-worker cap comes from the soft open-file limit, and a full worker answers 503 with Retry-After', async () => {
  const limits = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            4096                 524288               files\n';
  assert.equal(openFilesSoftLimit(limits), 4096);
  assert.equal(workerStreamCap(4096), (4096 - 256) / 2);
  assert.equal(workerStreamCap(200), 10, 'never below one user\'s worth');
  assert.ok(workerStreamCap() >= 10);

  const small = new LiveStages({ db: t.db, log: createLogger('silent'), admission: new StreamAdmission({ perUser: 10, worker: 2 }) });
  const other = await startTestServer(t.db, { pageRoutes: [webLiveRoutes({ db: t.db, live: small })] });
  const open: http.ClientRequest[] = [];
  const get = (token: string) =>
    new Promise<http.IncomingMessage>((resolve) => {
      const req = http.get(`${other.baseUrl}/courses/${courseId}/live`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res);
      });
      open.push(req);
    });
  try {
    assert.equal((await get(teacher.token)).statusCode, 200);
    assert.equal((await get(teacher.token)).statusCode, 200);
    const full = await get(teacher.token);
    assert.equal(full.statusCode, 503);
    assert.ok(Number(full.headers['retry-after']) > 0);
  } finally {
    for (const req of open) req.destroy();
    small.close();
    await other.close();
  }
});
