// The deadline storm: the worst minute of a course platform. STAGES stages
// (5,000) in COURSES courses (50), STUDENTS students (2,000, each a member of
// one course, each with an API token), every stage closing at one instant T,
// about LEAD_S (20) seconds after the start. The built app runs as a cluster
// of WORKERS (4) with its scheduler; from T-10 s to T+5 s, CLIENTS (200)
// concurrent clients act as random students: half their requests hand in
// work for a random stage of the student's course, half read the course's
// stage list. Everything is seeded with direct inserts before the cluster
// starts, so the leader arms its boundary timer for T from the database.
//
// Reports the close lag (each transition's `at` minus the stage's end_date),
// submission latency before T and in the 2 s around T, page latency,
// submissions taken with created_at >= end_date (must be 0), refusals of work
// that arrived before the deadline by the database clock (must be 0), and
// failed requests (network errors, 5xx, any other answer than 200/201/409:
// must be 0).
//
// With OVERRIDES set (issue 22: 20,000), the storm is one of extensions: the
// stages close STAGE_EARLY_S (12) seconds before T for the class, and OVERRIDES
// students' own overrides (OVERRIDES / STUDENTS stages per student) end at T.
// The clients hand in only where the student has an override, so every
// hand-in before T must be taken and every one after refused; the lag is read
// from the override transitions (override_id set), beside the stages' closes
// at T-12 s in the same run.
//   npm run bench:storm                       (SQLite)
//   BENCH_MYSQL_URL=mysql://root@127.0.0.1:3306/test npm run bench:storm   (MySQL/MariaDB)
//   OVERRIDES=20000 npm run bench:storm       (the extensions' storm)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import knexFactory, { type Knex } from 'knex';
import { connect, knexConfig } from '../src/db/connect.js';
import { migrateLatest } from '../src/db/migrations.js';
import { numberFromDb } from '../src/db/rows.js';
import { HOUR, SECOND, sleep } from '../src/time.js';

const STAGES = Number(process.env.STAGES ?? 5000);
const COURSES = Number(process.env.COURSES ?? 50);
const STUDENTS = Number(process.env.STUDENTS ?? 2000);
const CLIENTS = Number(process.env.CLIENTS ?? 200);
const WORKERS = Number(process.env.WORKERS ?? 4);
const LEAD_MS = Number(process.env.LEAD_S ?? 20) * SECOND;
const BEFORE_MS = 10 * SECOND;
const AFTER_MS = 5 * SECOND;
const OVERRIDES = Number(process.env.OVERRIDES ?? 0);
const STAGE_EARLY_MS = Number(process.env.STAGE_EARLY_S ?? 12) * SECOND;
/** Where the students hand in: each stage of their course, or (OVERRIDES) only those they have an extension on. */
type Targets = Map<number, number[]>;

interface Sample {
  kind: 'submit' | 'page';
  sentAt: number;
  ms: number;
  status: number;
  /** 201: the submission's created_at; 409: the arrival the app judged. */
  serverAt?: number;
  refusal?: string;
  error?: string;
}

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
};
const fmt = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(0));
const fmtOffset = (v: number) => `${v < 0 ? '-' : '+'}${Math.abs(v).toFixed(0)} ms`;

async function chunks<T>(rows: T[], size: number, insert: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += size) await insert(rows.slice(i, i + size));
}

/** Users, tokens, courses, memberships and stages, by direct inserts; returns each student's token and course. */
async function seed(db: Knex, deadline: number): Promise<{ students: { token: string; courseId: number; userId: number }[]; stagesByCourse: Map<number, number[]> }> {
  const chunk = db.client.config.client === 'mysql2' ? 1000 : 100; // SQLite caps bound parameters per statement
  const now = Date.now();
  const [teacherId] = await db('users').insert({ email: 'storm-teacher@bench.test', name: 'Teacher', password_hash: 'x', role: 'teacher', created_at: now });
  const courseRows = Array.from({ length: COURSES }, (_, i) => ({ title: `Storm ${i}`, code: `STORM-${i}`, timezone: 'UTC', teacher_id: teacherId, created_at: now, updated_at: now }));
  await chunks(courseRows, chunk, (rows) => db('courses').insert(rows));
  const courseIds = (await db('courses').orderBy('id').select('id')).map((r: { id: number }) => Number(r.id));

  const userRows = Array.from({ length: STUDENTS }, (_, i) => ({ email: `storm-student-${i}@bench.test`, name: `Student ${i}`, password_hash: 'x', role: 'student', created_at: now }));
  await chunks(userRows, chunk, (rows) => db('users').insert(rows));
  const studentIds = (await db('users').where('role', 'student').orderBy('id').select('id')).map((r: { id: number }) => Number(r.id));
  const tokens = studentIds.map(() => `cw_${randomBytes(32).toString('base64url')}`);
  await chunks(
    studentIds.map((id, i) => ({ user_id: id, token_hash: createHash('sha256').update(tokens[i]).digest('hex'), label: 'storm', created_at: now })),
    chunk,
    (rows) => db('api_tokens').insert(rows),
  );
  await chunks(
    studentIds.map((id, i) => ({ course_id: courseIds[i % COURSES], user_id: id, created_at: now })),
    chunk,
    (rows) => db('course_members').insert(rows),
  );
  const stageRows = Array.from({ length: STAGES }, (_, i) => ({
    course_id: courseIds[i % COURSES],
    name: `Stage ${Math.floor(i / COURSES) + 1}`,
    description: 'Hand in your work before the deadline',
    start_date: deadline - HOUR,
    end_date: OVERRIDES > 0 ? deadline - STAGE_EARLY_MS : deadline,
    status: 'active',
    created_at: now,
    updated_at: now,
  }));
  await chunks(stageRows, chunk, (rows) => db('stages').insert(rows));
  const stagesByCourse = new Map<number, number[]>();
  for (const row of await db('stages').select<{ id: number; course_id: number }[]>('id', 'course_id')) {
    const list = stagesByCourse.get(Number(row.course_id)) ?? [];
    list.push(Number(row.id));
    stagesByCourse.set(Number(row.course_id), list);
  }
  return { students: studentIds.map((id, i) => ({ token: tokens[i], courseId: courseIds[i % COURSES], userId: id })), stagesByCourse };
}

/** OVERRIDES per-student overrides ending at T, spread evenly: student i gets the first OVERRIDES / STUDENTS stages of their course. */
async function seedOverrides(db: Knex, deadline: number, students: { userId: number; courseId: number }[], stagesByCourse: Map<number, number[]>): Promise<Targets> {
  const perStudent = Math.ceil(OVERRIDES / students.length);
  const now = Date.now();
  const rows: Record<string, unknown>[] = [];
  const targets: Targets = new Map();
  for (const student of students) {
    const stages = stagesByCourse.get(student.courseId)!.slice(0, Math.min(perStudent, OVERRIDES - rows.length));
    if (stages.length < Math.min(perStudent, OVERRIDES - rows.length)) throw new Error('more overrides per student than stages per course: raise STAGES');
    targets.set(student.userId, stages);
    for (const stageId of stages) {
      rows.push({ stage_id: stageId, user_id: student.userId, end_date: deadline, reason: 'bench extension', status: 'active', created_at: now, updated_at: now });
    }
  }
  await chunks(rows, db.client.config.client === 'mysql2' ? 1000 : 100, (chunk) => db('stage_overrides').insert(chunk));
  return targets;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function request(agent: http.Agent, port: number, method: string, urlPath: string, token: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function storm(label: string, url: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-storm-'));
  const db = connect(url);
  let app: ChildProcess | undefined;
  const logFile = path.join(dir, 'app.log');
  try {
    await migrateLatest(db);
    const deadline = Date.now() + LEAD_MS;
    const t0 = performance.now();
    const { students, stagesByCourse } = await seed(db, deadline);
    const overridden = OVERRIDES > 0 ? await seedOverrides(db, deadline, students, stagesByCourse) : undefined;
    const closing = OVERRIDES > 0 ? `closing at T-${STAGE_EARLY_MS / SECOND} s, ${OVERRIDES} student overrides ending at T` : 'closing at T';
    console.log(`${label}: seeded ${STUDENTS} students, ${COURSES} courses, ${STAGES} stages ${closing} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const port = await freePort();
    const log = fs.openSync(logFile, 'a');
    app = spawn(process.execPath, ['dist/main.js'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        WEB_CONCURRENCY: String(WORKERS),
        DATABASE_URL: url,
        DATA_DIR: dir,
        SCHEDULER_LOCK_FILE: path.join(dir, 'scheduler.lock'),
        LOG_LEVEL: 'info',
        DEMO_DATA: 'false',
      },
      stdio: ['ignore', log, log],
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const until = deadline - BEFORE_MS;
    for (;;) {
      const ok = await request(agent, port, 'GET', '/readyz', '').then((r) => r.status === 200, () => false);
      if (ok && fs.readFileSync(logFile, 'utf8').includes('scheduler started')) break;
      if (Date.now() > until) throw new Error('the cluster was not ready with a leader 10 s before T; raise LEAD_S');
      await sleep(200);
    }
    await sleep(Math.max(0, until - Date.now()));

    const samples: Sample[] = [];
    const end = deadline + AFTER_MS;
    const client = async () => {
      while (Date.now() < end) {
        const student = students[Math.floor(Math.random() * students.length)];
        const submit = Math.random() < 0.5;
        const sentAt = Date.now();
        const began = performance.now();
        try {
          if (submit) {
            const stages = overridden?.get(student.userId) ?? stagesByCourse.get(student.courseId)!;
            const stageId = stages[Math.floor(Math.random() * stages.length)];
            const res = await request(agent, port, 'POST', `/api/stages/${stageId}/submissions`, student.token, { body: `work sent at ${sentAt}` });
            const json = res.json as { createdAt?: string; error?: { code: string; details?: { status?: string; receivedAt?: string } } };
            samples.push({
              kind: 'submit',
              sentAt,
              ms: performance.now() - began,
              status: res.status,
              serverAt: res.status === 201 ? Date.parse(json.createdAt!) : json.error?.details?.receivedAt ? Date.parse(json.error.details.receivedAt) : undefined,
              refusal: res.status === 409 ? json.error?.details?.status : undefined,
            });
          } else {
            const res = await request(agent, port, 'GET', `/api/courses/${student.courseId}/stages`, student.token);
            samples.push({ kind: 'page', sentAt, ms: performance.now() - began, status: res.status });
          }
        } catch (err) {
          samples.push({ kind: submit ? 'submit' : 'page', sentAt, ms: performance.now() - began, status: 0, error: (err as Error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    agent.destroy();
    // Let the sweep finish if it is still going (it is not, unless something is wrong).
    await sleep(1000);
    report(label, deadline, samples, await results(db, deadline));
  } catch (err) {
    if (fs.existsSync(logFile)) console.error(`the app's last log lines:\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`);
    throw err;
  } finally {
    if (app && app.exitCode === null) {
      const exited = new Promise((resolve) => app!.once('exit', resolve));
      app.kill('SIGTERM');
      await exited;
    }
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function results(db: Knex, deadline: number) {
  const closes = await db('stage_transitions as t')
    .join('stages as s', 's.id', 't.stage_id')
    .where('t.to_status', 'completed')
    .whereNull('t.override_id')
    .select<{ stage_id: number; at: unknown; cause: string; end_date: unknown }[]>('t.stage_id', 't.at', 't.cause', 's.end_date');
  const overrideCloses = await db('stage_transitions as t')
    .join('stage_overrides as o', 'o.id', 't.override_id')
    .where('t.to_status', 'completed')
    .select<{ override_id: number; at: unknown; end_date: unknown }[]>('t.override_id', 't.at', 'o.end_date');
  // Taken at or after the end that applied to it: the student's own where they have one.
  const late =
    OVERRIDES > 0
      ? await db('submissions as sub')
          .join('stage_overrides as o', (j) => j.on('o.stage_id', 'sub.stage_id').andOn('o.user_id', 'sub.student_id'))
          .whereRaw('sub.created_at >= o.end_date')
          .count({ n: '*' })
          .first()
      : await db('submissions as sub').join('stages as s', 's.id', 'sub.stage_id').whereRaw('sub.created_at >= s.end_date').count({ n: '*' }).first();
  const overridesOpen = await db('stage_overrides').whereNot('status', 'completed').count({ n: '*' }).first();
  const taken = await db('submissions').count({ n: '*' }).first();
  const open = await db('stages').whereNot('status', 'completed').count({ n: '*' }).first();
  // The sweep's fire at T: when it started and finished, after T.
  const fires = await db('job_executions')
    .where('job_id', 'stage-status-sweep')
    .whereBetween('scheduled_for', [deadline - SECOND, deadline + 5 * SECOND])
    .orderBy('id')
    .select<{ scheduled_for: unknown; started_at: unknown; finished_at: unknown; status: string }[]>('scheduled_for', 'started_at', 'finished_at', 'status');
  return {
    lags: closes.map((c) => numberFromDb(c.at) - numberFromDb(c.end_date)),
    overrideLags: overrideCloses.map((c) => numberFromDb(c.at) - numberFromDb(c.end_date)),
    overridesClosed: new Set(overrideCloses.map((c) => Number(c.override_id))).size,
    overrideRows: overrideCloses.length,
    overridesOpen: Number(overridesOpen?.n ?? 0),
    closedStages: new Set(closes.map((c) => Number(c.stage_id))).size,
    closeRows: closes.length,
    causes: closes.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.cause]: (acc[c.cause] ?? 0) + 1 }), {}),
    stillOpen: Number(open?.n ?? 0),
    takenLate: Number(late?.n ?? 0),
    taken: Number(taken?.n ?? 0),
    fires: fires.map((f) => `${f.status} scheduled T${fmtOffset(numberFromDb(f.scheduled_for) - deadline)}, started T${fmtOffset(numberFromDb(f.started_at) - deadline)}, finished T${f.finished_at === null ? '?' : fmtOffset(numberFromDb(f.finished_at) - deadline)}`),
    deadline,
  };
}

function report(label: string, T: number, samples: Sample[], db: Awaited<ReturnType<typeof results>>): void {
  const submits = samples.filter((s) => s.kind === 'submit');
  const pages = samples.filter((s) => s.kind === 'page');
  const failed = samples.filter((s) => s.status === 0 || s.status >= 500 || ![200, 201, 409].includes(s.status));
  const before = submits.filter((s) => s.sentAt >= T - BEFORE_MS && s.sentAt < T - SECOND).map((s) => s.ms);
  const around = submits.filter((s) => s.sentAt >= T - SECOND && s.sentAt <= T + SECOND).map((s) => s.ms);
  const pagesAround = pages.filter((s) => s.sentAt >= T - SECOND && s.sentAt <= T + SECOND).map((s) => s.ms);
  const refusedClosed = submits.filter((s) => s.status === 409 && s.refusal === 'completed');
  const refusedArrivedBefore = refusedClosed.filter((s) => s.serverAt !== undefined && s.serverAt < T).length;
  const refusedAnsweredBefore = refusedClosed.filter((s) => s.sentAt + s.ms < T).length;
  const refusedSentBefore = refusedClosed.filter((s) => s.sentAt < T);
  const accepted = submits.filter((s) => s.status === 201);
  const acceptedSentAfter = accepted.filter((s) => s.sentAt >= T).length;
  // From the client's send to the app's stamp of its arrival (same machine, same clock).
  const toApp = submits.filter((s) => s.serverAt !== undefined).map((s) => s.serverAt! - s.sentAt);
  const window = (BEFORE_MS + AFTER_MS) / 1000;

  console.log(`${label}: ${samples.length} requests in ${window} s (${(samples.length / window).toFixed(0)}/s) from ${CLIENTS} clients on ${WORKERS} workers: ${submits.length} submissions (${accepted.length} taken, ${refusedClosed.length} refused as closed), ${pages.length} page reads`);
  console.log(`${label}: close lag (at - end_date) over ${db.closeRows} transitions of ${db.closedStages} stages (${db.stillOpen} not closed; by cause ${JSON.stringify(db.causes)}): p50 ${fmt(percentile(db.lags, 0.5))} ms, p99 ${fmt(percentile(db.lags, 0.99))} ms, max ${fmt(Math.max(...db.lags))} ms`);
  if (OVERRIDES > 0) {
    console.log(
      `${label}: override close lag (at - the override's end_date) over ${db.overrideRows} transitions of ${db.overridesClosed} overrides (${db.overridesOpen} not closed): ` +
        `p50 ${fmt(percentile(db.overrideLags, 0.5))} ms, p99 ${fmt(percentile(db.overrideLags, 0.99))} ms, max ${fmt(Math.max(...db.overrideLags))} ms`,
    );
  }
  console.log(`${label}: the sweep's fires at T: ${db.fires.join('; ') || 'none'}`);
  console.log(`${label}: submission latency before T (T-10 s to T-1 s): p50 ${fmt(percentile(before, 0.5))} ms, p99 ${fmt(percentile(before, 0.99))} ms (n ${before.length}); around T (T-1 s to T+1 s): p50 ${fmt(percentile(around, 0.5))} ms, p99 ${fmt(percentile(around, 0.99))} ms, max ${fmt(Math.max(...around))} ms (n ${around.length})`);
  console.log(`${label}: page latency p99 ${fmt(percentile(pages.map((s) => s.ms), 0.99))} ms (p50 ${fmt(percentile(pages.map((s) => s.ms), 0.5))} ms; around T p99 ${fmt(percentile(pagesAround, 0.99))} ms)`);
  console.log(`${label}: taken with created_at >= ${OVERRIDES > 0 ? "the override's" : 'the stage\'s'} end_date: ${db.takenLate} (of ${db.taken} in the database); refused as closed although they arrived before T by the database clock: ${refusedArrivedBefore}; refused with the answer back before T: ${refusedAnsweredBefore}; failed requests: ${failed.length}`);
  console.log(
    `${label}: sent before T but refused (reached the app after T): ${refusedSentBefore.length}` +
      (refusedSentBefore.length ? `, sent at most ${fmt(Math.max(...refusedSentBefore.map((s) => T - s.sentAt)))} ms before T` : '') +
      `; taken although sent after T: ${acceptedSentAfter}; from send to the app's arrival stamp: p50 ${fmt(percentile(toApp, 0.5))} ms, p99 ${fmt(percentile(toApp, 0.99))} ms`,
  );
  if (failed.length) console.log(`${label}: first failures: ${failed.slice(0, 5).map((s) => `${s.kind} ${s.status} ${s.error ?? ''}`).join('; ')}`);
}

if (process.env.BENCH_MYSQL_URL) {
  const base = process.env.BENCH_MYSQL_URL;
  const name = `cw_storm_${randomBytes(3).toString('hex')}`;
  const admin = knexFactory(knexConfig(base));
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  try {
    await storm('mysql', url.toString());
  } finally {
    await admin.raw(`DROP DATABASE \`${name}\``);
    await admin.destroy();
  }
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-storm-db-'));
  try {
    await storm('sqlite', `sqlite:${path.join(dir, 'storm.sqlite')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
