// The teacher's extensions on the stage page (issue 22): "Extend for…" for
// one student or several at once (one transaction), the list with its
// warning for extensions that now end before the stage, removal; and what a
// student sees: their own window on the course timeline, in the course's
// stage list (`effective`) and in the live JSON their page polls.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, Browser, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import type { User } from '../src/domain/users.js';
import { DAY, HOUR, toIso } from '../src/time.js';
import { utcMsToLocalInput } from '../src/http/local-time.js';
import { LiveStages } from '../src/http/live-stages.js';
import { webLiveRoutes } from '../src/http/routes/web-live.js';
import { createLogger } from '../src/log.js';

const ZONE = 'Asia/Shanghai';

describe(`extension pages on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacherApi: ApiClient, aliceApi: ApiClient;
  let teacher: User, alice: User, bob: User;
  let courseId: number;
  let stageId: number;
  let stageEnd: number;
  let live: LiveStages;

  async function signedIn(user: User): Promise<Browser> {
    const b = new Browser(server.baseUrl);
    await b.login(user.email, 'password-123');
    return b;
  }

  before(async () => {
    t = await createTestDatabase();
    // The live routes as a worker mounts them: the JSON a page polls.
    live = new LiveStages({ db: t.db, log: createLogger('silent') });
    server = await startTestServer(t.db, { pageRoutes: [webLiveRoutes({ db: t.db, live })] });
    const te = await userWithToken(t.db, 'teacher');
    teacher = te.user;
    teacherApi = apiClient(server.baseUrl, te.token);
    courseId = (await teacherApi.post('/api/courses', { title: 'Extensions', code: 'EXT-1', timezone: ZONE })).body.id;
    const a = await userWithToken(t.db, 'student', 'alice');
    alice = a.user;
    aliceApi = apiClient(server.baseUrl, a.token);
    bob = (await userWithToken(t.db, 'student', 'bob')).user;
    for (const s of [alice, bob]) await teacherApi.post(`/api/courses/${courseId}/members`, { email: s.email });
    const now = Date.now();
    // Whole minutes: the form's wall times have no seconds to lose.
    stageEnd = Math.ceil((now + DAY) / 60_000) * 60_000;
    stageId = (await teacherApi.post(`/api/courses/${courseId}/stages`, { name: 'Essay', startDate: toIso(now - HOUR), endDate: toIso(stageEnd) })).body.id;
  });

  after(async () => {
    live.close();
    await server.close();
    await t.cleanup();
  });

  test('"Extend for…" gives several students one window in one step, and the list shows it', async () => {
    const b = await signedIn(teacher);
    const form = await b.get(`/stages/${stageId}/overrides/new`);
    assert.equal(form.status, 200);
    assert.match(form.text, new RegExp(`value="user:${alice.id}"`));
    const csrf = Browser.csrfFrom(form.text);
    const theirEnd = utcMsToLocalInput(stageEnd + 2 * DAY, ZONE);

    // A bad date names its field and stores nothing.
    const refused = await b.post(`/stages/${stageId}/overrides/new`, [['_csrf', csrf], ['who', `user:${alice.id}`], ['endDate', 'soon'], ['reason', '']]);
    assert.equal(refused.status, 400);
    assert.match(refused.text, /id="endDate-error"/);
    assert.match(refused.text, /aria-describedby="endDate-error"/);
    const nobody = await b.post(`/stages/${stageId}/overrides/new`, [['_csrf', csrf], ['endDate', theirEnd]]);
    assert.equal(nobody.status, 400);
    assert.match(nobody.text, /id="who-error"/);
    assert.equal((await teacherApi.get(`/api/stages/${stageId}/overrides`)).body.items.length, 0);

    const saved = await b.post(`/stages/${stageId}/overrides/new`, [['_csrf', csrf], ['who', `user:${alice.id}`], ['who', `user:${bob.id}`], ['endDate', theirEnd], ['reason', 'field trip']]);
    assert.equal(saved.status, 303, saved.text);
    const items = (await teacherApi.get(`/api/stages/${stageId}/overrides`)).body.items as { userId: number; endDate: string; reason: string }[];
    assert.deepEqual(items.map((o) => o.userId).sort(), [alice.id, bob.id].sort());
    assert.ok(items.every((o) => o.endDate === toIso(stageEnd + 2 * DAY) && o.reason === 'field trip'));

    const page = await b.get(`/stages/${stageId}`);
    assert.match(page.text, /id="overrides"/);
    assert.equal(page.text.match(/class="override"/g)?.length, 2);
    assert.match(page.text, /field trip/);
    assert.doesNotMatch(page.text, /id="overrides-shortened"/);
  });

  test('moving the stage past an extension keeps the extension and the page warns about it', async () => {
    const b = await signedIn(teacher);
    assert.equal((await teacherApi.patch(`/api/stages/${stageId}`, { endDate: toIso(stageEnd + 5 * DAY) })).status, 200);
    const items = (await teacherApi.get(`/api/stages/${stageId}/overrides`)).body.items as { endDate: string }[];
    assert.ok(items.every((o) => o.endDate === toIso(stageEnd + 2 * DAY)), 'the overrides stay as they were');
    const page = await b.get(`/stages/${stageId}`);
    assert.match(page.text, /id="overrides-shortened"[^>]*>2 extensions end before the stage itself/);
    assert.equal(page.text.match(/\(before the stage(?:'|&#39;)s end\)/g)?.length, 2);
    await teacherApi.patch(`/api/stages/${stageId}`, { endDate: toIso(stageEnd) });
  });

  test('a student sees their own window on the timeline, in the stage list and in the live JSON; another student does not', async () => {
    const own = toIso(stageEnd + 2 * DAY);
    const list = await aliceApi.get(`/api/courses/${courseId}/stages`);
    const row = (list.body.items as { id: number; endDate: string; effective: { endDate: string; source: string } }[]).find((s) => s.id === stageId)!;
    assert.equal(row.endDate, toIso(stageEnd));
    assert.deepEqual([row.effective.endDate, row.effective.source], [own, 'user']);
    assert.equal((await teacherApi.get(`/api/courses/${courseId}/stages`)).body.items[0].effective, undefined, 'a teacher reads the stage');

    const a = await signedIn(alice);
    const timeline = await a.get(`/courses/${courseId}`);
    assert.match(timeline.text, new RegExp(`data-stage-id="${stageId}"[^>]*data-end="${own}"`));
    assert.match(timeline.text, /your extension/);
    const live = JSON.parse((await a.get(`/courses/${courseId}/live.json`)).text) as { items: { id: number; endDate: string }[] };
    assert.equal(live.items.find((s) => s.id === stageId)!.endDate, own);
    // The teacher's page follows the class's window.
    const teacherLive = JSON.parse((await (await signedIn(teacher)).get(`/courses/${courseId}/live.json`)).text) as { items: { id: number; endDate: string }[] };
    assert.equal(teacherLive.items.find((s) => s.id === stageId)!.endDate, toIso(stageEnd));
  });

  test('removing an extension gives the stage’s dates back; a student may not reach the form', async () => {
    const b = await signedIn(teacher);
    const [first] = (await teacherApi.get(`/api/stages/${stageId}/overrides`)).body.items as { id: number }[];
    const page = await b.get(`/stages/${stageId}`);
    const removed = await b.post(`/overrides/${first.id}/delete`, { _csrf: Browser.csrfFrom(page.text) });
    assert.equal(removed.status, 303);
    assert.equal((await teacherApi.get(`/api/stages/${stageId}/overrides`)).body.items.length, 1);
    assert.equal((await (await signedIn(alice)).get(`/stages/${stageId}/overrides/new`)).status, 403);
  });
});
