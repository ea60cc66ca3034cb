// Overrides at scale (issue 22): STAGES stages (default 1,000,000) and
// OVERRIDES overrides (default 200,000), each figure a ratio against a
// baseline measured in the same run on the same database:
//  - the idle due-time lookup (nextBoundary: the next boundary of all stages
//    and overrides, what the leader arms its timer for), with the overrides
//    against the same lookup before any override existed;
//  - the effective-window lookup a hand-in makes (overrideFor, random stages,
//    a fifth of them with an override), against the same before any existed;
//  - a storm: STORM (default 20,000) overrides ending at one instant, swept
//    by advanceOverrideStatuses, against STORM stages ending at one instant
//    swept by advanceStageStatuses; lag = transition `at` minus the boundary.
// Median and max over ROUNDS rounds (default 5); the storm rounds alternate
// stages and overrides, the lookups run their baseline rounds first (before
// the overrides are added). No HTTP load runs
// meanwhile (bench:storm does that for stages).
// Seeding is set-based (INSERT ... SELECT doubling the table in one
// transaction each), so 1,000,000 rows take seconds on SQLite.
//   node --import tsx bench/overrides.ts     (also the last part of npm run bench:stages)
//   BENCH_MYSQL_URL=... adds MySQL/MariaDB; BENCH_ONLY=mysql runs only that
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { connect, knexConfig } from '../src/db/connect.js';
import { migrateLatest } from '../src/db/migrations.js';
import { dbNowMs } from '../src/db/clock.js';
import { transactions } from '../src/db/transactions.js';
import { numberFromDb } from '../src/db/rows.js';
import { advanceStageStatuses } from '../src/domain/stage-lifecycle.js';
import { advanceOverrideStatuses } from '../src/domain/override-lifecycle.js';
import { overrideFor } from '../src/domain/effective-window.js';
import { nextBoundary } from '../src/jobs/stage-status-sweep.js';
import { DAY, sleep } from '../src/time.js';

const STAGES = Number(process.env.STAGES ?? 1_000_000);
const OVERRIDES = Number(process.env.OVERRIDES ?? 200_000);
const STORM = Number(process.env.STORM ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const LOOKUPS = 200;
const FAR = 400 * DAY;

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[Math.floor((xs.length - 1) / 2)];
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)];
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));

async function seed(db: Knex): Promise<{ studentId: number; firstStage: number; now: number }> {
  const [teacherId] = await db('users').insert({ email: 'bench@example.test', name: '', password_hash: 'x', role: 'teacher', created_at: 0 });
  const [studentId] = await db('users').insert({ email: 'student@example.test', name: '', password_hash: 'x', role: 'student', created_at: 0 });
  const [courseId] = await db('courses').insert({ title: 'Bench', code: 'BENCH', timezone: 'UTC', teacher_id: teacherId, created_at: 0, updated_at: 0 });
  await db('course_members').insert({ course_id: courseId, user_id: studentId, created_at: 0 });
  const now = await dbNowMs(db);
  // Every stage open now and ending in the future: nothing is due, the sweep is idle.
  const first = Array.from({ length: Math.min(1000, STAGES) }, (_, j) => ({ course_id: courseId, name: `stage ${j}`, description: '', start_date: now - DAY, end_date: now + FAR + j * 1000, status: 'active', created_at: now, updated_at: now }));
  await db.batchInsert('stages', first, 100);
  for (let count = first.length; count < STAGES; count *= 2) {
    const take = Math.min(count, STAGES - count);
    // Doubles the table in one statement; later copies end later, so ends stay spread out.
    await db.transaction((trx) =>
      trx.raw(
        'INSERT INTO stages (course_id, name, description, start_date, end_date, status, created_at, updated_at) ' +
          "SELECT course_id, name, description, start_date, end_date + ?, status, created_at, updated_at FROM stages ORDER BY id LIMIT ?",
        [count * 1000, take],
      ),
    );
  }
  const [{ firstStage }] = await db('stages').min<{ firstStage: number }[]>({ firstStage: 'id' });
  return { studentId: Number(studentId), firstStage: Number(firstStage), now };
}

/** One override per stage on the first OVERRIDES stages, for the one student, each ending a day after its stage. */
async function addOverrides(db: Knex, studentId: number, now: number): Promise<void> {
  await db.transaction((trx) =>
    trx.raw(
      'INSERT INTO stage_overrides (stage_id, user_id, start_date, end_date, status, created_at, updated_at) ' +
        "SELECT id, ?, start_date, end_date + ?, 'active', ?, ? FROM stages ORDER BY id LIMIT ?",
      [studentId, DAY, now, now, OVERRIDES],
    ),
  );
}

/** ROUNDS rounds of LOOKUPS calls each; each round's median per call. */
async function timeRounds(work: (i: number) => Promise<unknown>): Promise<number[]> {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const each: number[] = [];
    for (let i = 0; i < LOOKUPS; i++) {
      const t0 = performance.now();
      await work(i);
      each.push(performance.now() - t0);
    }
    rounds.push(median(each));
  }
  return rounds;
}

interface StormRound {
  sweepMs: number;
  lags: number[];
}

/** STORM rows of `table` (ids from `fromId`) end at one instant just ahead; sweeps once the database clock passes it. */
async function storm(db: Knex, table: 'stages' | 'stage_overrides', fromId: number): Promise<StormRound> {
  const at = (await dbNowMs(db)) + 500;
  const range = (q: Knex.QueryBuilder) => q.where('id', '>=', fromId).andWhere('id', '<', fromId + STORM);
  await range(db(table)).update({ end_date: at });
  while ((await dbNowMs(db)) < at) await sleep(5);
  const t0 = performance.now();
  let lags: number[];
  if (table === 'stage_overrides') lags = (await advanceOverrideStatuses(transactions(db), 'timer')).lags;
  else {
    await advanceStageStatuses(transactions(db), 'timer');
    const rows = await db('stage_transitions').whereNull('override_id').andWhere('stage_id', '>=', fromId).andWhere('stage_id', '<', fromId + STORM).select('at');
    lags = rows.map((r: { at: unknown }) => numberFromDb(r.at) - at);
  }
  const sweepMs = performance.now() - t0;
  if (lags.length !== STORM) throw new Error(`${table}: ${lags.length} transitions recorded, ${STORM} expected`);
  // Back to open and far ahead (not timed), for the next round.
  await range(db(table)).update({ status: 'active', end_date: at + FAR });
  await db('stage_transitions').delete();
  return { sweepMs, lags };
}

function report(label: string, what: string, base: number[], measured: number[]): void {
  const ratios = measured.map((m, i) => m / base[i]);
  console.log(
    `${label}: ${what}: baseline ${base.map(ms).join(', ')} ms; measured ${measured.map(ms).join(', ')} ms; ` +
      `ratio per round ${ratios.map((r) => r.toFixed(2)).join(', ')}, median ${median(ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)}; ` +
      `measured median ${ms(median(measured))} ms, max ${ms(Math.max(...measured))} ms`,
  );
}

async function bench(label: string, url: string, drop: () => Promise<void>): Promise<void> {
  const db = connect(url);
  try {
    await migrateLatest(db);
    let t0 = performance.now();
    const { studentId, firstStage, now } = await seed(db);
    console.log(`${label}: seeded ${STAGES.toLocaleString('en')} stages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const stageAt = (i: number) => firstStage + ((i * 7919) % OVERRIDES) * Math.floor(STAGES / OVERRIDES);
    const lookupBase = await timeRounds(() => nextBoundary(db));
    const windowBase = await timeRounds((i) => overrideFor(db, stageAt(i), studentId));
    t0 = performance.now();
    await addOverrides(db, studentId, now);
    console.log(`${label}: added ${OVERRIDES.toLocaleString('en')} overrides in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    report(label, 'idle due-time lookup (next boundary of all stages and overrides), per call', lookupBase, await timeRounds(() => nextBoundary(db)));
    report(label, 'effective-window lookup for a hand-in, per call', windowBase, await timeRounds((i) => overrideFor(db, stageAt(i), studentId)));
    const [{ firstOverride }] = await db('stage_overrides').min<{ firstOverride: number }[]>({ firstOverride: 'id' });
    const stages: StormRound[] = [];
    const overrides: StormRound[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Stages past the overridden ones, so the stage storm moves no override.
      stages.push(await storm(db, 'stages', firstStage + OVERRIDES));
      overrides.push(await storm(db, 'stage_overrides', Number(firstOverride)));
    }
    report(label, `storm of ${STORM.toLocaleString('en')} ending at one instant (baseline stages, measured overrides), sweep time`, stages.map((s) => s.sweepMs), overrides.map((o) => o.sweepMs));
    const lagLine = (rounds: StormRound[]) => {
      const all = rounds.flatMap((x) => x.lags);
      return `p50 ${median(all)} ms, p99 ${pct(all, 0.99)} ms, max ${Math.max(...all)} ms`;
    };
    console.log(`${label}: transition lag over all rounds: stages ${lagLine(stages)}; overrides ${lagLine(overrides)}`);
  } finally {
    await db.destroy();
    await drop();
  }
}

if (process.env.BENCH_ONLY !== 'mysql') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-bench-'));
  await bench('sqlite', `sqlite:${path.join(dir, 'overrides.sqlite')}`, async () => fs.rmSync(dir, { recursive: true, force: true }));
}
const mysqlBase = process.env.BENCH_MYSQL_URL;
if (mysqlBase) {
  const admin = knexFactory(knexConfig(mysqlBase));
  const name = `cw_bench_${randomBytes(3).toString('hex')}`;
  await admin.raw(`CREATE DATABASE \`${name}\``);
  const url = new URL(mysqlBase);
  url.pathname = `/${name}`;
  try {
    await bench('mysql', url.toString(), () => admin.raw(`DROP DATABASE IF EXISTS \`${name}\``).then(() => undefined));
  } finally {
    await admin.destroy();
  }
}
