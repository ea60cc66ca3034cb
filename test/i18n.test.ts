// Two languages (issue 25): the reader's language comes from their saved
// choice, else Accept-Language, else English; pages, form errors, API error
// messages (codes unchanged), dates, reminder emails and calendar feeds follow it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import ical from 'node-ical';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, Browser, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import type { User } from '../src/domain/users.js';
import { DAY, HOUR, toIso } from '../src/time.js';
import { reminderEmail } from '../src/mail/reminder-email.js';
import { calendarFeed } from '../src/http/calendar-feed.js';

const ZONE = 'Asia/Shanghai';

describe(`languages on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacherApi: ApiClient;
  let teacher: User, student: User;
  let courseId: number, stageId: number;

  async function signedIn(user: User, headers: Record<string, string> = {}): Promise<Browser> {
    const b = new Browser(server.baseUrl, headers);
    await b.login(user.email, 'password-123');
    return b;
  }

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    const te = await userWithToken(t.db, 'teacher');
    teacher = te.user;
    teacherApi = apiClient(server.baseUrl, te.token);
    student = (await userWithToken(t.db, 'student', 'lin')).user;
    courseId = (await teacherApi.post('/api/courses', { title: 'Languages', code: 'LANG-1', timezone: ZONE })).body.id;
    await teacherApi.post(`/api/courses/${courseId}/members`, { email: student.email });
    const now = Date.now();
    stageId = (await teacherApi.post(`/api/courses/${courseId}/stages`, { name: 'Essay', startDate: toIso(now - HOUR), endDate: toIso(now + 3 * DAY), reminders: ['P1D'] })).body.id;
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  test('Accept-Language picks the language: zh, zh-CN and zh-Hans give Chinese, anything else English', async () => {
    for (const header of ['zh', 'zh-CN', 'zh-Hans', 'fr;q=1, zh-CN;q=0.5']) {
      const page = await new Browser(server.baseUrl, { 'accept-language': header }).get('/login');
      assert.match(page.text, /<html lang="zh-CN">/, header);
      assert.match(page.text, /<h1>登录<\/h1>/, header);
    }
    for (const header of ['fr', 'en-GB', '']) {
      const page = await new Browser(server.baseUrl, header ? { 'accept-language': header } : {}).get('/login');
      assert.match(page.text, /<html lang="en">/, header);
      assert.match(page.text, /<h1>Sign in<\/h1>/, header);
    }
  });

  test('the footer switch saves a signed-in person’s choice, which beats the browser’s, on every later visit', async () => {
    const b = await signedIn(student, { 'accept-language': 'en' });
    const course = await b.get(`/courses/${courseId}`);
    assert.match(course.text, /Times are shown in Asia\/Shanghai/);
    const switched = await b.post('/language', { _csrf: Browser.csrfFrom(course.text), language: 'zh-CN', back: `/courses/${courseId}` });
    assert.equal(switched.status, 303);
    assert.equal(switched.location, `/courses/${courseId}`);
    assert.equal((await t.db('users').where({ id: student.id }).first<{ language: string }>('language')).language, 'zh-CN');
    // A fresh sign-in, from a browser that asks for English: the saved choice wins.
    const again = await signedIn(student, { 'accept-language': 'en' });
    const page = await again.get(`/stages/${stageId}`);
    assert.match(page.text, /<html lang="zh-CN">/);
    assert.match(page.text, /提交作业/);
    // Dates through Intl in the course's zone and the reader's language.
    assert.match(page.text, /\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}（Asia\/Shanghai）/);
    // The countdown's words go to the page for live.js.
    assert.match(page.text, /"closesIn":"\{\{left\}\}后截止"/);
    // A language we do not have is refused, naming the field, and changes nothing.
    const refused = await again.post('/language', { _csrf: Browser.csrfFrom(page.text), language: 'tlh' });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /language/);
    assert.equal((await t.db('users').where({ id: student.id }).first<{ language: string }>('language')).language, 'zh-CN');
  });

  test('a visitor’s switch is kept in a cookie; the switch only sends people back to a path of ours', async () => {
    const b = new Browser(server.baseUrl, { 'accept-language': 'en' });
    const login = await b.get('/login');
    const res = await b.post('/language', { _csrf: Browser.csrfFrom(login.text), language: 'zh-CN', back: '//elsewhere.example/' });
    assert.equal(res.status, 303);
    assert.equal(res.location, '/');
    assert.match((await b.get('/login')).text, /<h1>登录<\/h1>/);
  });

  test('API errors keep their code and say their message in the reader’s language; form errors too', async () => {
    const zh = { 'accept-language': 'zh-CN' };
    const missing = await teacherApi.call('GET', '/api/courses/99999', undefined, zh);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'not_found');
    assert.equal(missing.body.error.message, '未找到课程');
    const invalid = await teacherApi.call('POST', '/api/courses', { title: '', code: 'X-1', timezone: 'Nowhere/City' }, zh);
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.code, 'validation_failed');
    const fields = Object.fromEntries((invalid.body.error.details as { field: string; message: string }[]).map((d) => [d.field, d.message]));
    assert.equal(fields.title, '不能为空');
    assert.match(fields.timezone, /IANA 时区/);
    // The same call in English is worded as before.
    assert.equal((await teacherApi.get('/api/courses/99999')).body.error.message, 'Course not found');

    const b = await signedIn(teacher, zh);
    const courses = await b.get('/courses');
    const refused = await b.post('/courses', { _csrf: Browser.csrfFrom(courses.text), title: '', code: 'Y-1', timezone: 'UTC' });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /id="title-error">名称 为必填项/);
  });

  test('a reminder email and the calendar feed are in the recipient’s language', async () => {
    const input = { to: 'lin@example.test', name: 'Lin', stageId, stageName: 'Essay', courseTitle: 'Languages', timezone: ZONE, endAt: Date.parse('2027-03-05T09:00:00Z'), reminder: 'P1D', messageId: '<m@x>', publicUrl: 'http://localhost:3000' };
    const zh = reminderEmail({ ...input, language: 'zh-CN' });
    assert.equal(zh.subject, '提醒：Essay（Languages）将于 2027年3月5日 17:00（Asia/Shanghai） 截止');
    assert.match(zh.text, /还剩 1 天/);
    assert.equal(zh.language, 'zh-CN');
    const en = reminderEmail({ ...input, language: 'en' });
    assert.match(en.text, /closes for you on 5 Mar 2027, 17:00 \(Asia\/Shanghai\), in 1 day/);

    await t.db('users').where({ id: student.id }).update({ language: 'zh-CN' });
    const events = Object.values(ical.sync.parseICS(await calendarFeed(t.db, student.id, 'http://localhost:3000'))).filter((e): e is ical.VEvent => e?.type === 'VEVENT');
    assert.equal(events.length, 1);
    assert.match(JSON.stringify(events[0].description), /截止后不接收迟交作业/);
    const alarms = (events[0] as unknown as { alarms?: { description?: string }[] }).alarms ?? [];
    assert.ok(alarms.some((a) => a.description === 'Essay 将在 1 天后截止'), JSON.stringify(alarms));
  });
});
