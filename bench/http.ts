// The API beside a bare Express app, in one run so the ratio is fair on a
// shared machine: an Express 5 "hello JSON" app on a 2-worker cluster (A) and
// the built app with WEB_CONCURRENCY=2 on SQLite (B), each loaded in turn by
// autocannon with the same connection count, A B A B for ROUNDS rounds.
// B serves GET /api/courses/:id/stages (a course of 20 stages, a student's
// bearer token) with every feature on: request logs (to a file), helmet,
// sessions, CSRF, token checks. Prints each round's req/s and ratio, their
// median and max, and each B worker's RSS sampled under load.
//   npm run bench:http
//   ROUNDS=4 DURATION_S=10 CONNECTIONS=50 WORKERS=2 npm run bench:http
//   PROFILE=/tmp/prof npm run bench:http   (a .cpuprofile per B worker, written when it exits)
//   BENCH_ONLY=app npm run bench:http      (B alone, e.g. with PROFILE)
import cluster from 'node:cluster';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import autocannon from 'autocannon';
import express from 'express';
import { connect } from '../src/db/connect.js';
import { migrateLatest } from '../src/db/migrations.js';
import { createApiToken } from '../src/domain/api-tokens.js';
import { DAY, HOUR } from '../src/time.js';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const DURATION_S = Number(process.env.DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
const WORKERS = Number(process.env.WORKERS ?? 2);
const ONLY = process.env.BENCH_ONLY; // 'app' | 'hello' | undefined

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = express().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForOk(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function workerPids(primary: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(primary)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter(Boolean);
  } catch {
    return [];
  }
}

function rssMb(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used, in ms. */
function cpuMs(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in ticks of 1/100 s
  } catch {
    return 0;
  }
}

interface Load {
  rps: number;
  non2xx: number;
  errors: number;
  p99: number;
  /** The workers' CPU time per request, in µs: what a request costs, whatever else the machine runs. */
  cpuUs: number;
}

async function load(url: string, headers: Record<string, string>, seconds: number, primaryPid: number): Promise<Load> {
  const workers = workerPids(primaryPid);
  const before = workers.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  const used = workers.reduce((sum, pid) => sum + cpuMs(pid), 0) - before;
  return { rps: result.requests.average, non2xx: result.non2xx, errors: result.errors + result.timeouts, p99: result.latency.p99, cpuUs: (used * 1000) / Math.max(1, result.requests.total) };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-bench-http-'));
  const url = `sqlite:${path.join(dir, 'bench.sqlite')}`;
  const db = connect(url);
  await migrateLatest(db);
  const [teacherId] = await db('users').insert({ email: 'teacher@bench.test', name: 'T', password_hash: 'x', role: 'teacher', created_at: 0 });
  const [studentId] = await db('users').insert({ email: 'student@bench.test', name: 'S', password_hash: 'x', role: 'student', created_at: 0 });
  const [courseId] = await db('courses').insert({ title: 'Bench', code: 'BENCH', timezone: 'UTC', teacher_id: teacherId, created_at: 0, updated_at: 0 });
  await db('course_members').insert({ course_id: courseId, user_id: studentId, created_at: 0 });
  const now = Date.now();
  await db('stages').insert(
    Array.from({ length: 20 }, (_, i) => ({
      course_id: courseId,
      name: `Stage ${i + 1}`,
      description: `What to hand in for stage ${i + 1}`,
      start_date: now + i * DAY,
      end_date: now + i * DAY + 20 * HOUR,
      status: 'pending',
      created_at: now,
      updated_at: now,
    })),
  );
  const token = await createApiToken(db, studentId, 'bench');
  await db.destroy();

  const children: ChildProcess[] = [];
  const logFile = path.join(dir, 'app.log');
  try {
    const helloPort = await freePort();
    const appPort = await freePort();
    const hello = spawn(process.execPath, [...process.execArgv, process.argv[1], 'hello'], { env: { ...process.env, PORT: String(helloPort) }, stdio: 'inherit' });
    children.push(hello);
    const log = fs.openSync(logFile, 'a');
    const profileDir = process.env.PROFILE;
    // The cluster forks its workers with the primary's node options: each writes a profile as it exits.
    const profileArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    const app = spawn(process.execPath, [...profileArgs, 'dist/main.js'], {
      env: {
        ...process.env,
        PORT: String(appPort),
        HOST: '127.0.0.1',
        WEB_CONCURRENCY: String(WORKERS),
        DATABASE_URL: url,
        DATA_DIR: dir,
        SCHEDULER_LOCK_FILE: path.join(dir, 'scheduler.lock'),
        LOG_LEVEL: process.env.APP_LOG_LEVEL ?? 'info',
        DEMO_DATA: 'false',
      },
      stdio: ['ignore', log, log],
    });
    children.push(app);
    await waitForOk(`http://127.0.0.1:${helloPort}/hello`);
    await waitForOk(`http://127.0.0.1:${appPort}/readyz`);

    const helloUrl = `http://127.0.0.1:${helloPort}/hello`;
    const appUrl = `http://127.0.0.1:${appPort}/api/courses/${courseId}/stages`;
    const auth = { authorization: `Bearer ${token}`, accept: 'application/json' };
    const check = await fetch(appUrl, { headers: auth });
    const body = (await check.json()) as { items: unknown[] };
    if (check.status !== 200 || body.items.length !== 20) throw new Error(`the app answered ${check.status} with ${body.items?.length} stages`);
    if (check.headers.get('set-cookie')) throw new Error('a bearer request got a cookie');

    const idleRss = workerPids(app.pid!).map((pid) => `${rssMb(pid).toFixed(0)} MB`);
    console.log(`node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`A: Express 5 hello JSON, ${WORKERS} workers; B: GET /api/courses/:id/stages (20 stages, bearer), ${WORKERS} workers, SQLite`);
    console.log(`autocannon, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_S} s each, after a 3 s warm-up of each`);
    if (ONLY !== 'app') await load(helloUrl, {}, 3, hello.pid!);
    if (ONLY !== 'hello') await load(appUrl, auth, 3, app.pid!);

    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const rss = new Map<number, number>();
    for (let round = 1; round <= ROUNDS; round++) {
      const a = ONLY === 'app' ? undefined : await load(helloUrl, {}, DURATION_S, hello.pid!);
      let b: Load | undefined;
      if (ONLY !== 'hello') {
        // RSS of each app worker, sampled every second under load.
        const sampler = setInterval(() => {
          for (const pid of workerPids(app.pid!)) rss.set(pid, Math.max(rss.get(pid) ?? 0, rssMb(pid)));
        }, 1000);
        b = await load(appUrl, auth, DURATION_S, app.pid!).finally(() => clearInterval(sampler));
      }
      const ratio = a && b ? b.rps / a.rps : undefined;
      if (ratio !== undefined) ratios.push(ratio);
      if (a && b) cpuRatios.push(a.cpuUs / b.cpuUs);
      const show = (r?: Load) =>
        r ? `${r.rps.toFixed(0).padStart(6)} req/s, ${r.cpuUs.toFixed(0).padStart(4)} µs CPU/req (p99 ${r.p99} ms${r.non2xx || r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ''})` : '-';
      console.log(`round ${round}: A ${show(a)}  B ${show(b)}  B/A ${ratio?.toFixed(3) ?? '-'}`);
    }
    if (ratios.length) console.log(`B/A req/s: median ${median(ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}, min ${Math.min(...ratios).toFixed(3)}`);
    if (cpuRatios.length) console.log(`A/B CPU per request: median ${median(cpuRatios).toFixed(3)}, max ${Math.max(...cpuRatios).toFixed(3)}, min ${Math.min(...cpuRatios).toFixed(3)}`);
    if (rss.size) console.log(`B worker RSS under load (max per worker): ${[...rss.values()].map((v) => `${v.toFixed(0)} MB`).join(', ')}; before the load ${idleRss.join(', ')}`);
    const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"request completed"')).length;
    console.log(`B wrote ${lines} request log lines`);
  } catch (err) {
    if (fs.existsSync(logFile)) console.error(`the app's last log lines:\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`);
    throw err;
  } finally {
    for (const child of children) await stopChild(child);
    if (!process.env.PROFILE) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- A: the hello app, when this file runs as its cluster (argv[2] === 'hello') ----
if (process.argv[2] === 'hello') {
  if (cluster.isPrimary) {
    for (let i = 0; i < WORKERS; i++) cluster.fork();
    process.on('SIGTERM', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      process.exit(0);
    });
  } else {
    const app = express();
    app.get('/hello', (_req, res) => {
      res.json({ hello: 'world' });
    });
    app.listen(Number(process.env.PORT), '127.0.0.1');
  }
} else {
  await main();
}
