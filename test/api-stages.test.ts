import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, courseOfTeacherWithActiveStage, startTestServer, userWithToken, type ApiClient, type ApiResponse, type TestServer } from './helpers/http.js';
import { DAY, HOUR, sleep, toIso } from '../src/time.js';
import { describeError } from '../src/http/errors.js';
import { dbNowMs } from '../src/db/clock.js';
import { createSubmission, getStageToSubmitTo } from '../src/domain/submissions.js';
import type { Actor } from '../src/domain/users.js';
import { ConflictError } from '../src/errors.js';

const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe(`stages and submissions API on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacher: ApiClient, otherTeacher: ApiClient, student: ApiClient, outsider: ApiClient, admin: ApiClient;
  let courseId: number;
  let studentEmail: string;

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
    studentEmail = st.user.email;
    courseId = (await teacher.post('/api/courses', { title: 'Project', code: 'PRJ-1' })).body.id;
    await teacher.post(`/api/courses/${courseId}/members`, { email: st.user.email });
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
    assert.deepEqual(Object.keys(pending.body).sort(), ['allowedExtensions', 'courseId', 'cutoffDate', 'description', 'endDate', 'id', 'maxFileBytes', 'mode', 'name', 'reminders', 'startDate', 'status']);
    assert.match(pending.body.startDate, ISO_UTC_MS);

    const history = await teacher.get(`/api/stages/${completed.body.id}/transitions`);
    assert.deepEqual(
      history.body.items.map((x: { from: string; to: string }) => `${x.from}->${x.to}`),
      ['pending->active', 'active->completed'],
      'a stage created in the past shows both steps',
    );
    assert.equal(history.body.items[0].cause, 'created', 'the first entry says the stage was created so');
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

  test('a submission is judged by when it arrived, not by when its transaction ran: on the database clock, never earlier than its arrival', async () => {
    const dbNow = await dbNowMs(t.db);
    // The stage and the caller are read before its end, with room for a slow machine.
    const stage = (await newStage(toIso(dbNow - HOUR), toIso(dbNow + 1500))).body;
    const actor = (await student.get('/api/me')).body as Actor;
    const arrived = performance.now();
    // It arrived before the end; then, say, it waited for the lock until after the end.
    await sleep(Math.max(0, Date.parse(stage.endDate) - Date.now()) + 200);
    const target = await getStageToSubmitTo(t.db, actor, stage.id);
    const onTime = await createSubmission(t.db, actor, target, { body: 'just in time' }, { receivedAt: arrived });
    assert.ok(onTime.createdAt < Date.parse(stage.endDate), 'taken, with its arrival as created_at');
    assert.ok(onTime.createdAt >= dbNow, 'its arrival on the database clock: not earlier than the database was before it');

    const late = await createSubmission(t.db, actor, target, { body: 'late' }, { receivedAt: performance.now() }).catch((err: unknown) => err);
    assert.ok(late instanceof ConflictError, String(late));
    const details = late.details as { status: string; receivedAt: string };
    assert.equal(details.status, 'completed');
    assert.ok(Date.parse(details.receivedAt) >= Date.parse(stage.endDate), 'the refusal names the arrival it judged');
    const refused = await student.post(`/api/stages/${stage.id}/submissions`, { body: 'late too' });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.details.receivedAt, ISO_UTC_MS);
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
    await teacher.post(`/api/courses/${courseId}/members`, { email: second.user.email });
    const other = apiClient(server.baseUrl, second.token);
    await student.post(`/api/stages/${active.id}/submissions`, { body: 'mine' });
    await other.post(`/api/stages/${active.id}/submissions`, { body: 'theirs' });
    assert.deepEqual((await student.get(`/api/stages/${active.id}/submissions`)).body.items.map((s: { body: string }) => s.body), ['mine']);
    assert.equal((await teacher.get(`/api/stages/${active.id}/submissions`)).body.items.length, 2);
  });

  const courseWithActiveStage = (code: string) => courseOfTeacherWithActiveStage(teacher, studentEmail, code);

  test("a stage with students' submissions is not deleted (409) unless an admin forces it", async () => {
    const { stage } = await courseWithActiveStage('KEEP-2');
    assert.equal((await student.post(`/api/stages/${stage.id}/submissions`, { body: 'precious' })).status, 201);
    const refused = await teacher.delete(`/api/stages/${stage.id}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /1 submission/);
    assert.equal((await teacher.delete(`/api/stages/${stage.id}?force=true`)).status, 403);
    assert.equal((await teacher.get(`/api/stages/${stage.id}`)).status, 200);
    assert.equal((await admin.delete(`/api/stages/${stage.id}?force=true`)).status, 204);
    assert.equal((await teacher.get(`/api/stages/${stage.id}`)).status, 404);
  });

  test('a student keeps at most 20 submissions per stage: the 21st is a 409, others are not affected', async () => {
    const { course, stage } = await courseWithActiveStage('CAP-1');
    for (let i = 1; i <= 20; i++) assert.equal((await student.post(`/api/stages/${stage.id}/submissions`, { body: `try ${i}` })).status, 201, `submission ${i}`);
    const refused = await student.post(`/api/stages/${stage.id}/submissions`, { body: 'try 21' });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /20 submissions for stage "Open", the most a student may/);
    const mine = (await student.get(`/api/stages/${stage.id}/submissions?limit=200`)).body.items;
    assert.equal(mine.length, 20);
    assert.equal(mine[0].body, 'try 20', 'none of the earlier ones was dropped');
    assert.equal(mine[19].body, 'try 1');

    const other = await userWithToken(t.db, 'student');
    await teacher.post(`/api/courses/${course.id}/members`, { email: other.user.email });
    assert.equal((await apiClient(server.baseUrl, other.token).post(`/api/stages/${stage.id}/submissions`, { body: 'mine' })).status, 201);
    const stage2 = (await teacher.post(`/api/courses/${course.id}/stages`, { name: 'Next', startDate: toIso(Date.now() - HOUR), endDate: toIso(Date.now() + DAY) })).body;
    assert.equal((await student.post(`/api/stages/${stage2.id}/submissions`, { body: 'next stage' })).status, 201, 'the cap is per stage');
  });

  test('a 100,000-character text of two-byte characters is stored whole', async () => {
    const { stage } = await courseWithActiveStage('BIG-1');
    const body = 'é'.repeat(100_000);
    const res = await student.post(`/api/stages/${stage.id}/submissions`, { body });
    assert.equal(res.status, 201, JSON.stringify(res.body).slice(0, 300));
    const stored = await t.db('submissions').where({ id: res.body.id }).first();
    assert.equal(stored.body.length, 100_000);
    assert.equal(stored.body, body);
    assert.equal((await teacher.get(`/api/stages/${stage.id}/submissions`)).body.items[0].body, body);
    const tooLong = await student.post(`/api/stages/${stage.id}/submissions`, { body: 'é'.repeat(100_001) });
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.error.details[0].field, 'body');
  });

  test("the database's 'data too long' is a 400 naming the field", async () => {
    // What MySQL/MariaDB answer in strict mode; SQLite does not check lengths.
    const driverError = (code: string, sqlMessage: string) => Object.assign(new Error(sqlMessage), { code, sqlMessage });
    assert.deepEqual(describeError(driverError('ER_DATA_TOO_LONG', "Data too long for column 'body' at row 1")), {
      status: 400,
      code: 'validation_failed',
      message: 'body: is too long to store',
      details: [{ field: 'body', message: 'is too long to store' }],
    });
    const mariadbCut = driverError('ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', "Incorrect string value: '\\xC3\\xA9' for column `cw`.`submissions`.`body` at row 1");
    assert.deepEqual(describeError(mariadbCut).details, [{ field: 'body', message: 'is too long or has characters that cannot be stored' }]);
    const mysqlCut = driverError('ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', "Incorrect string value: '\\xF0\\x9F' for column 'start_date' at row 1");
    assert.deepEqual(describeError(mysqlCut).details, [{ field: 'startDate', message: 'is too long or has characters that cannot be stored' }]);
    if (t.dialect !== 'mysql') return;

    // The server's own errors: a short column, and a TEXT (65,535 bytes) cut inside a two-byte character.
    const refused = (write: Promise<unknown>) => write.then(() => assert.fail('the server took a value longer than the column'), (e: unknown) => e);
    const tooLong = describeError(await refused(t.db('courses').where({ id: courseId }).update({ timezone: 'x'.repeat(65) })));
    assert.equal(tooLong.status, 400);
    assert.deepEqual(tooLong.details, [{ field: 'timezone', message: 'is too long to store' }]);
    const cut = describeError(await refused(t.db('stages').where({ course_id: courseId }).update({ description: 'é'.repeat(40_000) })));
    assert.equal(cut.status, 400);
    assert.equal((cut.details as { field: string }[])[0].field, 'description');
  });

  test('stages, transitions and submissions are paged with a cursor in a stable order', async () => {
    const course = (await teacher.post('/api/courses', { title: 'Paging', code: 'PAGE-S' })).body;
    await teacher.post(`/api/courses/${course.id}/members`, { email: studentEmail });
    const now = Date.now();
    // Two pairs share a start: they come by id.
    const starts = [now + 5 * DAY, now - HOUR, now + 2 * DAY, now - HOUR, now + 5 * DAY];
    const ids: number[] = [];
    for (const [i, start] of starts.entries()) {
      ids.push((await teacher.post(`/api/courses/${course.id}/stages`, { name: `s${i}`, startDate: toIso(start), endDate: toIso(start + 2 * DAY) })).body.id);
    }
    const expected = ids.map((id, i) => ({ id, start: starts[i] })).sort((a, b) => a.start - b.start || a.id - b.id).map((x) => x.id);
    async function all(path: string, limit: number) {
      const items: { id: number }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: ApiResponse = await teacher.get(`${path}?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(Object.keys(res.body).sort(), ['items', 'nextCursor']);
        assert.ok(res.body.items.length <= limit);
        items.push(...res.body.items);
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor);
      return { items, pages };
    }
    const stages = await all(`/api/courses/${course.id}/stages`, 2);
    assert.deepEqual(stages.items.map((s) => s.id), expected, 'by start, then id');
    assert.equal(stages.pages, 3);
    const first = await teacher.get(`/api/courses/${course.id}/stages`);
    assert.equal(first.body.items.length, 5);
    assert.equal(first.body.nextCursor, null);

    const [active] = (await teacher.get(`/api/courses/${course.id}/stages?limit=1`)).body.items;
    for (const end of [now - 1000, now + DAY, now - 1000]) await teacher.patch(`/api/stages/${active.id}`, { endDate: toIso(end) });
    const history = await all(`/api/stages/${active.id}/transitions`, 1);
    assert.deepEqual(
      history.items.map((x) => `${(x as unknown as { from: string }).from}`),
      ['pending', 'active', 'completed', 'active'],
      'oldest first',
    );
    assert.deepEqual(Object.keys(history.items[0]).sort(), ['at', 'cause', 'from', 'lagMs', 'overrideId', 'to']);

    await teacher.patch(`/api/stages/${active.id}`, { endDate: toIso(now + DAY) });
    for (let i = 0; i < 5; i++) await student.post(`/api/stages/${active.id}/submissions`, { body: `n${i}` });
    const submissions = await all(`/api/stages/${active.id}/submissions`, 2);
    assert.deepEqual(submissions.items.map((x) => (x as unknown as { body: string }).body), ['n4', 'n3', 'n2', 'n1', 'n0'], 'newest first');

    for (const bad of ['abc', '1', '1.2.3', '1.x']) {
      const res = await teacher.get(`/api/courses/${course.id}/stages?cursor=${bad}`);
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error.details[0].field, 'cursor');
    }
    assert.equal((await teacher.get(`/api/stages/${active.id}/transitions?limit=500`)).body.error.details[0].field, 'limit');
  });

  test('unknown fields are 400s naming them; who may call is decided first', async () => {
    const now = Date.now();
    const unknownStage = await newStage(toIso(now + DAY), toIso(now + 2 * DAY), { status: 'active' });
    assert.equal(unknownStage.status, 400);
    assert.deepEqual(unknownStage.body.error.details, [{ field: 'status', message: 'is not a known field' }]);
    const stage = (await newStage(toIso(now - HOUR), toIso(now + DAY))).body;
    const patched = await teacher.patch(`/api/stages/${stage.id}`, { name: 'x', courseId: 1 });
    assert.equal(patched.status, 400);
    assert.equal(patched.body.error.details[0].field, 'courseId');
    const submitted = await student.post(`/api/stages/${stage.id}/submissions`, { body: 'x', grade: 'A' });
    assert.equal(submitted.status, 400);
    assert.equal(submitted.body.error.details[0].field, 'grade');
    assert.equal((await student.get(`/api/stages/${stage.id}/submissions`)).body.items.length, 0, 'nothing was stored');

    const junk = { name: 42, junk: true };
    assert.equal((await student.patch(`/api/stages/${stage.id}`, junk)).status, 403);
    assert.equal((await student.call('DELETE', `/api/stages/${stage.id}`)).status, 403);
    assert.equal((await teacher.post(`/api/stages/${stage.id}/submissions`, junk)).status, 403, 'teachers hand in nothing, whatever the body');
    assert.equal((await outsider.post(`/api/stages/${stage.id}/submissions`, junk)).status, 404);
    assert.equal((await otherTeacher.patch(`/api/stages/${stage.id}`, junk)).status, 404);
    assert.equal((await student.post(`/api/stages/${stage.id}/submissions`, junk)).status, 400, 'a student of the course gets the 400');
  });
  test('mode, maxFileBytes and allowedExtensions: defaults, normalised input, the UPLOAD_MAX_BYTES ceiling', async () => {
    const now = Date.now();
    const plain = await newStage(toIso(now + DAY), toIso(now + 2 * DAY));
    assert.equal(plain.body.mode, 'individual');
    assert.equal(plain.body.maxFileBytes, 26_214_400, 'no limit of its own: the ceiling');
    assert.deepEqual(plain.body.allowedExtensions, []);
    const team = await newStage(toIso(now + DAY), toIso(now + 2 * DAY), { mode: 'team', maxFileBytes: 1000, allowedExtensions: ['PDF', '.Zip', '.pdf'] });
    assert.equal(team.status, 201);
    assert.deepEqual([team.body.mode, team.body.maxFileBytes, team.body.allowedExtensions], ['team', 1000, ['.pdf', '.zip']]);
    const above = await newStage(toIso(now + DAY), toIso(now + 2 * DAY), { maxFileBytes: 26_214_401 });
    assert.equal(above.status, 400);
    assert.equal(above.body.error.details[0].field, 'maxFileBytes');
    const badMode = await teacher.patch(`/api/stages/${team.body.id}`, { mode: 'pairs' });
    assert.equal(badMode.body.error.details[0].field, 'mode');
    const badExtension = await teacher.patch(`/api/stages/${team.body.id}`, { allowedExtensions: ['../x'] });
    assert.equal(badExtension.body.error.details[0].field, 'allowedExtensions.0');
    const back = await teacher.patch(`/api/stages/${team.body.id}`, { maxFileBytes: null, mode: 'individual' });
    assert.deepEqual([back.body.mode, back.body.maxFileBytes], ['individual', 26_214_400]);
    assert.equal((await teacher.get(`/api/stages/${team.body.id}`)).body.mode, 'individual', 'kept');
  });
});
