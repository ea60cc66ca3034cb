// How long one sweep takes when many stages are due at once.
// Seeds STAGES stages (default 1,000,000) of which DUE (default 100,000) are
// due, then times advanceStageStatuses (batches of BATCH, default
// SWEEP_BATCH_SIZE: 5,000 on MySQL, one set-based batch on SQLite), reporting its batches and the longest one (the longest
// it held any lock). Meanwhile another process hands in work for due stages
// in a loop, as a student would (lock the membership row, insert the
// submission, whose foreign key check reads the stage row the sweep may be
// holding): its latencies during the sweep say how long a sweep blocks a
// submission. Then the same update as bare SQL on a second, identical
// database (bareReference), and the sweep's time as a ratio of it.
// Runs on a fresh SQLite file, and on MySQL/MariaDB too when
// BENCH_MYSQL_URL (a server URL whose user may create databases) is set.
//   npm run bench:stages            STAGES=200000 DUE=20000 BATCH=2000 npm run bench:stages
//   BENCH_ONLY=mysql BENCH_MYSQL_URL=... node --import tsx bench/stage-sweep.ts   (MySQL alone)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { connect, knexConfig } from '../src/db/connect.js';
import { migrateLatest } from '../src/db/migrations.js';
import { advanceStageStatuses, SWEEP_BATCH_SIZE } from '../src/domain/stage-lifecycle.js';
import { transactions } from '../src/db/transactions.js';
import { dbNowMs } from '../src/db/clock.js';
import { lockRows } from '../src/db/locks.js';
import { DAY, HOUR, sleep } from '../src/time.js';

const STAGES = Number(process.env.STAGES ?? 1_000_000);
const DUE = Number(process.env.DUE ?? 100_000);
const BATCH = 2_000;
const BATCH_ENV = process.env.BATCH ? Number(process.env.BATCH) : undefined;

async function seed(db: Knex): Promise<{ courseId: number; studentId: number }> {
  const [teacherId] = await db('users').insert({ email: 'bench@example.test', name: '', password_hash: 'x', role: 'teacher', created_at: 0 });
  const [studentId] = await db('users').insert({ email: 'student@example.test', name: '', password_hash: 'x', role: 'student', created_at: 0 });
  const [courseId] = await db('courses').insert({ title: 'Bench', code: 'BENCH', timezone: 'UTC', teacher_id: teacherId, created_at: 0, updated_at: 0 });
  await db('course_members').insert({ course_id: courseId, user_id: studentId, created_at: 0 });
  const now = await dbNowMs(db);
  for (let i = 0; i < STAGES; i += BATCH) {
    const rows = [];
    for (let j = i; j < Math.min(i + BATCH, STAGES); j++) {
      // The first DUE stages are due: half open now, half whose window passed.
      const due = j < DUE;
      const start = due ? now - HOUR - j : now + DAY + j * 1000;
      const end = due && j % 2 === 0 ? now - 1 - (j % 1000) : start + 30 * DAY;
      rows.push({ course_id: courseId, name: `stage ${j}`, description: '', start_date: start, end_date: end, status: 'pending', created_at: now, updated_at: now });
    }
    // SQLite caps bound parameters per statement; mysql does not mind.
    await db.batchInsert('stages', rows, db.client.config.client === 'mysql2' ? BATCH : 100);
  }
  return { courseId: Number(courseId), studentId: Number(studentId) };
}

/**
 * The submission probe, in a process of its own (on SQLite a second
 * connection in the sweep's process would wait for the write lock with the
 * sweep's thread asleep). Hands in work for random due stages until its
 * stdin closes, 5 ms apart, then prints [startedAt, ms] of each.
 */
async function probe(url: string, courseId: number, studentId: number, due: number): Promise<void> {
  const db = connect(url);
  const [{ first }] = await db('stages').min<{ first: number }[]>({ first: 'id' });
  const samples: [number, number][] = [];
  let running = true;
  readline.createInterface({ input: process.stdin }).on('close', () => (running = false));
  process.stdout.write('ready\n');
  while (running) {
    const stageId = Number(first) + Math.floor(Math.random() * due);
    const startedAt = Date.now();
    const t0 = performance.now();
    await db.transaction(async (trx) => {
      await lockRows(trx, 'course_members', { course_id: courseId, user_id: studentId }, 'created_at');
      const now = await dbNowMs(trx);
      await trx('submissions').where({ stage_id: stageId, student_id: studentId }).count({ n: '*' });
      await trx('submissions').insert({ stage_id: stageId, student_id: studentId, body: 'work', link: null, created_at: now });
    });
    samples.push([startedAt, performance.now() - t0]);
    await sleep(5); // a student's pace, not a tight loop that keeps SQLite's write lock to itself
  }
  process.stdout.write(JSON.stringify(samples) + '\n');
  await db.destroy();
}

function startProbe(url: string, ids: { courseId: number; studentId: number }) {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], 'probe', url, String(ids.courseId), String(ids.studentId), String(DUE)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
  return {
    ready: next(),
    async stop(): Promise<[number, number][]> {
      const result = next();
      child.stdin.end();
      return JSON.parse(await result) as [number, number][];
    },
  };
}

/**
 * The same work as bare SQL on a second, identically seeded database: one
 * set-based UPDATE of the due stages' status, and that UPDATE after one
 * INSERT ... SELECT of their history, each in one transaction with nothing
 * else (no batches, no locks beyond the statements' own). What the sweep's
 * time is divided by, so its figure holds on a slower or busier machine.
 */
async function bareReference(url: string): Promise<{ update: number; withHistory: number }> {
  const db = connect(url);
  try {
    await migrateLatest(db);
    await seed(db);
    const now = await dbNowMs(db);
    const due = 'next_boundary <= ?';
    const timed = async (work: (trx: Knex.Transaction) => Promise<unknown>) => {
      const t0 = performance.now();
      await db.transaction(work);
      return performance.now() - t0;
    };
    const history = "INSERT INTO stage_transitions (stage_id, from_status, to_status, at, cause) SELECT id, 'pending', 'active', ?, 'sweep' FROM stages WHERE " + due;
    const update = "UPDATE stages SET status = CASE WHEN end_date <= ? THEN 'completed' ELSE 'active' END WHERE " + due;
    const withHistory = await timed(async (trx) => {
      await trx.raw(history, [now, now]);
      await trx.raw(update, [now, now]);
    });
    // Back to pending (not timed), then the UPDATE alone.
    await db('stage_transitions').delete();
    await db('stages').whereIn('status', ['active', 'completed']).update({ status: 'pending' });
    const alone = await timed((trx) => trx.raw(update, [now, now]));
    return { update: alone, withHistory };
  } finally {
    await db.destroy();
  }
}

async function bench(label: string, url: string, drop: () => Promise<void>, referenceUrl: string, dropReference: () => Promise<void>): Promise<void> {
  const db = connect(url);
  let sweepMs: number | undefined;
  try {
    await migrateLatest(db);
    let t0 = performance.now();
    const ids = await seed(db);
    console.log(`${label}: seeded ${STAGES.toLocaleString('en')} stages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const submissions = startProbe(url, ids);
    await submissions.ready;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sweepFrom = Date.now();
    t0 = performance.now();
    const batchSize = BATCH_ENV ?? SWEEP_BATCH_SIZE[label === 'mysql' ? 'mysql' : 'sqlite'];
    const result = await advanceStageStatuses(transactions(db), 'sweep', { batchSize });
    const ms = performance.now() - t0;
    sweepMs = ms;
    const sweepTo = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const samples = await submissions.stop();
    console.log(
      `${label}: sweep of ${DUE.toLocaleString('en')} due stages took ${ms.toFixed(0)} ms (activated ${result.activated}, completed ${result.completed}) ` +
        `in ${result.batches} batch${result.batches === 1 ? '' : 'es'}${Number.isFinite(batchSize) ? ` of up to ${batchSize.toLocaleString('en')}` : ' (set-based, unbounded)'}, the longest ${result.longestBatchMs.toFixed(0)} ms`,
    );
    const during = samples.filter(([at, took]) => at <= sweepTo && at + took >= sweepFrom).map(([, took]) => took).sort((a, b) => a - b);
    const before = samples.filter(([at]) => at < sweepFrom - 50).map(([, took]) => took).sort((a, b) => a - b);
    const q = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)].toFixed(0) : '-');
    console.log(
      `${label}: submissions during the sweep: ${during.length}, p50 ${q(during, 0.5)} ms, max ${q(during, 1)} ms ` +
        `(before it: ${before.length}, p50 ${q(before, 0.5)} ms, max ${q(before, 1)} ms)`,
    );
    // Right after a large write MariaDB is still purging the old row versions,
    // so the first idle sweeps are slower than the settled ones: report both.
    const idle: number[] = [];
    for (let i = 0; i < 10; i++) {
      t0 = performance.now();
      await advanceStageStatuses(transactions(db), 'sweep');
      idle.push(performance.now() - t0);
    }
    const settled = [...idle.slice(5)].sort((a, b) => a - b)[2];
    console.log(`${label}: idle sweeps over ${STAGES.toLocaleString('en')} stages: first ${idle[0].toFixed(1)} ms, median of sweeps 6-10 ${settled.toFixed(1)} ms`);
  } finally {
    await db.destroy();
    await drop();
  }
  try {
    if (sweepMs === undefined) return;
    const bare = await bareReference(referenceUrl);
    console.log(
      `${label}: bare SQL on an identical database: UPDATE ${bare.update.toFixed(0)} ms, INSERT ... SELECT of the history + UPDATE ${bare.withHistory.toFixed(0)} ms; ` +
        `the sweep took ${(sweepMs / bare.update).toFixed(2)}x the UPDATE, ${(sweepMs / bare.withHistory).toFixed(2)}x both`,
    );
  } finally {
    await dropReference();
  }
}

if (process.argv[2] === 'probe') {
  await probe(process.argv[3], Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6]));
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-bench-'));
  if (process.env.BENCH_ONLY !== 'mysql') {
    const remove = (name: string) => async () => {
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, name + suffix), { force: true });
    };
    await bench('sqlite', `sqlite:${path.join(dir, 'bench.sqlite')}`, remove('bench.sqlite'), `sqlite:${path.join(dir, 'bare.sqlite')}`, remove('bare.sqlite'));
  }
  fs.rmSync(dir, { recursive: true, force: true });

  const mysqlBase = process.env.BENCH_MYSQL_URL;
  if (mysqlBase) {
    const admin = knexFactory(knexConfig(mysqlBase));
    const database = async () => {
      const name = `cw_bench_${randomBytes(3).toString('hex')}`;
      await admin.raw(`CREATE DATABASE \`${name}\``);
      const url = new URL(mysqlBase);
      url.pathname = `/${name}`;
      return { url: url.toString(), drop: () => admin.raw(`DROP DATABASE IF EXISTS \`${name}\``).then(() => undefined) };
    };
    const [main, reference] = [await database(), await database()];
    try {
      await bench('mysql', main.url, main.drop, reference.url, reference.drop);
    } finally {
      await admin.destroy();
    }
  }
}
