// Reminders (issue 23): offsets checked at the API, the deadline-reminders job
// deciding who is reminded and emailing them through a real SMTP server
// (smtp-server, started here; never a mock transport), retries while the mail
// server is down, and SMTP_URL refused at start with the variable named.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, Browser, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import { waitUntil } from './helpers/wait.js';
import { smtpServer } from './helpers/smtp.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { transactions } from '../src/db/transactions.js';
import { runDeadlineReminders, nextReminderDue } from '../src/jobs/deadline-reminders.js';
import type { JobContext } from '../src/jobs/job.js';
import { DAY, HOUR, MINUTE, toIso } from '../src/time.js';
import ical from 'node-ical';

const log = createLogger('silent');

function context(db: TestDatabase['db'], env: Record<string, string>): JobContext {
  return { db, log, config: loadConfig({ PUBLIC_URL: 'https://coursework.example.test', ...env }), reason: 'manual', transaction: transactions(db, null) };
}

describe(`reminders on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacher: ApiClient;
  let courseId: number;
  const students: { id: number; email: string; client: ApiClient }[] = [];

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    teacher = apiClient(server.baseUrl, (await userWithToken(t.db, 'teacher')).token);
    courseId = (await teacher.post('/api/courses', { title: 'Databases', code: 'RM-1', timezone: 'Europe/Berlin' })).body.id;
    for (let i = 0; i < 3; i += 1) {
      const s = await userWithToken(t.db, 'student');
      await teacher.post(`/api/courses/${courseId}/members`, { email: s.user.email });
      students.push({ id: s.user.id, email: s.user.email, client: apiClient(server.baseUrl, s.token) });
    }
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  test('bad reminders are refused with a 400 naming reminders', async () => {
    const now = Date.now();
    const post = (reminders: unknown) => teacher.post(`/api/courses/${courseId}/stages`, { name: 'X', startDate: toIso(now), endDate: toIso(now + DAY), reminders });
    for (const bad of [['1 day'], ['-P1D'], ['PT0S'], ['P2D'], ['P1D', 'PT1H', 'PT2H', 'PT3H', 'PT4H', 'PT5H'], 'P1D']) {
      const res = await post(bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body.error.details[0].field, 'reminders', JSON.stringify(res.body));
    }
    const ok = await post(['pt2h', 'P1D']);
    assert.equal(ok.status, 201);
    assert.deepEqual(ok.body.reminders, ['P1D', 'PT2H'], 'normalised, longest first');
    const shrink = await teacher.patch(`/api/stages/${ok.body.id}`, { startDate: toIso(now + 23 * HOUR) });
    assert.equal(shrink.status, 400, 'new dates may not make a kept reminder longer than the stage');
    assert.equal(shrink.body.error.details[0].field, 'reminders');
    // Its P1D falls due at once (the stage is a day long): out of the way of the tests below.
    assert.equal((await teacher.delete(`/api/stages/${ok.body.id}`)).status, 204);
  });

  test('SMTP_URL that is not one is refused at start, naming the variable and never the password', () => {
    for (const bad of ['not a url', 'http://user:secret@mail.example.test', 'smtp://']) {
      assert.throws(
        () => loadConfig({ SMTP_URL: bad }),
        (err: unknown) => err instanceof ConfigError && err.message.includes('SMTP_URL') && !err.message.includes('secret'),
      );
    }
    assert.equal(loadConfig({ SMTP_URL: 'smtp://u:p@127.0.0.1:2525' }).mail.smtpUrl, 'smtp://u:p@127.0.0.1:2525');
  });

  test('one email per student who has not handed in, none to one who has, with the zone and a fixed Message-ID; a second run sends nothing', async () => {
    const smtp = await smtpServer();
    try {
      const now = Date.now();
      // The PT1H reminder is due now (the end is 1 h minus a moment away).
      const stage = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Schema design', startDate: toIso(now - DAY), endDate: toIso(now + HOUR - 5000), reminders: ['PT1H'] })).body;
      assert.equal((await students[0].client.post(`/api/stages/${stage.id}/submissions`, { body: 'done' })).status, 201);
      const due = await nextReminderDue(t.db);
      assert.ok(due !== null && due <= Date.now(), 'the reminder instant is due');
      const ctx = context(t.db, { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` });
      const first = await runDeadlineReminders(ctx);
      assert.equal(first.reminded, 2);
      assert.equal(first.emailed, 2);
      assert.deepEqual(smtp.received.map((m) => m.to[0]).sort(), [students[1].email, students[2].email].sort());
      const mail = smtp.received[0].raw;
      assert.match(mail, /Schema design/);
      assert.match(mail, /Databases/);
      assert.match(mail, /Europe\/Berlin/);
      assert.match(mail, /https:\/\/coursework\.example\.test\/stages\/\d+/);
      assert.match(mail, /Content-Type: text\/html/i);
      assert.deepEqual(new Set(smtp.received.map((m) => m.messageId)).size, 2);
      assert.match(smtp.received[0].messageId, new RegExp(`^<reminder\\.${stage.id}\\.\\d+\\.pt1h@coursework\\.example\\.test>$`));
      const second = await runDeadlineReminders(ctx);
      assert.equal(second.decided + second.emailed, 0, 'decided once');
      assert.equal(smtp.received.length, 2);
      const rows = await t.db('reminder_outbox').where({ stage_id: stage.id });
      assert.equal(rows.length, 2);
      assert.ok(rows.every((r: { status: string; email: string }) => r.status === 'sent' && r.email === 'sent'));
      const notices = await t.db('notifications').where({ stage_id: stage.id });
      assert.deepEqual(notices.map((n: { user_id: number }) => Number(n.user_id)).sort(), [students[1].id, students[2].id].sort());
      const mine = await students[1].client.get('/api/me/notifications');
      assert.equal(mine.status, 200);
      const notice = mine.body.items.find((n: { stageId: number }) => n.stageId === stage.id);
      assert.deepEqual(Object.keys(notice).sort(), ['at', 'id', 'kind', 'readAt', 'stageId', 'text']);
      assert.equal(notice.readAt, null);
      assert.equal((await students[0].client.post(`/api/me/notifications/${notice.id}/read`)).status, 404, "another's notice");
      assert.equal((await students[1].client.post(`/api/me/notifications/${notice.id}/read`)).status, 204);
      assert.notEqual((await students[1].client.get('/api/me/notifications')).body.items.find((n: { id: number }) => n.id === notice.id).readAt, null);
      const list = await teacher.get(`/api/stages/${stage.id}/reminders`);
      assert.equal(list.status, 200);
      assert.equal(list.body.items.length, 2);
      assert.deepEqual(Object.keys(list.body.items[0]).sort(), ['dueAt', 'email', 'error', 'reminder', 'sentAt', 'status', 'userId']);
      assert.ok(list.body.items.every((r: { status: string; email: string; reminder: string }) => r.status === 'sent' && r.email === 'sent' && r.reminder === 'PT1H'));
      assert.equal((await students[1].client.get(`/api/stages/${stage.id}/reminders`)).status, 403);
      const teacherUser = await userWithToken(t.db, 'admin');
      const browser = new Browser(server.baseUrl);
      await browser.login(teacherUser.user.email, 'password-123');
      const page = await browser.get(`/stages/${stage.id}`);
      assert.match(page.text, /id="reminders"/);
      assert.ok(page.text.includes(students[1].email) && !page.text.includes(`<td>${students[0].email}</td>`), 'the reminded are listed');
    } finally {
      await smtp.close();
    }
  });

  test('a student who hands in after the decision, before delivery, is not emailed', async () => {
    const smtp = await smtpServer();
    try {
      const now = Date.now();
      const stage = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Indexes', startDate: toIso(now - DAY), endDate: toIso(now + 30 * MINUTE), reminders: ['PT1H'] })).body;
      // Decided without email, then the student hands in, then delivery runs with SMTP.
      const decideOnly = await runDeadlineReminders({ ...context(t.db, { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` }), transaction: transactions(t.db, null) }).catch((e: unknown) => e);
      assert.ok(!(decideOnly instanceof Error), String(decideOnly));
      assert.equal(smtp.received.length, 3, 'all three were reminded');
      await t.db('reminder_outbox').where({ stage_id: stage.id }).update({ status: 'pending', email: 'pending', next_attempt_at: 0 });
      assert.equal((await students[1].client.post(`/api/stages/${stage.id}/submissions`, { body: 'in' })).status, 201);
      await runDeadlineReminders(context(t.db, { SMTP_URL: `smtp://127.0.0.1:${smtp.port}` }));
      assert.equal(smtp.received.filter((m) => m.to[0] === students[1].email).length, 1, 'no second email after handing in');
      const row = await t.db('reminder_outbox').where({ stage_id: stage.id, user_id: students[1].id }).first();
      assert.equal(row.status, 'skipped');
      assert.match(row.error, /handed in/);
    } finally {
      await smtp.close();
    }
  });

  test('the SMTP server down, then back: the failure is recorded with its error, retried, then delivered', async () => {
    const probe = await smtpServer();
    const port = probe.port;
    await probe.close();
    const now = Date.now();
    const stage = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Joins', startDate: toIso(now - DAY), endDate: toIso(now + 30 * MINUTE), reminders: ['PT1H'] })).body;
    const ctx = context(t.db, { SMTP_URL: `smtp://127.0.0.1:${port}` });
    await assert.rejects(runDeadlineReminders(ctx), /reminder email\(s\) failed.*ECONNREFUSED/);
    const failed = (await teacher.get(`/api/stages/${stage.id}/reminders`)).body;
    assert.equal(failed.items.length, 3);
    assert.ok(failed.items.every((r: { status: string; email: string; error: string }) => r.status === 'failed' && r.email === 'failed' && /ECONNREFUSED/.test(r.error)));
    const retryAt = await nextReminderDue(t.db);
    assert.ok(retryAt !== null && retryAt > now, 'a retry is armed');
    const smtp = await smtpServer(port);
    try {
      await waitUntil(async () => {
        await runDeadlineReminders(ctx).catch(() => undefined);
        return smtp.received.length === 3;
      }, 30_000, 'the retries delivered');
      const rows = await t.db('reminder_outbox').where({ stage_id: stage.id });
      assert.ok(rows.every((r: { status: string; attempts: number }) => r.status === 'sent' && Number(r.attempts) >= 2));
    } finally {
      await smtp.close();
    }
  });

  test('a calendar feed: a secret address, iCalendar parsed by a real parser, the effective window, alarms; revoked is 404', async () => {
    const now = Date.now();
    const start = Math.floor(now / 1000) * 1000 - DAY;
    const end = start + 10 * DAY;
    const stage = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Final report', startDate: toIso(start), endDate: toIso(end), cutoffDate: toIso(end + DAY), reminders: ['P1D'] })).body;
    const made = await students[2].client.post('/api/me/calendar');
    assert.equal(made.status, 201);
    assert.match(made.body.url, /^http:\/\/localhost:3000\/calendar\/[A-Za-z0-9_-]{43}\.ics$/);
    const path = new URL(made.body.url).pathname;
    const res = await fetch(server.baseUrl + path);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/calendar/);
    const text = await res.text();
    assert.match(text, new RegExp(`DTSTART:${toIso(start).replace(/[-:]/g, '').replace(/\.\d{3}/, '')}`));
    const parsed = ical.sync.parseICS(text);
    const events = Object.values(parsed).filter((e): e is ical.VEvent => e?.type === 'VEVENT');
    const event = events.find((e) => e.uid === `stage-${stage.id}@localhost`);
    assert.ok(event, 'one event per stage with a stable UID');
    assert.equal(event.summary, 'Databases: Final report');
    assert.equal(event.start.getTime(), start);
    assert.equal(event.end?.getTime(), end);
    assert.match(typeof event.description === 'string' ? event.description : JSON.stringify(event.description), /Late work is taken/);
    assert.match(text, /BEGIN:VALARM/);
    // A new address replaces the old one; a revoked one is 404; a guessed one too.
    const again = await students[2].client.post('/api/me/calendar');
    assert.equal((await fetch(server.baseUrl + path)).status, 404);
    assert.equal((await fetch(server.baseUrl + new URL(again.body.url).pathname)).status, 200);
    assert.equal((await students[2].client.delete('/api/me/calendar')).status, 204);
    assert.equal((await fetch(server.baseUrl + new URL(again.body.url).pathname)).status, 404);
    assert.equal((await fetch(`${server.baseUrl}/calendar/${'A'.repeat(43)}.ics`)).status, 404);
  });

  test('the bell shows the unread count on every page; the notifications and profile pages', async () => {
    const user = await userWithToken(t.db, 'student');
    await teacher.post(`/api/courses/${courseId}/members`, { email: user.user.email });
    await t.db('notifications').insert({ user_id: user.user.id, kind: 'reminder', stage_id: null, at: Date.now(), text: 'Databases: closes soon' });
    const browser = new Browser(server.baseUrl);
    assert.equal((await browser.get('/profile')).status, 303, 'anonymous: to the login page');
    await browser.login(user.user.email, 'password-123');
    const courses = await browser.get('/courses');
    assert.match(courses.text, /class="bell__count">1</);
    const page = await browser.get('/notifications');
    assert.match(page.text, /Databases: closes soon/);
    assert.equal((await browser.post('/notifications/read-all', { _csrf: Browser.csrfFrom(page.text) })).status, 303);
    assert.match((await browser.get('/courses')).text, /class="bell__count">0</);
    const profile = await browser.get('/profile');
    const made = await browser.post('/profile/calendar', { _csrf: Browser.csrfFrom(profile.text) });
    assert.equal(made.status, 200);
    const url = /id="feed-url"[^>]*value="([^"]+)"/.exec(made.text)?.[1];
    assert.ok(url && /\/calendar\/[A-Za-z0-9_-]{43}\.ics$/.test(url), made.text.slice(0, 200));
    assert.match(made.text, /data-copy/);
    assert.equal((await fetch(server.baseUrl + new URL(url).pathname)).status, 200);
  });
});
