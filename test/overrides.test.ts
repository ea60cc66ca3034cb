// Deadlines per team and per student (issue 22): the cut-off, overrides and
// their checks, the effective window a student reads and hands in by, and the
// leader's sweep of override boundaries (recorded once, with the override).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import { DAY, HOUR, toIso } from '../src/time.js';
import { transactions } from '../src/db/transactions.js';
import { advanceOverrideStatuses } from '../src/domain/override-lifecycle.js';
import { nextBoundary } from '../src/jobs/stage-status-sweep.js';

describe(`deadlines per team and student on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacher: ApiClient, student: ApiClient, classmate: ApiClient, otherTeacher: ApiClient;
  let courseId: number, studentId: number, classmateId: number, teacherId: number, otherTeamId: number;

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    const te = await userWithToken(t.db, 'teacher');
    const st = await userWithToken(t.db, 'student');
    const cl = await userWithToken(t.db, 'student');
    const ot = await userWithToken(t.db, 'teacher');
    teacher = apiClient(server.baseUrl, te.token);
    student = apiClient(server.baseUrl, st.token);
    classmate = apiClient(server.baseUrl, cl.token);
    otherTeacher = apiClient(server.baseUrl, ot.token);
    [studentId, classmateId, teacherId] = [st.user.id, cl.user.id, te.user.id];
    courseId = (await teacher.post('/api/courses', { title: 'Project', code: 'DL-1' })).body.id;
    await teacher.post(`/api/courses/${courseId}/members`, { email: st.user.email });
    await teacher.post(`/api/courses/${courseId}/members`, { email: cl.user.email });
    const other = (await otherTeacher.post('/api/courses', { title: 'Other', code: 'DL-2' })).body.id;
    otherTeamId = (await otherTeacher.post(`/api/courses/${other}/teams`, { name: 'Elsewhere' })).body.id;
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  const stage = async (start: number, end: number, extra: object = {}) =>
    (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Report', startDate: toIso(start), endDate: toIso(end), ...extra })).body as { id: number };

  test('a cut-off takes work after the end, marked late, and refuses it after', async () => {
    const now = Date.now();
    const bad = await teacher.post(`/api/courses/${courseId}/stages`, { name: 'X', startDate: toIso(now - DAY), endDate: toIso(now), cutoffDate: toIso(now - HOUR) });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details[0].field, 'cutoffDate');
    const late = await stage(now - DAY, now - HOUR, { cutoffDate: toIso(now + HOUR) });
    const read = await student.get(`/api/stages/${late.id}`);
    assert.equal(read.body.status, 'completed', 'the status follows the end, not the cut-off');
    assert.equal(read.body.cutoffDate, toIso(now + HOUR));
    const handedIn = await student.post(`/api/stages/${late.id}/submissions`, { body: 'late but in' });
    assert.equal(handedIn.status, 201);
    assert.equal(handedIn.body.late, true);
    const closed = await stage(now - DAY, now - 2 * HOUR, { cutoffDate: toIso(now - HOUR) });
    assert.equal((await student.post(`/api/stages/${closed.id}/submissions`, { body: 'too late' })).status, 409);
    const onTime = await stage(now - HOUR, now + HOUR, { cutoffDate: toIso(now + DAY) });
    assert.equal((await student.post(`/api/stages/${onTime.id}/submissions`, { body: 'on time' })).body.late, false);
  });

  test('bad overrides are refused, naming the field, and store nothing', async () => {
    const now = Date.now();
    const s = await stage(now - DAY, now + DAY);
    const team = (await teacher.post(`/api/courses/${courseId}/teams`, { name: 'Blue', memberIds: [classmateId] })).body.id as number;
    const post = (body: object) => teacher.post(`/api/stages/${s.id}/overrides`, body);
    const field = async (body: object, status = 400) => {
      const res = await post(body);
      assert.equal(res.status, status, JSON.stringify(res.body));
      return res.body.error.details[0].field as string;
    };
    const end = toIso(now + 3 * DAY);
    assert.equal(await field({ teamId: team, userId: studentId, endDate: end }), 'teamId');
    assert.equal(await field({ endDate: end }), 'teamId');
    assert.equal(await field({ userId: teacherId, endDate: end }), 'userId');
    assert.equal(await field({ teamId: otherTeamId, endDate: end }), 'teamId');
    assert.equal(await field({ userId: studentId, startDate: toIso(now + 2 * DAY), endDate: toIso(now + DAY) }), 'endDate');
    assert.equal(await field({ userId: studentId, endDate: end, cutoffDate: toIso(now + 2 * DAY) }), 'cutoffDate');
    assert.equal(await field({ userId: studentId, endDate: end, reason: 'x'.repeat(10_000) }), 'reason');
    assert.equal((await post({ userId: studentId, endDate: end, reason: 'ill' })).status, 201);
    assert.equal(await field({ userId: studentId, endDate: end }, 409), 'userId');
    const bulk = await teacher.post(`/api/stages/${s.id}/overrides/bulk`, {
      items: [{ teamId: team, endDate: end }, { userId: classmateId, endDate: end }, { userId: teacherId, endDate: end }],
    });
    assert.equal(bulk.status, 400);
    assert.equal(bulk.body.error.details[0].field, 'items.2.userId');
    const list = await teacher.get(`/api/stages/${s.id}/overrides`);
    assert.equal(list.body.items.length, 1, 'nothing of the bad list was stored');
    assert.equal((await student.get(`/api/stages/${s.id}/overrides`)).status, 403);
    assert.equal((await otherTeacher.get(`/api/stages/${s.id}/overrides`)).status, 404);
    const ok = await teacher.post(`/api/stages/${s.id}/overrides/bulk`, { items: [{ teamId: team, endDate: end }, { userId: studentId, endDate: end, reason: 'replaced' }] });
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.body.items.map((o: { reason: string }) => o.reason).sort(), ['', 'replaced']);
  });

  test("a student's extension decides their hand-in and their effective window; the class's does not change", async () => {
    const now = Date.now();
    const s = await stage(now - DAY, now - HOUR);
    const made = await teacher.post(`/api/stages/${s.id}/overrides`, { userId: studentId, endDate: toIso(now + DAY), reason: 'was ill' });
    assert.equal(made.status, 201);
    assert.deepEqual(Object.keys(made.body).sort(), ['createdAt', 'createdBy', 'cutoffDate', 'endDate', 'id', 'reason', 'stageId', 'startDate', 'teamId', 'userId']);
    const mine = await student.get(`/api/stages/${s.id}`);
    assert.equal(mine.body.status, 'completed');
    assert.deepEqual(mine.body.effective, { startDate: toIso(now - DAY), endDate: toIso(now + DAY), cutoffDate: null, status: 'active', source: 'user' });
    assert.equal((await classmate.get(`/api/stages/${s.id}`)).body.effective.source, 'stage');
    assert.equal((await student.post(`/api/stages/${s.id}/submissions`, { body: 'in my window' })).status, 201);
    assert.equal((await classmate.post(`/api/stages/${s.id}/submissions`, { body: 'closed for me' })).status, 409);
    assert.equal((await teacher.delete(`/api/overrides/${made.body.id}`)).status, 204);
    assert.equal((await student.post(`/api/stages/${s.id}/submissions`, { body: 'no longer' })).status, 409);
  });

  test("the leader's sweep records an override's end once, with its id and lag, and the next boundary counts overrides", async () => {
    const now = Date.now();
    const s = await stage(now - DAY, now + 10 * DAY);
    const o = (await teacher.post(`/api/stages/${s.id}/overrides`, { userId: studentId, startDate: toIso(now - 2 * DAY), endDate: toIso(now + HOUR / 2) })).body;
    assert.equal(await nextBoundary(t.db), now + HOUR / 2, 'the override ends before any stage boundary');
    // The end passes (moved into the past by the teacher, as time would).
    await teacher.patch(`/api/overrides/${o.id}`, { endDate: toIso(now - 1000) });
    await t.db('stage_overrides').where({ id: o.id }).update({ status: 'active' });
    const first = await advanceOverrideStatuses(transactions(t.db, null), 'timer');
    const second = await advanceOverrideStatuses(transactions(t.db, null), 'timer');
    assert.equal(first.moved, 1);
    assert.equal(second.moved, 0, 'a second sweep finds nothing due');
    const history = (await teacher.get(`/api/stages/${s.id}/transitions`)).body.items.filter((x: { overrideId: number | null }) => x.overrideId === o.id);
    assert.equal(history.length, 1);
    assert.equal(`${history[0].from}->${history[0].to}`, 'active->completed');
    assert.equal(history[0].cause, 'timer');
    assert.ok(history[0].lagMs >= 1000 && history[0].lagMs < 60_000, `lag ${history[0].lagMs}`);
    assert.equal((await student.get(`/api/stages/${s.id}`)).body.effective.status, 'completed');
  });
});
