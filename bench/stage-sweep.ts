// How long one sweep takes when many stages are due at once.
// Seeds STAGES stages (default 1,000,000) of which DUE (default 100,000) are
// due, then times advanceStageStatuses. Runs on a fresh SQLite file, and on
// MySQL/MariaDB too when BENCH_MYSQL_URL (a server URL whose user may create
// databases) is set.
//   npm run bench:stages            STAGES=200000 DUE=20000 npm run bench:stages
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { connect, knexConfig } from '../src/db/connect.js';
import { migrateLatest } from '../src/db/migrations.js';
import { advanceStageStatuses } from '../src/domain/stage-lifecycle.js';
import { dbNowMs } from '../src/db/clock.js';
import { DAY, HOUR } from '../src/time.js';

const STAGES = Number(process.env.STAGES ?? 1_000_000);
const DUE = Number(process.env.DUE ?? 100_000);
const BATCH = 2_000;

async function seed(db: Knex): Promise<void> {
  const [teacherId] = await db('users').insert({ email: 'bench@example.test', name: '', password_hash: 'x', role: 'teacher', created_at: 0 });
  const [courseId] = await db('courses').insert({ title: 'Bench', code: 'BENCH', timezone: 'UTC', teacher_id: teacherId, created_at: 0, updated_at: 0 });
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
}

async function bench(label: string, url: string, drop: () => Promise<void>): Promise<void> {
  const db = connect(url);
  try {
    await migrateLatest(db);
    let t0 = performance.now();
    await seed(db);
    console.log(`${label}: seeded ${STAGES.toLocaleString('en')} stages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    t0 = performance.now();
    const result = await advanceStageStatuses(db, 'sweep');
    const ms = performance.now() - t0;
    console.log(`${label}: sweep of ${DUE.toLocaleString('en')} due stages took ${ms.toFixed(0)} ms (activated ${result.activated}, completed ${result.completed})`);
    // Right after a large write MariaDB is still purging the old row versions,
    // so the first idle sweeps are slower than the settled ones: report both.
    const idle: number[] = [];
    for (let i = 0; i < 10; i++) {
      t0 = performance.now();
      await advanceStageStatuses(db, 'sweep');
      idle.push(performance.now() - t0);
    }
    const settled = [...idle.slice(5)].sort((a, b) => a - b)[2];
    console.log(`${label}: idle sweeps over ${STAGES.toLocaleString('en')} stages: first ${idle[0].toFixed(1)} ms, median of sweeps 6-10 ${settled.toFixed(1)} ms`);
  } finally {
    await db.destroy();
    await drop();
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-bench-'));
await bench('sqlite', `sqlite:${path.join(dir, 'bench.sqlite')}`, async () => fs.rmSync(dir, { recursive: true, force: true }));

const mysqlBase = process.env.BENCH_MYSQL_URL;
if (mysqlBase) {
  const name = `cw_bench_${randomBytes(3).toString('hex')}`;
  const admin = knexFactory(knexConfig(mysqlBase));
  await admin.raw(`CREATE DATABASE \`${name}\``);
  const url = new URL(mysqlBase);
  url.pathname = `/${name}`;
  await bench('mysql', url.toString(), async () => {
    await admin.raw(`DROP DATABASE \`${name}\``);
    await admin.destroy();
  });
}
