// Transition lag with the real cluster serving requests: creates STAGES
// stages (default 1,000) through the API, their starts and ends spread over
// SPREAD_S seconds (default 60), keeps CLIENTS request loops (default 8)
// reading meanwhile, and reports, per transition,
// stage_transitions.at minus the boundary it belongs to (p50/p99/max).
// The sweep cron is set to once a year so only the boundary timer counts.
// Runs on a fresh SQLite file, and on MySQL/MariaDB too when BENCH_MYSQL_URL
// (a server URL whose user may create databases) is set.
//   npm run bench:stages     (runs after bench/stage-sweep.ts)
import { randomUUID } from 'node:crypto';
import { createTestDatabase } from '../test/helpers/database.js';
import { userWithToken } from '../test/helpers/http.js';
import { requestOnNewConnection, startCluster } from '../test/helpers/cluster.js';
import { waitUntil } from '../test/helpers/wait.js';
import { SECOND, toIso } from '../src/time.js';
import { numberFromDb } from '../src/db/rows.js';

const STAGES = Number(process.env.STAGES ?? 1_000);
const SPREAD_MS = Number(process.env.SPREAD_S ?? 60) * SECOND;
const CLIENTS = Number(process.env.CLIENTS ?? 8);
const WORKERS = Number(process.env.WORKERS ?? 4);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs `count` calls of `task` with at most `width` in flight. */
async function inParallel(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await task(next++);
  }));
}

async function bench(label: string): Promise<void> {
  const database = await createTestDatabase();
  const cluster = await startCluster({ databaseUrl: database.url, workers: WORKERS, env: { STAGE_SWEEP_CRON: '0 0 1 1 *', LOG_LEVEL: 'warn' } });
  try {
    // LOG_LEVEL=warn keeps request logs out of the way; wait for readiness over HTTP instead of the log.
    const ready = async () => (await requestOnNewConnection(`${cluster.baseUrl}/readyz`).catch(() => ({ status: 0 }))).status === 200;
    await waitUntil(ready, 30 * SECOND, 'the cluster is ready');
    const { token } = await userWithToken(database.db, 'teacher');
    const auth = { authorization: `Bearer ${token}` };
    const call = (method: string, path: string, body?: unknown) => requestOnNewConnection(cluster.baseUrl + path, { method, headers: auth, body });
    const course = await call('POST', '/api/courses', { title: 'Lag', code: `LAG-${randomUUID().slice(0, 6)}` });
    const courseId = course.body.id as number;

    // Boundaries begin after creation is surely done, then spread evenly over SPREAD_MS.
    const firstBoundary = Date.now() + 20 * SECOND;
    let t0 = performance.now();
    await inParallel(STAGES, 16, async (i) => {
      const start = firstBoundary + Math.floor((i / STAGES) * SPREAD_MS);
      const end = start + 2 * SECOND + ((i * 7919) % 20) * SECOND;
      const res = await call('POST', `/api/courses/${courseId}/stages`, { name: `lag ${i}`, startDate: toIso(start), endDate: toIso(end) });
      if (res.status !== 201) throw new Error(`creating stage ${i}: ${res.status} ${JSON.stringify(res.body)}`);
    });
    const createMs = performance.now() - t0;
    if (Date.now() > firstBoundary) throw new Error('creating the stages overran the first boundary; lower STAGES');
    console.log(`${label}: created ${STAGES} stages through the API in ${(createMs / 1000).toFixed(1)} s`);

    // Load until the last end has passed: the full stage list (1,000 rows) and course reads on fresh connections.
    const lastEnd = firstBoundary + SPREAD_MS + 22 * SECOND;
    let served = 0;
    let failed = 0;
    t0 = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      while (Date.now() < lastEnd + 2 * SECOND) {
        const path = c % 2 ? `/api/courses/${courseId}/stages` : `/api/courses/${courseId}`;
        const res = await call('GET', path);
        if (res.status === 200) served += 1;
        else failed += 1;
      }
    }));
    const loadS = (performance.now() - t0) / 1000;

    const rows = await database.db('stage_transitions as t')
      .join('stages as s', 's.id', 't.stage_id')
      .where('s.course_id', courseId)
      .select('t.to_status', 't.at', 't.cause', 's.start_date', 's.end_date');
    const lags = rows
      .map((r) => numberFromDb(r.at) - (r.to_status === 'active' ? numberFromDb(r.start_date) : numberFromDb(r.end_date)))
      .sort((a, b) => a - b);
    const causes = rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.cause]: (acc[r.cause] ?? 0) + 1 }), {});
    console.log(`${label}: ${CLIENTS} clients made ${served} requests in ${loadS.toFixed(0)} s (${(served / loadS).toFixed(0)}/s, ${failed} not 200)`);
    console.log(`${label}: ${rows.length} transitions (expected ${2 * STAGES}; by cause ${JSON.stringify(causes)})`);
    console.log(`${label}: lag p50 ${percentile(lags, 50)} numberFromDb, p99 ${percentile(lags, 99)} numberFromDb, max ${lags.at(-1)} numberFromDb, min ${lags[0]} ms`);
  } finally {
    await cluster.stop();
    await database.cleanup();
  }
}

await bench('sqlite');
if (process.env.BENCH_MYSQL_URL) {
  process.env.TEST_DATABASE_URL = process.env.BENCH_MYSQL_URL;
  await bench('mysql');
}
