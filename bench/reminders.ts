// The reminder storm (issue 23): STUDENTS students (default 10,000) in
// COURSES courses (default 100) whose stages all hit a PT1H reminder at one
// instant T, emailed through a 2-worker cluster to a local SMTP server
// (smtp-server, in this process). Reported per round: the time from T to the
// last delivery, emails per second, and the p99 of API requests (CLIENTS
// keep-alive loops reading a course's stages) during the storm, as a ratio of
// the p99 of the same load without reminders measured just before it (the
// baseline), then the median and max over ROUNDS rounds (default 2).
//   npm run bench:reminders         STUDENTS=2000 ROUNDS=3 npm run bench:reminders
import http from 'node:http';
import { createTestDatabase } from '../test/helpers/database.js';
import { apiClient, userWithToken } from '../test/helpers/http.js';
import { removeCluster, requestOnNewConnection, startCluster } from '../test/helpers/cluster.js';
import { smtpServer } from '../test/helpers/smtp.js';
import { waitUntil } from '../test/helpers/wait.js';
import { DAY, HOUR, SECOND, sleep, toIso } from '../src/time.js';

const STUDENTS = Number(process.env.STUDENTS ?? 10_000);
const COURSES = Number(process.env.COURSES ?? 100);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const CLIENTS = Number(process.env.CLIENTS ?? 8);
const QUIET_MS = 8 * SECOND;

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)];
const median = (xs: number[]) => sorted(xs)[Math.floor((xs.length - 1) / 2)];

/** CLIENTS keep-alive loops on one path; each request's latency in ms, and how many were not 200. */
function load(url: string, token: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const latencies: number[] = [];
  let failed = 0;
  let running = true;
  const once = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - t0);
          else failed += 1;
          resolve();
        });
      });
      req.on('error', () => {
        failed += 1;
        resolve();
      });
    });
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (running) await once();
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return { latencies, failed };
    },
  };
}

const database = await createTestDatabase();
const smtp = await smtpServer();
const cluster = await startCluster({
  databaseUrl: database.url,
  workers: 2,
  env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, PUBLIC_URL: 'https://coursework.example.test', LOG_LEVEL: 'warn' },
});
try {
  // LOG_LEVEL=warn keeps request logs out of memory, so readiness is read over HTTP, not from the log.
  const ready = async () => (await requestOnNewConnection(`${cluster.baseUrl}/readyz`).catch(() => ({ status: 0 }))).status === 200;
  await waitUntil(ready, 30 * SECOND, 'the cluster is ready');
  const db = database.db;
  const teacher = apiClient(cluster.baseUrl, (await userWithToken(db, 'teacher')).token);
  const reader = await userWithToken(db, 'student');
  const courseIds: number[] = [];
  for (let c = 0; c < COURSES; c++) courseIds.push((await teacher.post('/api/courses', { title: `Course ${c}`, code: `RB-${c}` })).body.id as number);
  // Students straight into the tables, STUDENTS / COURSES per course: what is measured is the sending.
  const now = Date.now();
  const emails = Array.from({ length: STUDENTS }, (_, i) => `rb-${i}@example.test`);
  await db.batchInsert('users', emails.map((email) => ({ email, name: email, password_hash: 'x', role: 'student', created_at: now })), 500);
  const ids = (await db('users').whereIn('email', emails).orderBy('id').select('id')).map((u: { id: number }) => Number(u.id));
  await db.batchInsert('course_members', ids.map((user_id, i) => ({ course_id: courseIds[i % COURSES], user_id, created_at: now })), 500);
  await db('course_members').insert({ course_id: courseIds[0], user_id: reader.user.id, created_at: now });
  const path = `${cluster.baseUrl}/api/courses/${courseIds[0]}/stages`;
  // The reading student is in course 0 too, so each round reminds one more.
  const expected = STUDENTS + 1;
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const quiet = load(path, reader.token);
    await sleep(QUIET_MS);
    const base = await quiet.stop();
    // The instant T: far enough ahead that every stage exists before it.
    const at = Date.now() + 10 * SECOND;
    for (const courseId of courseIds) {
      const made = await teacher.post(`/api/courses/${courseId}/stages`, { name: `Round ${r}`, startDate: toIso(at - DAY), endDate: toIso(at + HOUR), reminders: ['PT1H'] });
      if (made.status !== 201) throw new Error(`stage: ${made.status} ${JSON.stringify(made.body)}`);
    }
    if (Date.now() > at - SECOND) throw new Error('creating the stages overran T');
    const before = smtp.received.length;
    while (Date.now() < at - SECOND) await sleep(50);
    const storm = load(path, reader.token);
    await waitUntil(() => smtp.received.length > before, 300 * SECOND, 'the first reminder delivered');
    const firstMs = Date.now() - at;
    await waitUntil(() => smtp.received.length - before >= expected, 300 * SECOND, 'every reminder delivered');
    const lastMs = Date.now() - at;
    const during = await storm.stop();
    const p99Quiet = pct(base.latencies, 0.99);
    const p99Storm = pct(during.latencies, 0.99);
    ratios.push(p99Storm / p99Quiet);
    console.log(
      `round ${r + 1}: ${expected.toLocaleString('en')} reminders delivered ${(lastMs / 1000).toFixed(1)} s after T, the first ${(firstMs / 1000).toFixed(1)} s after (${(expected / (lastMs / 1000)).toFixed(0)} emails/s from T); ` +
        `API p99 ${p99Storm.toFixed(1)} ms during (${during.latencies.length} requests, ${during.failed} not 200) against ${p99Quiet.toFixed(1)} ms quiet ` +
        `(${base.latencies.length} requests, ${base.failed} not 200): ${(p99Storm / p99Quiet).toFixed(2)}x`,
    );
  }
  console.log(`API p99 during the storm / quiet: median ${median(ratios).toFixed(2)}x, max ${Math.max(...ratios).toFixed(2)}x over ${ROUNDS} rounds`);
  const dup = smtp.received.length - new Set(smtp.received.map((m) => m.messageId)).size;
  console.log(`${smtp.received.length} emails received in all, ${dup} with a Message-ID seen before`);
} finally {
  await removeCluster(cluster);
  await smtp.close();
  await database.cleanup();
}
