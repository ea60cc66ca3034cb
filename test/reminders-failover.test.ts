// Reminders across a failover (issue 23): the leader is SIGKILLed in the
// middle of emailing a batch of 500 reminders to a real SMTP server; the next
// leader delivers the rest. Every student gets the reminder, and every
// message that arrived twice is the documented window (accepted by the mail
// server before the dead leader marked it sent): resent with the same
// Message-ID, at most one delivery batch (100) per leader death.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, userWithToken } from './helpers/http.js';
import { removeCluster, startReadyCluster, startedScheduler } from './helpers/cluster.js';
import { smtpServer, type TestSmtp } from './helpers/smtp.js';
import { waitUntil } from './helpers/wait.js';
import { DAY, HOUR, toIso } from '../src/time.js';

const STUDENTS = 500;
/** One delivery batch (docs/reminders.md): what one leader death may resend. */
const BATCH = 100;

let database: TestDatabase;
let smtp: TestSmtp;

before(async () => {
  database = await createTestDatabase();
  // Each message acknowledged 40 ms later: 500 over 5 connections take about 4 s, so the kill lands mid-way.
  smtp = await smtpServer(0, 40);
});

after(async () => {
  await smtp.close();
  await database.cleanup();
});

test(`kill -9 of the leader in the middle of 500 reminder emails: each student reminded, resends only within one batch and with the same Message-ID (${testDialect})`, { timeout: 120_000 }, async () => {
  const db = database.db;
  const cluster = await startReadyCluster({
    databaseUrl: database.url,
    workers: 2,
    env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, PUBLIC_URL: 'https://coursework.example.test', SCHEDULER_LOCK_STALE_MS: '10000', SCHEDULER_RETRY_MS: '5000' },
  });
  try {
    const teacher = apiClient(cluster.baseUrl, (await userWithToken(db, 'teacher')).token);
    const courseId = (await teacher.post('/api/courses', { title: 'Big course', code: `BIG-${Date.now()}` })).body.id as number;
    // 500 students straight into the tables: what is tested is the sending, not 500 sign-ups.
    const now = Date.now();
    const emails = Array.from({ length: STUDENTS }, (_, i) => `big-${i}-${now}@example.test`);
    await db.batchInsert('users', emails.map((email) => ({ email, name: email, password_hash: 'x', role: 'student', created_at: now })), 100);
    const ids = (await db('users').whereIn('email', emails).select('id')).map((u: { id: number }) => Number(u.id));
    await db.batchInsert('course_members', ids.map((user_id) => ({ course_id: courseId, user_id, created_at: now })), 100);
    // The PT1H reminder falls 3 s from now; creating the stage through the API pokes the leader's timer.
    const made = await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Final', startDate: toIso(now - DAY), endDate: toIso(Date.now() + HOUR + 3000), reminders: ['PT1H'] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const stageId = made.body.id as number;

    const leader = cluster.logs.filter(startedScheduler).at(-1)!.pid;
    await waitUntil(() => smtp.received.length >= 150, 60_000, 'the first 150 emails');
    process.kill(leader, 'SIGKILL');
    const killedAt = smtp.received.length;
    await cluster.waitForLog((l) => startedScheduler(l) && l.pid !== leader, 20_000, 'a new leader');

    const unique = () => new Set(smtp.received.map((m) => m.messageId)).size;
    await waitUntil(() => unique() === STUDENTS, 60_000, 'every reminder delivered');
    await waitUntil(async () => (await db('reminder_outbox').where({ stage_id: stageId }).whereNot({ email: 'sent' }).count({ n: '*' }).first())?.n == 0, 30_000, 'every outbox row marked sent');
    assert.ok(killedAt < STUDENTS, `the leader died with ${killedAt} of ${STUDENTS} delivered: mid-way`);

    // Each student: one Message-ID, their own, however often it arrived.
    const byRecipient = new Map<string, Set<string>>();
    for (const m of smtp.received) for (const to of m.to) byRecipient.set(to, (byRecipient.get(to) ?? new Set()).add(m.messageId));
    assert.deepEqual([...byRecipient.keys()].sort(), [...emails].sort());
    assert.ok([...byRecipient.values()].every((s) => s.size === 1), 'one Message-ID per student');
    assert.ok(smtp.received.every((m) => new RegExp(`^<reminder\\.${stageId}\\.\\d+\\.pt1h@coursework\\.example\\.test>$`).test(m.messageId)));
    const resent = smtp.received.length - STUDENTS;
    assert.ok(resent <= BATCH, `${resent} resent: more than one batch`);
    const rows = await db('reminder_outbox').where({ stage_id: stageId }).select('status');
    assert.equal(rows.length, STUDENTS, 'decided once: one row per student');
    assert.ok(rows.every((r: { status: string }) => r.status === 'sent'));
  } finally {
    await removeCluster(cluster);
  }
});
