import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import { DAY, HOUR, toIso } from '../src/time.js';

const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe(`stages and submissions API on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacher: ApiClient, otherTeacher: ApiClient, student: ApiClient, outsider: ApiClient, admin: ApiClient;
  let courseId: number;

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    const te = await userWithToken(t.db, 'teacher');
    const st = await userWithToken(t.db, 'student');
    teacher = apiClient(server.baseUrl, te.token);
    otherTeacher = apiClient(server.baseUrl, (await userWithToken(t.db, 'teacher')).token);
    outsider = apiClient(server.baseUrl, (await userWithToken(t.db, 'student')).token);
    admin = apiClient(server.baseUrl, (await userWithToken(t.db, 'admin')).token);
    student = apiClient(server.baseUrl, st.token);
    courseId = (await teacher.post('/api/courses', { title: 'Project', code: 'PRJ-1' })).body.id;
    await teacher.post(`/api/courses/${courseId}/members`, { userId: st.user.id });
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  const newStage = (startDate: string, endDate: string, extra: object = {}) =>
    teacher.post(`/api/courses/${courseId}/stages`, { name: 'Stage', description: 'Do it', startDate, endDate, ...extra });

  test('status on create follows from now and the dates', async () => {
    const now = Date.now();
    const pending = await newStage(toIso(now + DAY), toIso(now + 2 * DAY));
    const active = await newStage(toIso(now - HOUR), toIso(now + HOUR));
    const completed = await newStage(toIso(now - 2 * DAY), toIso(now - DAY));
    assert.equal(pending.status, 201);
    assert.equal(pending.body.status, 'pending');
    assert.equal(active.body.status, 'active');
    assert.equal(completed.body.status, 'completed');
    assert.deepEqual(Object.keys(pending.body).sort(), ['courseId', 'description', 'endDate', 'id', 'name', 'startDate', 'status']);
    assert.match(pending.body.startDate, ISO_UTC_MS);

    const history = await teacher.get(`/api/stages/${completed.body.id}/transitions`);
    assert.deepEqual(
      history.body.items.map((x: { from: string; to: string }) => `${x.from}->${x.to}`),
      ['pending->active', 'active->completed'],
      'a stage created in the past shows both steps',
    );
    assert.equal(history.body.items[0].cause, 'edit');
    assert.match(history.body.items[0].at, ISO_UTC_MS);
  });

  test('offsets are normalised to UTC and milliseconds are kept', async () => {
    const res = await newStage('2030-03-01T10:00:00.123+02:00', '2030-03-02T00:00:00Z');
    assert.equal(res.status, 201);
    assert.equal(res.body.startDate, '2030-03-01T08:00:00.123Z');
    assert.equal((await teacher.get(`/api/stages/${res.body.id}`)).body.startDate, '2030-03-01T08:00:00.123Z');
  });

  test('a date without an offset, a non-date, a missing field and end before start are 400s naming the field', async () => {
    const noOffset = await newStage('2030-03-01T10:00:00', '2030-03-02T00:00:00Z');
    assert.equal(noOffset.status, 400);
    assert.equal(noOffset.body.error.details[0].field, 'startDate');

    const garbage = await newStage('2030-03-01T10:00:00Z', 'next tuesday');
    assert.equal(garbage.body.error.details[0].field, 'endDate');

    const missing = await teacher.post(`/api/courses/${courseId}/stages`, { startDate: '2030-03-01T10:00:00Z', endDate: '2030-03-02T10:00:00Z' });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body.error.details, [{ field: 'name', message: 'is required' }]);

    const backwards = await newStage('2030-03-02T10:00:00Z', '2030-03-01T10:00:00Z');
    assert.equal(backwards.status, 400);
    assert.deepEqual(backwards.body.error.details, [{ field: 'endDate', message: 'must be after startDate' }]);
    const equal = await newStage('2030-03-02T10:00:00Z', '2030-03-02T10:00:00Z');
    assert.equal(equal.body.error.details[0].field, 'endDate');
  });

  test('editing dates recomputes the status and records the change', async () => {
    const now = Date.now();
    const stage = (await newStage(toIso(now + DAY), toIso(now + 2 * DAY))).body;
    const opened = await teacher.patch(`/api/stages/${stage.id}`, { startDate: toIso(now - HOUR) });
    assert.equal(opened.status, 200);
    assert.equal(opened.body.status, 'active');
    assert.equal(opened.body.endDate, stage.endDate, 'fields not sent are kept');

    const closed = await teacher.patch(`/api/stages/${stage.id}`, { endDate: toIso(now - 1000) });
    assert.equal(closed.body.status, 'completed');
    const reopened = await teacher.patch(`/api/stages/${stage.id}`, { endDate: toIso(now + DAY) });
    assert.equal(reopened.body.status, 'active');

    const history = (await teacher.get(`/api/stages/${stage.id}/transitions`)).body.items;
    assert.deepEqual(history.map((x: { from: string; to: string }) => `${x.from}->${x.to}`), ['pending->active', 'active->completed', 'completed->active']);

    const renamed = await teacher.patch(`/api/stages/${stage.id}`, { name: 'Renamed' });
    assert.equal(renamed.body.name, 'Renamed');
    assert.equal((await teacher.get(`/api/stages/${stage.id}/transitions`)).body.items.length, 3, 'a rename is no transition');
  });

  test('an edit that puts end before start is refused and changes nothing', async () => {
    const now = Date.now();
    const stage = (await newStage(toIso(now + DAY), toIso(now + 2 * DAY))).body;
    const res = await teacher.patch(`/api/stages/${stage.id}`, { endDate: toIso(now), name: 'Should not stick' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.details[0].field, 'endDate');
    assert.deepEqual((await teacher.get(`/api/stages/${stage.id}`)).body, stage);
  });

  test('list, read and delete stages; roles and unknown ids', async () => {
    const stage = (await newStage('2031-01-01T00:00:00Z', '2031-02-01T00:00:00Z')).body;
    const list = await student.get(`/api/courses/${courseId}/stages`);
    assert.equal(list.status, 200);
    assert.ok(list.body.items.some((s: { id: number }) => s.id === stage.id));
    const starts = list.body.items.map((s: { startDate: string }) => s.startDate);
    assert.deepEqual(starts, [...starts].sort(), 'ordered by start');

    assert.equal((await student.patch(`/api/stages/${stage.id}`, { name: 'x' })).status, 403);
    assert.equal((await student.post(`/api/courses/${courseId}/stages`, { name: 'x', startDate: '2031-01-01T00:00:00Z', endDate: '2031-02-01T00:00:00Z' })).status, 403);
    assert.equal((await otherTeacher.get(`/api/stages/${stage.id}`)).status, 404);
    assert.equal((await outsider.get(`/api/courses/${courseId}/stages`)).status, 404);
    assert.equal((await otherTeacher.post(`/api/courses/${courseId}/stages`, { name: 'x', startDate: '2031-01-01T00:00:00Z', endDate: '2031-02-01T00:00:00Z' })).status, 404);
    assert.equal((await teacher.get('/api/stages/999999')).status, 404);
    assert.equal((await teacher.get('/api/stages/999999/transitions')).status, 404);
    assert.equal((await teacher.post('/api/courses/999999/stages', { name: 'x', startDate: '2031-01-01T00:00:00Z', endDate: '2031-02-01T00:00:00Z' })).status, 404);

    assert.equal((await admin.delete(`/api/stages/${stage.id}`)).status, 204);
    assert.equal((await teacher.get(`/api/stages/${stage.id}`)).status, 404);
  });

  test('a submission is taken only while the stage is active', async () => {
    const now = Date.now();
    const active = (await newStage(toIso(now - HOUR), toIso(now + HOUR))).body;
    const pending = (await newStage(toIso(now + HOUR), toIso(now + DAY))).body;
    const completed = (await newStage(toIso(now - DAY), toIso(now - HOUR))).body;

    const ok = await student.post(`/api/stages/${active.id}/submissions`, { body: 'My work', link: 'https://example.com/repo' });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.stageId, active.id);
    assert.equal(ok.body.body, 'My work');
    assert.match(ok.body.createdAt, ISO_UTC_MS);

    const early = await student.post(`/api/stages/${pending.id}/submissions`, { body: 'Too early' });
    assert.equal(early.status, 409);
    assert.match(early.body.error.message, /is pending/);
    const late = await student.post(`/api/stages/${completed.id}/submissions`, { body: 'Too late' });
    assert.equal(late.status, 409);
    assert.match(late.body.error.message, /is completed/);

    assert.equal((await student.get(`/api/stages/${pending.id}/submissions`)).body.items.length, 0, 'refused work is not stored');
    assert.equal((await teacher.get(`/api/stages/${active.id}/submissions`)).body.items.length, 1);
  });

  test('a submission needs text or a link, from a student of the course', async () => {
    const now = Date.now();
    const active = (await newStage(toIso(now - HOUR), toIso(now + HOUR))).body;
    const empty = await student.post(`/api/stages/${active.id}/submissions`, {});
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error.details[0].field, 'body');
    const badLink = await student.post(`/api/stages/${active.id}/submissions`, { link: 'javascript:alert(1)' });
    assert.equal(badLink.status, 400);
    assert.equal(badLink.body.error.details[0].field, 'link');
    assert.equal((await teacher.post(`/api/stages/${active.id}/submissions`, { body: 'x' })).status, 403);
    assert.equal((await outsider.post(`/api/stages/${active.id}/submissions`, { body: 'x' })).status, 404);
  });

  test('students see only their own submissions, teachers all', async () => {
    const now = Date.now();
    const active = (await newStage(toIso(now - HOUR), toIso(now + HOUR))).body;
    const second = await userWithToken(t.db, 'student');
    await teacher.post(`/api/courses/${courseId}/members`, { userId: second.user.id });
    const other = apiClient(server.baseUrl, second.token);
    await student.post(`/api/stages/${active.id}/submissions`, { body: 'mine' });
    await other.post(`/api/stages/${active.id}/submissions`, { body: 'theirs' });
    assert.deepEqual((await student.get(`/api/stages/${active.id}/submissions`)).body.items.map((s: { body: string }) => s.body), ['mine']);
    assert.equal((await teacher.get(`/api/stages/${active.id}/submissions`)).body.items.length, 2);
  });

  test('deleting a course deletes its stages', async () => {
    const course = (await teacher.post('/api/courses', { title: 'Gone', code: 'GONE-1' })).body;
    const stage = (await teacher.post(`/api/courses/${course.id}/stages`, { name: 's', startDate: '2031-01-01T00:00:00Z', endDate: '2031-02-01T00:00:00Z' })).body;
    assert.equal((await teacher.delete(`/api/courses/${course.id}`)).status, 204);
    assert.equal((await admin.get(`/api/stages/${stage.id}`)).status, 404);
  });
});
