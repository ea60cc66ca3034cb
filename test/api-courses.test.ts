import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, courseOfTeacherWithActiveStage, startTestServer, userWithToken, type ApiClient, type ApiResponse, type TestServer } from './helpers/http.js';

describe(`courses API on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let admin: ApiClient, teacher: ApiClient, otherTeacher: ApiClient, student: ApiClient, anonymous: ApiClient;
  let teacherId: number, otherTeacherId: number, studentId: number;
  let adminEmail: string, teacherEmail: string, studentEmail: string;

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    const a = await userWithToken(t.db, 'admin');
    const te = await userWithToken(t.db, 'teacher');
    const ot = await userWithToken(t.db, 'teacher');
    const st = await userWithToken(t.db, 'student');
    [teacherId, otherTeacherId, studentId] = [te.user.id, ot.user.id, st.user.id];
    [adminEmail, teacherEmail, studentEmail] = [a.user.email, te.user.email, st.user.email];
    admin = apiClient(server.baseUrl, a.token);
    teacher = apiClient(server.baseUrl, te.token);
    otherTeacher = apiClient(server.baseUrl, ot.token);
    student = apiClient(server.baseUrl, st.token);
    anonymous = apiClient(server.baseUrl);
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  test('a teacher creates, reads, renames and deletes a course', async () => {
    const created = await teacher.post('/api/courses', { title: 'Databases', code: 'DB-1', timezone: 'Europe/Berlin' });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.body).sort(), ['code', 'id', 'teacherId', 'timezone', 'title']);
    assert.equal(created.body.teacherId, teacherId);
    assert.equal(created.headers.get('location'), `/api/courses/${created.body.id}`);

    const read = await teacher.get(`/api/courses/${created.body.id}`);
    assert.deepEqual(read.body, created.body);

    const renamed = await teacher.patch(`/api/courses/${created.body.id}`, { title: 'Databases II' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.title, 'Databases II');
    assert.equal(renamed.body.timezone, 'Europe/Berlin');

    assert.equal((await teacher.delete(`/api/courses/${created.body.id}`)).status, 204);
    assert.equal((await teacher.get(`/api/courses/${created.body.id}`)).status, 404);
  });

  test('timezone defaults to UTC', async () => {
    const res = await teacher.post('/api/courses', { title: 'Algebra', code: 'ALG-1' });
    assert.equal(res.status, 201);
    assert.equal(res.body.timezone, 'UTC');
  });

  test('bad input gets a 400 naming the field, and nothing is stored', async () => {
    const before = (await admin.get('/api/courses?limit=200')).body.items.length;
    const missing = await teacher.post('/api/courses', { code: 'X-1' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, 'validation_failed');
    assert.deepEqual(missing.body.error.details, [{ field: 'title', message: 'is required' }]);

    const badZone = await teacher.post('/api/courses', { title: 'T', code: 'X-2', timezone: 'Mars/Olympus' });
    assert.equal(badZone.status, 400);
    assert.equal(badZone.body.error.details[0].field, 'timezone');

    const notJson = await teacher.call('POST', '/api/courses', '{"title": ', { 'content-type': 'application/json' });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.details[0].field, 'body');
    assert.equal((await admin.get('/api/courses?limit=200')).body.items.length, before);
  });

  test('a duplicate course code is a 409 naming code', async () => {
    assert.equal((await teacher.post('/api/courses', { title: 'A', code: 'DUP-1' })).status, 201);
    const dup = await otherTeacher.post('/api/courses', { title: 'B', code: 'DUP-1' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.details[0].field, 'code');
  });

  test('students cannot create courses; other teachers cannot see or change them', async () => {
    assert.equal((await student.post('/api/courses', { title: 'S', code: 'S-1' })).status, 403);
    const course = (await teacher.post('/api/courses', { title: 'Private', code: 'PRIV-1' })).body;
    assert.equal((await otherTeacher.get(`/api/courses/${course.id}`)).status, 404);
    assert.equal((await otherTeacher.patch(`/api/courses/${course.id}`, { title: 'Mine' })).status, 404);
    assert.equal((await student.get(`/api/courses/${course.id}`)).status, 404);
    assert.equal((await admin.get(`/api/courses/${course.id}`)).status, 200);
  });

  test('members: a student sees a course once added, and cannot manage it', async () => {
    const course = (await teacher.post('/api/courses', { title: 'Members', code: 'MEM-1' })).body;
    const added = await teacher.post(`/api/courses/${course.id}/members`, { email: studentEmail });
    assert.equal(added.status, 201);
    assert.deepEqual(added.body, { id: studentId, name: 'student', email: studentEmail }, 'the student, and nothing more of the user');
    assert.equal((await teacher.post(`/api/courses/${course.id}/members`, { email: studentEmail.toUpperCase() })).status, 201, 'adding twice is harmless');
    const list = await teacher.get(`/api/courses/${course.id}/members`);
    assert.deepEqual(list.body, { items: [{ id: studentId, name: 'student', email: studentEmail }], nextCursor: null });

    assert.equal((await student.get(`/api/courses/${course.id}`)).status, 200);
    assert.ok((await student.get('/api/courses')).body.items.some((c: { id: number }) => c.id === course.id));
    assert.equal((await student.patch(`/api/courses/${course.id}`, { title: 'Hacked' })).status, 403);
    assert.equal((await student.delete(`/api/courses/${course.id}`)).status, 403);
    assert.equal((await student.get(`/api/courses/${course.id}/members`)).status, 403);

    assert.equal((await student.post(`/api/courses/${course.id}/members`, { junk: true })).status, 403, 'permission before the body');
    assert.equal((await otherTeacher.post(`/api/courses/${course.id}/members`, { email: studentEmail })).status, 404);

    assert.equal((await teacher.delete(`/api/courses/${course.id}/members/${studentId}`)).status, 204);
    assert.equal((await student.get(`/api/courses/${course.id}`)).status, 404);
  });

  test('members are added by email, students only; unknown emails and other roles are 400s naming email', async () => {
    const course = (await teacher.post('/api/courses', { title: 'Members 2', code: 'MEM-2' })).body;
    const expectField = async (body: unknown, field: string, message: RegExp) => {
      const res = await teacher.post(`/api/courses/${course.id}/members`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const problem = (res.body.error.details as { field: string; message: string }[]).find((d) => d.field === field);
      assert.ok(problem, `${JSON.stringify(body)}: ${JSON.stringify(res.body.error.details)}`);
      assert.match(problem.message, message);
    };
    // One answer for nobody, a teacher and an admin: the form tells no one who is signed up, or as what (issue 24).
    const answers = [];
    for (const email of ['nobody@example.test', teacherEmail, adminEmail]) {
      const res = await teacher.post(`/api/courses/${course.id}/members`, { email });
      assert.equal(res.status, 400, email);
      answers.push(JSON.stringify(res.body));
    }
    assert.equal(new Set(answers).size, 1, answers.join('\n'));
    await expectField({ email: adminEmail }, 'email', /must belong to a student who has signed up/);
    await expectField({ email: 'not an email' }, 'email', /must be an email address/);
    await expectField({}, 'email', /is required/);
    await expectField({ userId: studentId }, 'userId', /is not a known field/);
    await expectField({ email: studentEmail, role: 'admin' }, 'role', /is not a known field/);
    assert.deepEqual((await teacher.get(`/api/courses/${course.id}/members`)).body.items, [], 'nobody was added');
  });

  test('the members list is paged by id', async () => {
    const course = (await teacher.post('/api/courses', { title: 'Big class', code: 'MEM-3' })).body;
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { user } = await userWithToken(t.db, 'student', `pupil${i}`);
      ids.push(user.id);
      assert.equal((await teacher.post(`/api/courses/${course.id}/members`, { email: user.email })).status, 201);
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: ApiResponse = await teacher.get(`/api/courses/${course.id}/members?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200);
      assert.ok(page.body.items.length <= 2);
      for (const m of page.body.items) assert.deepEqual(Object.keys(m).sort(), ['email', 'id', 'name']);
      seen.push(...page.body.items.map((m: { id: number }) => m.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, ids);
    assert.equal((await teacher.get(`/api/courses/${course.id}/members`)).body.items.length, 5, 'default limit 50');
    const badCursor = await teacher.get(`/api/courses/${course.id}/members?cursor=abc`);
    assert.equal(badCursor.status, 400);
    assert.equal(badCursor.body.error.details[0].field, 'cursor');
    const tooMany = await teacher.get(`/api/courses/${course.id}/members?limit=201`);
    assert.equal(tooMany.body.error.details[0].field, 'limit');
  });

  test('unknown fields in a body are 400s naming them, and nothing changes', async () => {
    const created = await teacher.post('/api/courses', { title: 'Strict', code: 'STRICT-1', colour: 'red' });
    assert.equal(created.status, 400);
    assert.deepEqual(created.body.error.details, [{ field: 'colour', message: 'is not a known field' }]);
    assert.ok(!(await admin.get('/api/courses?limit=200')).body.items.some((c: { code: string }) => c.code === 'STRICT-1'));

    const course = (await teacher.post('/api/courses', { title: 'Strict', code: 'STRICT-2' })).body;
    const patched = await teacher.patch(`/api/courses/${course.id}`, { title: 'Renamed', teacher_id: otherTeacherId });
    assert.equal(patched.status, 400);
    assert.equal(patched.body.error.details[0].field, 'teacher_id');
    assert.equal((await teacher.get(`/api/courses/${course.id}`)).body.title, 'Strict');
  });

  test('who may call is decided before the body is validated: 403 (or 404), not 400', async () => {
    const junk = { title: '', code: 42, junk: true };
    const created = await student.post('/api/courses', junk);
    assert.equal(created.status, 403);
    assert.equal(created.body.error.code, 'forbidden');
    assert.equal((await student.call('POST', '/api/courses', '[1,2]', { 'content-type': 'application/json' })).status, 403);

    const course = (await teacher.post('/api/courses', { title: 'Guarded', code: 'GUARD-1' })).body;
    await teacher.post(`/api/courses/${course.id}/members`, { email: studentEmail });
    assert.equal((await student.patch(`/api/courses/${course.id}`, junk)).status, 403);
    assert.equal((await student.post(`/api/courses/${course.id}/stages`, junk)).status, 403);
    assert.equal((await student.post(`/api/courses/${course.id}/members`, junk)).status, 403);
    assert.equal((await otherTeacher.patch(`/api/courses/${course.id}`, junk)).status, 404);
    assert.equal((await otherTeacher.post(`/api/courses/${course.id}/stages`, junk)).status, 404);
    assert.equal((await teacher.patch(`/api/courses/${course.id}`, junk)).status, 400, 'the manager gets the 400');
  });

  test('a body that cannot be read (not JSON, too large) is judged after who may call: 401, 403, then 400 or 413', async () => {
    const course = (await teacher.post('/api/courses', { title: 'Unreadable', code: 'UNREAD-1' })).body;
    await teacher.post(`/api/courses/${course.id}/members`, { email: studentEmail });
    const notJson = '{"title": ';
    const tooLarge = JSON.stringify({ title: 'x'.repeat(200 * 1024) });
    const json = { 'content-type': 'application/json' };
    for (const body of [notJson, tooLarge]) {
      assert.equal((await anonymous.call('PATCH', `/api/courses/${course.id}`, body, json)).status, 401);
      assert.equal((await anonymous.call('PATCH', `/api/courses/${course.id}`, body, { ...json, authorization: 'Bearer nope' })).status, 401);
      assert.equal((await student.call('PATCH', `/api/courses/${course.id}`, body, json)).status, 403);
      assert.equal((await student.call('POST', '/api/courses', body, json)).status, 403);
    }
    const broken = await teacher.call('PATCH', `/api/courses/${course.id}`, notJson, json);
    assert.equal(broken.status, 400);
    assert.deepEqual(broken.body.error.details, [{ field: 'body', message: 'is not valid JSON' }]);
    assert.equal((await teacher.call('PATCH', `/api/courses/${course.id}`, tooLarge, json)).status, 413);
    assert.equal((await teacher.get(`/api/courses/${course.id}`)).body.title, 'Unreadable', 'nothing stored');
  });

  test('only an admin assigns a course to another teacher', async () => {
    assert.equal((await teacher.post('/api/courses', { title: 'T', code: 'OWN-1', teacherId: otherTeacherId })).status, 403);
    const res = await admin.post('/api/courses', { title: 'T', code: 'OWN-2', teacherId: otherTeacherId });
    assert.equal(res.status, 201);
    assert.equal(res.body.teacherId, otherTeacherId);
    const notATeacher = await admin.post('/api/courses', { title: 'T', code: 'OWN-3', teacherId: studentId });
    assert.equal(notATeacher.status, 400);
    assert.equal(notATeacher.body.error.details[0].field, 'teacherId');
  });

  test('the course list is paged with a cursor', async () => {
    for (let i = 0; i < 5; i++) await otherTeacher.post('/api/courses', { title: `Paged ${i}`, code: `PAGE-${i}` });
    const first = await otherTeacher.get('/api/courses?limit=2');
    assert.equal(first.body.items.length, 2);
    assert.equal(typeof first.body.nextCursor, 'string');
    const seen = [...first.body.items];
    let cursor = first.body.nextCursor;
    while (cursor) {
      const page = await otherTeacher.get(`/api/courses?limit=2&cursor=${cursor}`);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    }
    const ids = seen.map((c: { id: number }) => c.id);
    assert.equal(new Set(ids).size, ids.length, 'no course twice');
    assert.ok(seen.filter((c: { code: string }) => c.code.startsWith('PAGE-')).length === 5);
    const bad = await otherTeacher.get('/api/courses?limit=0');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details[0].field, 'limit');
  });

  test('credentials: none is 401, a bad token is 401, an unknown id is 404, a bad id is 400', async () => {
    const none = await anonymous.get('/api/courses');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'unauthorized');
    assert.equal((await apiClient(server.baseUrl, 'cw_not-a-token').get('/api/courses')).status, 401);
    assert.equal((await anonymous.call('GET', '/api/courses', undefined, { authorization: 'Basic abc' })).status, 401);
    assert.equal((await admin.get('/api/courses/999999')).status, 404);
    const badId = await admin.get('/api/courses/abc');
    assert.equal(badId.status, 400);
    assert.equal(badId.body.error.details[0].field, 'id');
  });

  test('a body over the limit is a 413', async () => {
    const res = await teacher.post('/api/courses', { title: 'x'.repeat(200 * 1024), code: 'BIG' });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'payload_too_large');
  });

  test('GET /api/me tells who the token belongs to', async () => {
    const me = await student.get('/api/me');
    assert.equal(me.status, 200);
    assert.equal(me.body.id, studentId);
    assert.equal(me.body.role, 'student');
    assert.equal(me.body.password_hash, undefined);
  });

  test('deleting a course without submissions deletes its stages', async () => {
    const course = (await teacher.post('/api/courses', { title: 'Gone', code: 'GONE-1' })).body;
    const stage = (await teacher.post(`/api/courses/${course.id}/stages`, { name: 's', startDate: '2031-01-01T00:00:00Z', endDate: '2031-02-01T00:00:00Z' })).body;
    assert.equal((await teacher.delete(`/api/courses/${course.id}`)).status, 204);
    assert.equal((await admin.get(`/api/stages/${stage.id}`)).status, 404);
  });

  const courseWithActiveStage = (code: string) => courseOfTeacherWithActiveStage(teacher, studentEmail, code);

  test("a course with students' submissions is not deleted (409) unless an admin forces it", async () => {
    const { course, stage } = await courseWithActiveStage('KEEP-1');
    assert.equal((await student.post(`/api/stages/${stage.id}/submissions`, { body: 'precious' })).status, 201);

    const refused = await teacher.delete(`/api/courses/${course.id}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /1 submission/);
    assert.deepEqual(refused.body.error.details, { submissions: 1 });
    assert.equal((await admin.delete(`/api/courses/${course.id}`)).status, 409, 'an admin too, without force');
    assert.equal((await teacher.delete(`/api/courses/${course.id}?force=true`)).status, 403, 'only an admin may force');
    const badForce = await admin.delete(`/api/courses/${course.id}?force=yes`);
    assert.equal(badForce.status, 400);
    assert.equal(badForce.body.error.details[0].field, 'force');
    assert.equal((await teacher.get(`/api/stages/${stage.id}/submissions`)).body.items.length, 1, 'nothing was deleted');

    assert.equal((await admin.delete(`/api/courses/${course.id}?force=true`)).status, 204);
    assert.equal((await admin.get(`/api/courses/${course.id}`)).status, 404);
    assert.equal((await t.db('submissions').where({ stage_id: stage.id })).length, 0);
  });
});
