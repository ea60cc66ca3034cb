// Uploads beside a bare Node server, in one run so the ratio is fair on a
// shared machine: CLIENTS clients each send a FILE_MIB MiB file at once,
// A to a bare `http` server (a cluster of WORKERS workers) that pipes each
// body to a file, B to the built app (WEB_CONCURRENCY=WORKERS, SQLite) as a
// multipart hand-in (busboy, SHA-256, fsync, rename, the row). A B A B for
// ROUNDS rounds. Bodies are streamed from one file on disk, so the client
// holds none in memory either. Prints each round's MiB/s and B/A, their
// median, and the largest rise of a B worker's RSS over its own at rest.
//   npm run bench:uploads
//   ROUNDS=3 CLIENTS=20 FILE_MIB=20 WORKERS=4 npm run bench:uploads
import cluster from 'node:cluster';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect } from '../src/db/connect.js';
import { migrateLatest } from '../src/db/migrations.js';
import { createApiToken } from '../src/domain/api-tokens.js';
import { DAY } from '../src/time.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CLIENTS = Number(process.env.CLIENTS ?? 20);
const FILE_MIB = Number(process.env.FILE_MIB ?? 20);
const WORKERS = Number(process.env.WORKERS ?? 4);
const MiB = 1024 * 1024;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = http.createServer().listen(0, '127.0.0.1', () => {
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

/** One POST whose body is `prefix`, the file, `suffix`; resolves with the status. */
function send(url: string, headers: Record<string, string>, file: string, prefix: Buffer, suffix: Buffer): Promise<number> {
  const length = prefix.length + fs.statSync(file).size + suffix.length;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write(prefix);
    const body = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
    body.on('error', reject);
    body.pipe(req, { end: false });
    body.on('end', () => req.end(suffix));
  });
}

/** CLIENTS uploads at once; MiB/s of file bytes over the wall time. */
async function round(post: (client: number) => Promise<number>): Promise<{ mibps: number; failed: number }> {
  const started = performance.now();
  const statuses = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => post(i)));
  const seconds = (performance.now() - started) / 1000;
  return { mibps: (CLIENTS * FILE_MIB) / seconds, failed: statuses.filter((s) => s < 200 || s >= 300).length };
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

async function seed(url: string): Promise<{ stageId: number; tokens: string[] }> {
  const db = connect(url);
  await migrateLatest(db);
  const [teacherId] = await db('users').insert({ email: 'teacher@bench.test', name: 'T', password_hash: 'x', role: 'teacher', created_at: 0 });
  const [courseId] = await db('courses').insert({ title: 'Bench', code: 'BENCH', timezone: 'UTC', teacher_id: teacherId, created_at: 0, updated_at: 0 });
  const now = Date.now();
  const [stageId] = await db('stages').insert({ course_id: courseId, name: 'Upload', description: '', start_date: now - DAY, end_date: now + DAY, status: 'active', created_at: now, updated_at: now });
  const tokens: string[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const [studentId] = await db('users').insert({ email: `s${i}@bench.test`, name: 'S', password_hash: 'x', role: 'student', created_at: 0 });
    await db('course_members').insert({ course_id: courseId, user_id: studentId, created_at: 0 });
    tokens.push(await createApiToken(db, studentId, 'bench'));
  }
  await db.destroy();
  return { stageId, tokens };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-bench-uploads-'));
  const url = `sqlite:${path.join(dir, 'bench.sqlite')}`;
  const { stageId, tokens } = await seed(url);
  // One file per client (different bytes, so nothing is deduplicated), written once.
  const base = randomBytes(FILE_MIB * MiB);
  const files = Array.from({ length: CLIENTS }, (_, i) => {
    const file = path.join(dir, `file-${i}.bin`);
    base.writeUInt32BE(i, 0);
    fs.writeFileSync(file, base);
    return file;
  });
  const children: ChildProcess[] = [];
  const logFile = path.join(dir, 'app.log');
  try {
    const barePort = await freePort();
    const appPort = await freePort();
    const bareDir = path.join(dir, 'bare');
    fs.mkdirSync(bareDir);
    const bare = spawn(process.execPath, [...process.execArgv, process.argv[1], 'bare'], { env: { ...process.env, PORT: String(barePort), BARE_DIR: bareDir }, stdio: 'inherit' });
    children.push(bare);
    const log = fs.openSync(logFile, 'a');
    const app = spawn(process.execPath, ['dist/main.js'], {
      env: {
        ...process.env,
        PORT: String(appPort),
        HOST: '127.0.0.1',
        WEB_CONCURRENCY: String(WORKERS),
        DATABASE_URL: url,
        DATA_DIR: dir,
        SCHEDULER_LOCK_FILE: path.join(dir, 'scheduler.lock'),
        LOG_LEVEL: 'warn',
        DEMO_DATA: 'false',
      },
      stdio: ['ignore', log, log],
    });
    children.push(app);
    await waitForOk(`http://127.0.0.1:${barePort}/`);
    await waitForOk(`http://127.0.0.1:${appPort}/readyz`);

    const boundary = '----coursework-bench';
    const prefix = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="files"; filename="report.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`);
    const suffix = Buffer.from(`\r\n--${boundary}--\r\n`);
    const postBare = (i: number) => send(`http://127.0.0.1:${barePort}/upload`, {}, files[i], Buffer.alloc(0), Buffer.alloc(0));
    const postApp = (i: number) =>
      send(`http://127.0.0.1:${appPort}/api/stages/${stageId}/submissions`, { authorization: `Bearer ${tokens[i]}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, files[i], prefix, suffix);

    // Warm-up: one upload each, then the workers' RSS at rest.
    if ((await postApp(0)) !== 201) throw new Error(`the app refused an upload: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    await postBare(0);
    await new Promise((r) => setTimeout(r, 2000));
    const rest = new Map(workerPids(app.pid!).map((pid) => [pid, rssMb(pid)]));
    console.log(`node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`${CLIENTS} clients x ${FILE_MIB} MiB at once; A: bare node http, ${WORKERS} workers, body piped to a file; B: the app, ${WORKERS} workers, SQLite, multipart hand-ins`);

    const ratios: number[] = [];
    const peak = new Map<number, number>();
    for (let r = 1; r <= ROUNDS; r++) {
      const a = await round(postBare);
      fs.rmSync(bareDir, { recursive: true, force: true });
      fs.mkdirSync(bareDir);
      const sampler = setInterval(() => {
        for (const pid of rest.keys()) peak.set(pid, Math.max(peak.get(pid) ?? 0, rssMb(pid)));
      }, 100);
      const b = await round(postApp).finally(() => clearInterval(sampler));
      ratios.push(b.mibps / a.mibps);
      console.log(`round ${r}: A ${a.mibps.toFixed(0)} MiB/s${a.failed ? ` (${a.failed} failed)` : ''}  B ${b.mibps.toFixed(0)} MiB/s${b.failed ? ` (${b.failed} failed)` : ''}  B/A ${(b.mibps / a.mibps).toFixed(3)}`);
    }
    console.log(`B/A throughput: median ${median(ratios).toFixed(3)}, min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}`);
    const rises = [...rest].map(([pid, at]) => ({ at, peak: peak.get(pid) ?? at, rise: (peak.get(pid) ?? at) - at }));
    console.log(`B worker RSS at rest ${rises.map((x) => `${x.at.toFixed(0)}`).join(', ')} MB; peak ${rises.map((x) => `${x.peak.toFixed(0)}`).join(', ')} MB; largest rise ${Math.max(...rises.map((x) => x.rise)).toFixed(1)} MB`);
  } finally {
    for (const child of children) await stopChild(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- A: the bare server, when this file runs as its cluster (argv[2] === 'bare') ----
if (process.argv[2] === 'bare') {
  if (cluster.isPrimary) {
    for (let i = 0; i < WORKERS; i++) cluster.fork();
    process.on('SIGTERM', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      process.exit(0);
    });
  } else {
    let n = 0;
    http
      .createServer((req, res) => {
        if (req.method !== 'POST') return void res.end('ok');
        const out = fs.createWriteStream(path.join(process.env.BARE_DIR!, `${process.pid}-${n++}.bin`));
        req.pipe(out);
        out.on('finish', () => res.writeHead(201).end());
      })
      .listen(Number(process.env.PORT), '127.0.0.1');
  }
} else {
  await main();
}
