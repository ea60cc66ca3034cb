import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, Browser, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import type { User } from '../src/domain/users.js';
import { DAY, HOUR, toIso } from '../src/time.js';

const PASSWORD = 'password-123';

/** The markup of one form field's block: its label, input and error. */
function fieldBlock(html: string, field: string): string {
  const match = new RegExp(`<div class="field" id="field-${field}">([\\s\\S]*?)</div>`).exec(html);
  assert.ok(match, `no field ${field} on the page`);
  return match[1];
}

describe(`web pages on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacherUser: User, studentUser: User;
  let teacherApi: ApiClient;
  // The shared course and its stages are only read: a test that adds to a
  // course (stages, members, submissions) makes a course of its own.
  let courseId: number;
  let stages: Record<'pending' | 'active' | 'completed', number>;

  const browser = () => new Browser(server.baseUrl);
  async function signedIn(user: User): Promise<Browser> {
    const b = browser();
    await b.login(user.email, PASSWORD);
    return b;
  }

  /** A course of the teacher's in Europe/Berlin with the student in it. */
  async function newCourse(code: string): Promise<number> {
    const id = (await teacherApi.post('/api/courses', { title: 'Software Project', code, timezone: 'Europe/Berlin' })).body.id as number;
    await teacherApi.post(`/api/courses/${id}/members`, { email: studentUser.email });
    return id;
  }

  /** A new course with a completed, an active and a pending stage. */
  async function courseWithStages(code: string) {
    const id = await newCourse(code);
    const now = Date.now();
    const add = async (name: string, start: number, end: number) =>
      (await teacherApi.post(`/api/courses/${id}/stages`, { name, startDate: toIso(start), endDate: toIso(end) })).body.id as number;
    const completed = await add('Proposal', now - 3 * DAY, now - 2 * DAY);
    const active = await add('Prototype', now - HOUR, now + DAY);
    const pending = await add('Final report', now + 2 * DAY, now + 3 * DAY);
    return { courseId: id, stages: { completed, active, pending } };
  }

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    const teacher = await userWithToken(t.db, 'teacher');
    const student = await userWithToken(t.db, 'student');
    teacherUser = teacher.user;
    studentUser = student.user;
    teacherApi = apiClient(server.baseUrl, teacher.token);
    ({ courseId, stages } = await courseWithStages('SWP-27'));
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  test('anonymous visitors are sent to the login page', async () => {
    const b = browser();
    for (const path of ['/', '/courses', `/courses/${courseId}`, `/stages/${stages.active}`, `/courses/${courseId}/stages/new`, '/no-such-page']) {
      const res = await b.get(path);
      assert.ok([302, 303].includes(res.status), `${path}: ${res.status}`);
      assert.equal(res.location, '/login', path);
    }
    assert.equal((await b.get('/login')).status, 200);
  });

  test('a wrong password is a 401 with a message on the login page', async () => {
    const b = browser();
    const page = await b.get('/login');
    const res = await b.post('/login', { _csrf: Browser.csrfFrom(page.text), email: teacherUser.email, password: 'wrong-password' });
    assert.equal(res.status, 401);
    assert.match(res.text, /Email or password is wrong/);
    assert.equal((await b.get('/courses')).location, '/login');
  });

  test('after login the courses list shows the course, and the nav shows who is signed in', async () => {
    const b = await signedIn(studentUser);
    const res = await b.get('/courses');
    assert.equal(res.status, 200);
    assert.match(res.text, /SWP-27/);
    assert.match(res.text, /Software Project/);
    assert.match(res.text, /Europe\/Berlin/);
    assert.ok(res.text.includes(studentUser.email));
    assert.match(res.text, /role--student/);
    assert.match(res.text, /action="\/logout"/);
    assert.doesNotMatch(res.text, /New course/, 'students create no courses');
    assert.match(res.text, /href="\/static\/app.css"/);
    assert.equal((await b.get('/static/app.css')).status, 200);
  });

  test('the course page shows a timeline with each status and a now marker between past and future', async () => {
    const b = await signedIn(teacherUser);
    const res = await b.get(`/courses/${courseId}`);
    assert.equal(res.status, 200);
    const at = (needle: string) => {
      const i = res.text.indexOf(needle);
      assert.ok(i >= 0, `${needle} missing`);
      return i;
    };
    const completed = at('stage stage--completed');
    const active = at('stage stage--active');
    const now = at('timeline__now');
    const pending = at('stage stage--pending');
    assert.ok(completed < active && active < now && now < pending, 'ordered by start, now before the stage not yet started');
    assert.match(res.text, /\d{1,2} \w{3} \d{4}, \d{2}:\d{2} \(Europe\/Berlin\)/);
    assert.match(res.text, new RegExp(`href="/courses/${courseId}/stages/new"`));
    assert.match(res.text, new RegExp(`href="/stages/${stages.pending}/edit"`));
    assert.ok(res.text.includes(studentUser.email), 'members are listed for the teacher');
  });

  test('creating a stage by form reads the times in the course zone and stores UTC', async () => {
    const courseId = await newCourse('FORM-1');
    const b = await signedIn(teacherUser);
    const form = await b.get(`/courses/${courseId}/stages/new`);
    assert.equal(form.status, 200);
    assert.match(form.text, /type="datetime-local"/);
    const res = await b.post(`/courses/${courseId}/stages/new`, {
      _csrf: Browser.csrfFrom(form.text),
      name: 'Winter to summer',
      description: 'Across a DST change',
      startDate: '2030-01-15T09:00',
      endDate: '2030-07-01T17:30',
    });
    assert.equal(res.status, 303, res.text);
    assert.equal(res.location, `/courses/${courseId}`);

    const stored = (await teacherApi.get(`/api/courses/${courseId}/stages`)).body.items.find((s: { name: string }) => s.name === 'Winter to summer');
    assert.equal(stored.startDate, '2030-01-15T08:00:00.000Z', 'CET is UTC+1');
    assert.equal(stored.endDate, '2030-07-01T15:30:00.000Z', 'CEST is UTC+2');

    const page = await b.get(`/courses/${courseId}`);
    assert.match(page.text, /Stage &#34;Winter to summer&#34; created/, 'flash message');
    assert.match(page.text, /15 Jan 2030, 09:00 \(Europe\/Berlin\)/);
    assert.match(page.text, /1 Jul 2030, 17:30 \(Europe\/Berlin\)/);
    assert.doesNotMatch((await b.get(`/courses/${courseId}`)).text, /created/, 'the flash shows once');

    const edit = await b.get(`/stages/${stored.id}/edit`);
    assert.match(fieldBlock(edit.text, 'startDate'), /value="2030-01-15T09:00"/, 'the edit form shows local times');
    const saved = await b.post(`/stages/${stored.id}/edit`, {
      _csrf: Browser.csrfFrom(edit.text),
      name: 'Winter to summer',
      description: '',
      startDate: '2030-01-15T10:00',
      endDate: '2030-07-01T17:30',
    });
    assert.equal(saved.status, 303, saved.text);
    assert.equal((await teacherApi.get(`/api/stages/${stored.id}`)).body.startDate, '2030-01-15T09:00:00.000Z');
  });

  test('a refused stage form is a 400 with each error beside its field and the values kept', async () => {
    const b = await signedIn(teacherUser);
    const csrf = Browser.csrfFrom((await b.get(`/courses/${courseId}/stages/new`)).text);
    const backwards = await b.post(`/courses/${courseId}/stages/new`, {
      _csrf: csrf,
      name: 'Backwards',
      description: 'kept text',
      startDate: '2030-05-02T09:00',
      endDate: '2030-05-01T09:00',
    });
    assert.equal(backwards.status, 400);
    assert.match(fieldBlock(backwards.text, 'endDate'), /End date must be after the start date/);
    assert.match(fieldBlock(backwards.text, 'endDate'), /value="2030-05-01T09:00"/);
    assert.match(fieldBlock(backwards.text, 'startDate'), /value="2030-05-02T09:00"/);
    assert.doesNotMatch(fieldBlock(backwards.text, 'startDate'), /field-error/);
    assert.match(fieldBlock(backwards.text, 'name'), /value="Backwards"/);
    assert.match(backwards.text, /kept text/);

    const gapAndBlank = await b.post(`/courses/${courseId}/stages/new`, { _csrf: csrf, name: '', description: '', startDate: '2030-03-31T02:30', endDate: '' });
    assert.equal(gapAndBlank.status, 400);
    assert.match(fieldBlock(gapAndBlank.text, 'name'), /Name is required/);
    assert.match(fieldBlock(gapAndBlank.text, 'startDate'), /Start date does not exist in Europe\/Berlin/);
    assert.match(fieldBlock(gapAndBlank.text, 'endDate'), /End date is required/);
    const names = (await teacherApi.get(`/api/courses/${courseId}/stages`)).body.items.map((s: { name: string }) => s.name);
    assert.ok(!names.includes('Backwards') && !names.includes(''), 'nothing was stored');
  });

  test('a form posted without its CSRF token is refused with 403', async () => {
    const b = await signedIn(teacherUser);
    const res = await b.post(`/courses/${courseId}/stages/new`, { name: 'Forged', startDate: '2030-05-01T09:00', endDate: '2030-05-02T09:00' });
    assert.equal(res.status, 403);
    const names = (await teacherApi.get(`/api/courses/${courseId}/stages`)).body.items.map((s: { name: string }) => s.name);
    assert.ok(!names.includes('Forged'));
  });

  test('a student may not open or post the stage forms (403); unknown ids are 404 pages', async () => {
    const b = await signedIn(studentUser);
    const form = await b.get(`/courses/${courseId}/stages/new`);
    assert.equal(form.status, 403);
    assert.match(form.text, /<h1>403<\/h1>/);
    assert.ok(form.text.includes(studentUser.email), 'error pages keep the layout with the nav');
    assert.equal((await b.get(`/stages/${stages.pending}/edit`)).status, 403);
    const csrf = Browser.csrfFrom((await b.get(`/stages/${stages.active}`)).text);
    const post = await b.post(`/courses/${courseId}/stages/new`, { _csrf: csrf, name: 'Sneaky', startDate: '2030-05-01T09:00', endDate: '2030-05-02T09:00' });
    assert.equal(post.status, 403);
    assert.equal((await b.post(`/stages/${stages.pending}/delete`, { _csrf: csrf })).status, 403);
    const course = await b.get(`/courses/${courseId}`);
    assert.doesNotMatch(course.text, /New stage|\/edit"/, 'no management links for students');
    const missing = await b.get('/stages/999999');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /Stage not found/);
    assert.equal((await b.get('/courses/999999')).status, 404);
  });

  test('a student hands in work on an active stage and is refused on a pending one', async () => {
    const { stages } = await courseWithStages('HAND-1');
    const b = await signedIn(studentUser);
    const active = await b.get(`/stages/${stages.active}`);
    assert.equal(active.status, 200);
    assert.match(active.text, /Submit work/);
    assert.match(active.text, /status--pending">pending<\/span>\s*→\s*<span class="badge status status--active">active/, 'history shows the transition');
    const ok = await b.post(`/stages/${stages.active}/submissions`, { _csrf: Browser.csrfFrom(active.text), body: 'My prototype notes', link: '' });
    assert.equal(ok.status, 303, ok.text);
    const after = await b.get(`/stages/${stages.active}`);
    assert.match(after.text, /Your work was handed in/);
    assert.match(after.text, /My prototype notes/);

    const pending = await b.get(`/stages/${stages.pending}`);
    assert.match(pending.text, /opens at/);
    assert.doesNotMatch(pending.text, new RegExp(`action="/stages/${stages.pending}/submissions"`), 'no form while pending');
    const refused = await b.post(`/stages/${stages.pending}/submissions`, { _csrf: Browser.csrfFrom(pending.text), body: 'Too early', link: '' });
    assert.equal(refused.status, 409);
    assert.match(refused.text, /role="alert"[^>]*>Stage &#34;Final report&#34; is pending: submissions open at/);

    const completed = await b.get(`/stages/${stages.completed}`);
    assert.match(completed.text, /closed at/);

    const empty = await b.post(`/stages/${stages.active}/submissions`, { _csrf: Browser.csrfFrom(active.text), body: '', link: 'not a url' });
    assert.equal(empty.status, 400);
    assert.match(fieldBlock(empty.text, 'link'), /Link must be an http\(s\) URL/);
    assert.match(fieldBlock(empty.text, 'link'), /value="not a url"/);

    const teacher = await signedIn(teacherUser);
    const seen = await teacher.get(`/stages/${stages.active}`);
    assert.match(seen.text, /My prototype notes/, 'the teacher sees every submission');
    assert.ok(seen.text.includes(studentUser.email));
    assert.doesNotMatch(seen.text, /Submit work/);
  });

  test('a teacher creates a course by form; a refused one keeps the values and shows the errors', async () => {
    const b = await signedIn(teacherUser);
    const list = await b.get('/courses');
    assert.match(list.text, /New course/);
    const csrf = Browser.csrfFrom(list.text);
    const bad = await b.post('/courses', { _csrf: csrf, title: '', code: 'NEW-1', timezone: 'Mars/Olympus' });
    assert.equal(bad.status, 400);
    assert.match(fieldBlock(bad.text, 'title'), /Title is required/);
    assert.match(fieldBlock(bad.text, 'timezone'), /Time zone must be an IANA time zone name/);
    assert.match(fieldBlock(bad.text, 'code'), /value="NEW-1"/);
    const taken = await b.post('/courses', { _csrf: csrf, title: 'Again', code: 'SWP-27', timezone: 'UTC' });
    assert.equal(taken.status, 409);
    assert.match(fieldBlock(taken.text, 'code'), /Code is taken/);

    const ok = await b.post('/courses', { _csrf: csrf, title: 'New one', code: 'NEW-1', timezone: 'America/New_York' });
    assert.equal(ok.status, 303);
    const page = await b.get(ok.location!);
    assert.match(page.text, /New one/);
    assert.match(page.text, /America\/New_York/);
  });

  test('a teacher adds a member by email and removes them', async () => {
    const courseId = await newCourse('MEMB-1');
    const { user: newcomer } = await userWithToken(t.db, 'student', 'newcomer');
    const b = await signedIn(teacherUser);
    const csrf = Browser.csrfFrom((await b.get(`/courses/${courseId}`)).text);
    const unknown = await b.post(`/courses/${courseId}/members`, { _csrf: csrf, email: 'nobody@example.test' });
    assert.equal(unknown.status, 400);
    assert.match(fieldBlock(unknown.text, 'email'), /Email must belong to a student who has signed up/);
    assert.match(fieldBlock(unknown.text, 'email'), /value="nobody@example.test"/);

    const teacherEmail = await b.post(`/courses/${courseId}/members`, { _csrf: csrf, email: teacherUser.email });
    assert.equal(teacherEmail.status, 400);
    // The same words as for nobody: the page tells no one who is signed up, or as what (issue 24).
    assert.equal(fieldBlock(teacherEmail.text, 'email').replace(teacherUser.email, 'X'), fieldBlock(unknown.text, 'email').replace('nobody@example.test', 'X'));

    assert.equal((await b.post(`/courses/${courseId}/members`, { _csrf: csrf, email: newcomer.email })).status, 303);
    assert.ok((await b.get(`/courses/${courseId}`)).text.includes(newcomer.email));
    const removed = await b.post(`/courses/${courseId}/members/${newcomer.id}/remove`, { _csrf: csrf });
    assert.equal(removed.status, 303);
    assert.ok(!(await b.get(`/courses/${courseId}`)).text.includes(newcomer.email));
  });

  test('deleting a stage asks first, then removes it', async () => {
    const courseId = await newCourse('DEL-1');
    const id = (await teacherApi.post(`/api/courses/${courseId}/stages`, { name: 'Doomed', startDate: '2031-01-01T00:00:00Z', endDate: '2031-01-02T00:00:00Z' })).body.id;
    const b = await signedIn(teacherUser);
    const confirm = await b.get(`/stages/${id}/delete`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, /Delete “Doomed”\?/);
    const res = await b.post(`/stages/${id}/delete`, { _csrf: Browser.csrfFrom(confirm.text) });
    assert.equal(res.status, 303);
    assert.equal((await teacherApi.get(`/api/stages/${id}`)).status, 404);
  });

  test('a student posting the course form gets 403, whatever the form holds', async () => {
    const b = await signedIn(studentUser);
    const csrf = Browser.csrfFrom((await b.get('/courses')).text);
    assert.equal((await b.post('/courses', { _csrf: csrf, title: '', code: '' })).status, 403);
    const teacher = await signedIn(teacherUser);
    const teacherCsrf = Browser.csrfFrom((await teacher.get(`/stages/${stages.active}`)).text);
    assert.equal((await teacher.post(`/stages/${stages.active}/submissions`, { _csrf: teacherCsrf, body: '', link: 'junk' })).status, 403);
  });

  test("deleting a course asks first, and keeps students' work unless an admin confirms deleting it", async () => {
    const { user: admin } = await userWithToken(t.db, 'admin');
    const now = Date.now();
    const course = (await teacherApi.post('/api/courses', { title: 'Doomed course', code: 'DOOM-1' })).body;
    await teacherApi.post(`/api/courses/${course.id}/members`, { email: studentUser.email });
    const stage = (await teacherApi.post(`/api/courses/${course.id}/stages`, { name: 'Open', startDate: toIso(now - HOUR), endDate: toIso(now + DAY) })).body;
    const student = await signedIn(studentUser);
    const stagePage = await student.get(`/stages/${stage.id}`);
    assert.equal((await student.post(`/stages/${stage.id}/submissions`, { _csrf: Browser.csrfFrom(stagePage.text), body: 'Keep me', link: '' })).status, 303);

    const teacher = await signedIn(teacherUser);
    assert.match((await teacher.get(`/courses/${course.id}`)).text, new RegExp(`href="/courses/${course.id}/delete"`));
    const confirm = await teacher.get(`/courses/${course.id}/delete`);
    assert.equal(confirm.status, 200);
    assert.match(confirm.text, /Delete DOOM-1\?/);
    assert.match(confirm.text, /<strong>1 submission<\/strong> for it, so it is not deleted/);
    assert.doesNotMatch(confirm.text, /<button type="submit" class="danger-button">/, 'no delete button for the teacher');
    const refused = await teacher.post(`/courses/${course.id}/delete`, { _csrf: Browser.csrfFrom(confirm.text) });
    assert.equal(refused.status, 409);
    assert.match(refused.text, /role="alert">Course has 1 submission/);
    assert.equal((await teacherApi.get(`/api/courses/${course.id}`)).status, 200);

    const a = await signedIn(admin);
    const adminConfirm = await a.get(`/courses/${course.id}/delete`);
    assert.match(adminConfirm.text, /name="force" value="true"/);
    const unticked = await a.post(`/courses/${course.id}/delete`, { _csrf: Browser.csrfFrom(adminConfirm.text) });
    assert.equal(unticked.status, 409, 'the box must be ticked');
    const deleted = await a.post(`/courses/${course.id}/delete`, { _csrf: Browser.csrfFrom(adminConfirm.text), force: 'true' });
    assert.equal(deleted.status, 303);
    assert.equal(deleted.location, '/courses');
    assert.equal((await teacherApi.get(`/api/courses/${course.id}`)).status, 404);

    const empty = (await teacherApi.post('/api/courses', { title: 'Empty course', code: 'DOOM-2' })).body;
    const emptyConfirm = await teacher.get(`/courses/${empty.id}/delete`);
    assert.match(emptyConfirm.text, /No work has been handed in for it/);
    assert.equal((await teacher.post(`/courses/${empty.id}/delete`, { _csrf: Browser.csrfFrom(emptyConfirm.text) })).status, 303);
    assert.equal((await teacherApi.get(`/api/courses/${empty.id}`)).status, 404);
  });

  test('the stage page shows the latest version of each student, 20 at a time, with "n earlier versions"', async () => {
    const courseId = await newCourse('BUSY-1');
    const now = Date.now();
    const stageId = (await teacherApi.post(`/api/courses/${courseId}/stages`, { name: 'Busy', startDate: toIso(now - HOUR), endDate: toIso(now + DAY) })).body.id as number;
    const firstBrowser = await signedIn(studentUser);
    const csrf = Browser.csrfFrom((await firstBrowser.get(`/stages/${stageId}`)).text);
    for (let i = 1; i <= 13; i++) assert.equal((await firstBrowser.post(`/stages/${stageId}/submissions`, { _csrf: csrf, body: `first-${i}-end`, link: '' })).status, 303);
    const others: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const { user, token } = await userWithToken(t.db, 'student', `other${i}-`);
      await teacherApi.post(`/api/courses/${courseId}/members`, { email: user.email });
      assert.equal((await apiClient(server.baseUrl, token).post(`/api/stages/${stageId}/submissions`, { body: `other-${i}-end` })).status, 201);
      others.push(user.email);
    }

    const b = await signedIn(teacherUser);
    const page = await b.get(`/stages/${stageId}`);
    const count = (html: string) => (html.match(/<li class="submission">/g) ?? []).length;
    assert.equal(count(page.text), 20, 'one line per student, 20 a page');
    assert.ok(page.text.includes('other-20-end') && !page.text.includes('first-13-end'), 'newest first');
    assert.ok(page.text.includes(others[19]), 'authors are named');
    const older = /href="(\/stages\/\d+\?before=[^"]+)">Older submissions/.exec(page.text);
    assert.ok(older, 'a link to older submissions');
    const rest = await b.get(older[1].replace(/&amp;/g, '&'));
    assert.equal(rest.status, 200);
    assert.equal(count(rest.text), 1);
    assert.ok(rest.text.includes('first-13-end') && !rest.text.includes('first-12-end'), 'the latest version only');
    assert.match(rest.text, /version 13 · .*12 earlier versions/);
    assert.doesNotMatch(rest.text, /Older submissions/);
    assert.match(rest.text, /Newest submissions/);
    assert.equal((await b.get(`/stages/${stageId}?before=junk`)).status, 400);

    const own = await firstBrowser.get(`/stages/${stageId}`);
    assert.equal(count(own.text), 1, 'a student sees their own latest');
    assert.match(own.text, /12 earlier versions/);
    assert.ok(!own.text.includes('other-1-end'));
  });

  test('deleting a stage with submissions is refused for a teacher', async () => {
    const courseId = await newCourse('WORK-1');
    const now = Date.now();
    const stageId = (await teacherApi.post(`/api/courses/${courseId}/stages`, { name: 'Worked on', startDate: toIso(now - HOUR), endDate: toIso(now + DAY) })).body.id as number;
    const student = await signedIn(studentUser);
    const csrf = Browser.csrfFrom((await student.get(`/stages/${stageId}`)).text);
    assert.equal((await student.post(`/stages/${stageId}/submissions`, { _csrf: csrf, body: 'Work', link: '' })).status, 303);
    const b = await signedIn(teacherUser);
    const confirm = await b.get(`/stages/${stageId}/delete`);
    assert.match(confirm.text, /<strong>1 submission<\/strong> for it, so it is not deleted/);
    const refused = await b.post(`/stages/${stageId}/delete`, { _csrf: Browser.csrfFrom(confirm.text) });
    assert.equal(refused.status, 409);
    assert.equal((await teacherApi.get(`/api/stages/${stageId}`)).status, 200);
  });

  test('logout ends the session', async () => {
    const b = await signedIn(teacherUser);
    const page = await b.get('/courses');
    assert.equal(page.status, 200);
    const res = await b.post('/logout', { _csrf: Browser.csrfFrom(page.text) });
    assert.equal(res.status, 303);
    assert.equal(res.location, '/login');
    const after = await b.get('/courses');
    assert.equal(after.location, '/login');
  });
});
