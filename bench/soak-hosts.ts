// Soak test of LEADER_ELECTION=db across hosts. Runs three clusters
// (dist/main.js) as three "hosts" on this machine, each in its own UTS and
// mount namespace (its own hostname, its own /tmp), sharing one fresh MariaDB
// database. While stages are created through the API of a random live host
// (about one a second, boundaries spread over the run), one fault at a time
// hits the scheduler every 4-9 s:
//   kill-host    SIGKILL the leading host's whole process tree, start it again
//   freeze-host  SIGSTOP the leading host's tree for the lease + 2 s, SIGCONT
//   kill-leader  SIGKILL only the leading worker (its primary forks another)
//   restart-db   stop MariaDB for 5-10 s, then start it (half as often; left
//                out while a test run is going, as it would break it)
// At the end (every stage's end passed, a leader settled, hosts stopped with
// SIGTERM) it checks, printing each figure, and exits 1 if one fails:
//   1. no fire claimed twice, no two successful runs of one claimed fire
//   2. no write of term T landed after term T+1 began (fencing)
//   3. every stage completed
//   4. every stage has exactly one pending->active and one active->completed
//   5. (figures) failover: from each fault to the next "scheduler started"
// Needs root (unshare, start-stop-daemon) and a local MariaDB server.
//   npm run bench:soak                     20 minutes
//   SOAK_MINUTES=0.5 npm run bench:soak    fractions allowed
//   KEEP=1            keep the database (cw_soak_*) and the combined log
//   SOAK_FAULTS=kill-host,restart-db   only these kinds of fault
//   SOAK_MYSQL_URL    server URL whose user may create databases
//                     (default mysql://root@127.0.0.1:3306)
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import knexFactory, { type Knex } from 'knex';
import { knexConfig } from '../src/db/connect.js';
import { numberFromDb } from '../src/db/rows.js';
import { LeaseElection } from '../src/leadership/lease-election.js';
import { MINUTE, SECOND, sleep, toIso } from '../src/time.js';
import { userWithToken } from '../test/helpers/http.js';
import { childPids, freePort, isAlive, lineReader, sortLines, type LogLine } from '../test/helpers/processes.js';

const exec = promisify(execFile);

const SOAK_MS = Math.round(Number(process.env.SOAK_MINUTES ?? 20) * MINUTE);
const SERVER_URL = process.env.SOAK_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const KEEP = process.env.KEEP === '1';

const HOST_NAMES = ['host-a', 'host-b', 'host-c'];
const LEASE_MS = 3000;
const RETRY_MS = 300;
const SHUTDOWN_MS = 3000;
const FAULT_GAP_MS: [number, number] = [4 * SECOND, 9 * SECOND];
const FREEZE_MS = LEASE_MS + 2 * SECOND;
const DB_DOWN_MS: [number, number] = [5 * SECOND, 10 * SECOND];
/** Stages start 2-30 s after they are created and last 1-20 s. */
const STAGE_START_MS: [number, number] = [2 * SECOND, 30 * SECOND];
const STAGE_LENGTH_MS: [number, number] = [1 * SECOND, 20 * SECOND];
/** Every stage ends at least this long before the run does. */
const LAST_END_BEFORE_RUN_END_MS = 30 * SECOND;
/** After the last end and a leader: long enough for a lost lease to be taken over and swept. */
const SETTLE_MS = LEASE_MS + RETRY_MS + 3 * SECOND;

type FaultKind = 'kill-host' | 'freeze-host' | 'kill-leader' | 'restart-db';
const FAULT_WEIGHTS: Record<FaultKind, number> = { 'kill-host': 2, 'freeze-host': 2, 'kill-leader': 2, 'restart-db': 1 };
const FAULT_KINDS = (process.env.SOAK_FAULTS?.split(',') ?? Object.keys(FAULT_WEIGHTS)) as FaultKind[];
for (const kind of FAULT_KINDS) if (!(kind in FAULT_WEIGHTS)) throw new Error(`SOAK_FAULTS: unknown fault ${kind}`);

interface Host {
  name: string;
  port: number;
  /** The unshare process: the root of the host's process tree. */
  root: ChildProcess | null;
  exited: Promise<void>;
  state: 'up' | 'frozen' | 'down';
}

interface HostLine extends LogLine {
  host: string;
  /** pino's time, as epoch ms. */
  at: number;
}

interface Fault {
  kind: FaultKind;
  /** Date.now() just before the fault was injected. */
  at: number;
  host: string | null;
  /** restart-db: when the database answered again. */
  backAt?: number;
}

interface Leader {
  pid: number;
  hostname: string;
  term: number;
}

interface Check {
  label: string;
  value: number | string;
  ok: boolean;
  detail?: string[];
}

/** What the run shares: the database, the hosts, their logs, the faults. */
interface Soak {
  dbName: string;
  databaseUrl: string;
  db: Knex;
  hosts: Host[];
  logs: HostLine[];
  logFile: fs.WriteStream;
  logPath: string;
  faults: Fault[];
  stages: { created: number; failed: number };
  startedAt: number;
  runEnd: number;
  ending: boolean;
  mariadbStoppedByUs: boolean;
}

// ---------------------------------------------------------------- small helpers

const randomBetween = ([min, max]: [number, number]) => min + Math.floor(Math.random() * (max - min + 1));
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];
const seconds = (msValue: number) => `${(msValue / SECOND).toFixed(1)} s`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function elapsed(soak: Soak): string {
  const s = Math.floor((Date.now() - soak.startedAt) / SECOND);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Sends a signal, ignoring a process that is already gone. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone already */
  }
}

/** Polls `check` every 200 ms; false if it did not hold within timeoutMs. */
async function pollUntil(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(200);
  }
  return false;
}

// ---------------------------------------------------------------- database

function urlFor(dbName: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${dbName}`;
  return url.toString();
}

/** The script's own pool: knex's warnings about connections the restarts cut would only clutter the output. */
function quietConnect(url: string): Knex {
  const quiet = () => undefined;
  return knexFactory({ ...knexConfig(url), log: { warn: quiet, error: quiet, debug: quiet, deprecate: quiet } });
}

async function onServer(sql: string): Promise<void> {
  const admin = knexFactory(knexConfig(SERVER_URL));
  try {
    await admin.raw(sql);
  } finally {
    await admin.destroy();
  }
}

async function createDatabase(): Promise<string> {
  const name = `cw_soak_${randomBytes(4).toString('hex')}`;
  await onServer(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  return name;
}

async function dropDatabase(name: string): Promise<void> {
  await onServer(`DROP DATABASE IF EXISTS \`${name}\``);
}

async function migrate(databaseUrl: string): Promise<void> {
  await exec(process.execPath, ['dist/cli.js', 'migrate'], { env: { ...process.env, DATABASE_URL: databaseUrl } });
}

// ---------------------------------------------------------------- MariaDB

function pingArgs(): string[] {
  const url = new URL(SERVER_URL);
  const args = ['ping', '--silent', `-h${url.hostname}`, `-P${url.port || '3306'}`];
  if (url.username) args.push(`-u${decodeURIComponent(url.username)}`);
  if (url.password) args.push(`-p${decodeURIComponent(url.password)}`);
  return args;
}

async function mariadbAnswers(): Promise<boolean> {
  try {
    await exec('mariadb-admin', pingArgs());
    return true;
  } catch {
    return false;
  }
}

async function mariadbBinary(): Promise<string> {
  const { stdout } = await exec('bash', ['-c', 'command -v mariadbd']);
  if (!stdout.trim()) throw new Error('mariadbd is not on the PATH');
  return stdout.trim();
}

/** Stops the server and waits until its process is gone and it no longer answers. */
async function stopMariadb(): Promise<void> {
  await exec('start-stop-daemon', ['--stop', '--oknodo', '--retry', 'TERM/60', '--exec', await mariadbBinary()]);
  if (!(await pollUntil(async () => !(await mariadbAnswers()), 30 * SECOND))) throw new Error('MariaDB still answers after being stopped');
}

/** Starts the server and waits until it answers. */
async function startMariadb(): Promise<void> {
  await exec('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', await mariadbBinary()]);
  if (!(await pollUntil(mariadbAnswers, 60 * SECOND))) throw new Error('MariaDB did not answer within 60 s of its start');
}

/** Another engineer's `npm test` may be using the server: restarting it would break their run. */
async function testRunGoing(): Promise<boolean> {
  try {
    await exec('pgrep', ['-f', 'node --import tsx --test']);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- hosts

function hostEnv(host: Host, databaseUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SOAK_NODE: process.execPath,
    PORT: String(host.port),
    HOST: '127.0.0.1',
    WEB_CONCURRENCY: '2',
    DATABASE_URL: databaseUrl,
    LEADER_ELECTION: 'db',
    LEADER_LEASE_MS: String(LEASE_MS),
    SCHEDULER_RETRY_MS: String(RETRY_MS),
    STAGE_SWEEP_CRON: '* * * * * *',
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_MS),
    LOG_LEVEL: 'info',
    // The same secret on every host, as behind a load balancer; nothing is written to disk.
    SESSION_SECRET: 'soak-hosts-session-secret-'.padEnd(48, 'x'),
    // Inside the host's own /tmp.
    DATA_DIR: '/tmp/coursework',
  };
  delete env.COURSEWORK_ROLE;
  return env;
}

/** Collects a host's output: pino lines tagged with the host, everything into the combined log. */
function collectOutput(soak: Soak, host: Host, child: ChildProcess): void {
  const take = (chunk: string) => {
    const lines: LogLine[] = [];
    const text: string[] = [];
    sortLines(chunk, lines, text);
    for (const line of lines) {
      const tagged: HostLine = { ...line, host: host.name, at: Date.parse(String(line.time)) };
      soak.logs.push(tagged);
      soak.logFile.write(`${JSON.stringify(tagged)}\n`);
    }
    for (const raw of text) soak.logFile.write(`${JSON.stringify({ host: host.name, text: raw })}\n`);
  };
  lineReader(child.stdout!, take);
  lineReader(child.stderr!, take);
}

/** Starts the host's cluster in namespaces of its own: its hostname, a private /tmp. */
function startHost(soak: Soak, host: Host): void {
  const script = `hostname ${host.name} && mount -t tmpfs tmpfs /tmp && exec "$SOAK_NODE" dist/main.js`;
  // detached: Ctrl-C reaches the script only, which then kills the hosts itself.
  const child = spawn('unshare', ['--uts', '--mount', '--fork', 'bash', '-c', script], { env: hostEnv(host, soak.databaseUrl), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  collectOutput(soak, host, child);
  host.root = child;
  host.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  host.state = 'up';
}

async function hostReady(host: Host): Promise<boolean> {
  const res = await request('GET', `http://127.0.0.1:${host.port}/readyz`, undefined, undefined, 2 * SECOND).catch(() => ({ status: 0 }));
  return res.status === 200;
}

async function waitReady(host: Host, timeoutMs = 30 * SECOND): Promise<boolean> {
  return pollUntil(() => hostReady(host), timeoutMs);
}

/**
 * The host's processes, parents first. Each level is stopped before its
 * children are listed, so nothing forks a process we would miss.
 */
async function freezeTree(root: number): Promise<number[]> {
  const all: number[] = [];
  let level = [root];
  while (level.length) {
    for (const pid of level) signal(pid, 'SIGSTOP');
    all.push(...level);
    level = (await Promise.all(level.map(childPids))).flat();
  }
  return all;
}

/** The root's pid while it runs (once it exited, its pid may belong to someone else). */
function runningRoot(host: Host): number | null {
  const root = host.root;
  return root?.pid !== undefined && root.exitCode === null && root.signalCode === null ? root.pid : null;
}

async function killHost(host: Host): Promise<void> {
  host.state = 'down';
  const root = runningRoot(host);
  if (root === null) return;
  for (const pid of await freezeTree(root)) signal(pid, 'SIGKILL');
  await host.exited;
}

/** SIGTERM to the primary (unshare does not pass signals on); SIGKILL if it does not stop in time. */
async function stopHost(host: Host): Promise<'clean' | 'killed'> {
  const root = runningRoot(host);
  if (root === null) return 'clean';
  const [primary] = await childPids(root);
  if (primary) signal(primary, 'SIGTERM');
  const stopped = await Promise.race([host.exited.then(() => true), sleep(SHUTDOWN_MS + 10 * SECOND).then(() => false)]);
  if (stopped) {
    host.state = 'down';
    return 'clean';
  }
  await killHost(host);
  return 'killed';
}

/** The host whose process tree holds `pid`, if any. */
async function hostOf(soak: Soak, pid: number): Promise<Host | undefined> {
  for (const host of soak.hosts) {
    const root = runningRoot(host);
    if (root === null) continue;
    const [primary] = await childPids(root);
    if (primary && (await childPids(primary)).includes(pid)) return host;
  }
  return undefined;
}

// ---------------------------------------------------------------- HTTP

function request(method: string, url: string, token: string | undefined, body: unknown, timeoutMs: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(url, { method, agent: false, headers, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          /* keep the text */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

// ---------------------------------------------------------------- leader

/** The lease's holder while it is held; null when free, expired or the database is away. */
async function currentLeader(db: Knex): Promise<Leader | null> {
  try {
    const { state, owner } = await new LeaseElection({ db, leaseMs: LEASE_MS, workerId: null }).currentOwner();
    if (state !== 'held' || !owner) return null;
    return { pid: owner.pid, hostname: owner.hostname, term: owner.term ?? 0 };
  } catch {
    return null;
  }
}

/** A held lease whose holder is alive on a host that is up. */
async function waitForLeader(soak: Soak, timeoutMs: number): Promise<Leader | null> {
  let found: Leader | null = null;
  await pollUntil(async () => {
    const leader = await currentLeader(soak.db);
    const host = soak.hosts.find((h) => h.name === leader?.hostname);
    found = leader && host?.state === 'up' && isAlive(leader.pid) ? leader : null;
    return found !== null;
  }, timeoutMs);
  return found;
}

// ---------------------------------------------------------------- faults

function pickFaultKind(allowed: FaultKind[]): FaultKind {
  const total = allowed.reduce((sum, kind) => sum + FAULT_WEIGHTS[kind], 0);
  let r = Math.random() * total;
  for (const kind of allowed) {
    r -= FAULT_WEIGHTS[kind];
    if (r < 0) return kind;
  }
  return allowed[allowed.length - 1];
}

async function killAndRestartHost(soak: Soak, host: Host): Promise<void> {
  await killHost(host);
  startHost(soak, host);
  if (!(await waitReady(host))) console.log(`  ${host.name} was not ready 30 s after its restart`);
}

async function freezeHost(host: Host): Promise<void> {
  const root = runningRoot(host);
  if (root === null) return;
  host.state = 'frozen';
  const pids = await freezeTree(root);
  await sleep(FREEZE_MS);
  for (const pid of pids.reverse()) signal(pid, 'SIGCONT');
  host.state = 'up';
}

async function restartMariadb(soak: Soak, fault: Fault): Promise<void> {
  soak.mariadbStoppedByUs = true;
  await stopMariadb();
  await sleep(randomBetween(DB_DOWN_MS));
  await startMariadb();
  soak.mariadbStoppedByUs = false;
  fault.backAt = Date.now();
}

/** Injects one fault at the current leader and waits until it is over (host back, database back). */
async function injectFault(soak: Soak, kind: FaultKind, leader: Leader): Promise<Fault> {
  const host = soak.hosts.find((h) => h.name === leader.hostname)!;
  const fault: Fault = { kind, at: Date.now(), host: kind === 'restart-db' ? null : host.name };
  soak.faults.push(fault);
  if (kind === 'kill-host') await killAndRestartHost(soak, host);
  if (kind === 'freeze-host') await freezeHost(host);
  if (kind === 'kill-leader') signal(leader.pid, 'SIGKILL');
  if (kind === 'restart-db') await restartMariadb(soak, fault);
  return fault;
}

/** The next fault's kind: restart-db only while no test run uses the server; null when none is allowed now. */
async function nextFaultKind(soak: Soak, leader: Leader): Promise<FaultKind | null> {
  const dbFree = !FAULT_KINDS.includes('restart-db') || !(await testRunGoing());
  const kinds = FAULT_KINDS.filter((kind) => kind !== 'restart-db' || dbFree);
  if (!kinds.length) return null;
  const kind = pickFaultKind(kinds);
  // The lease may name a worker that is not (or no longer) in a host's tree: kill that host instead.
  if (kind === 'kill-leader' && !(await hostOf(soak, leader.pid))) return 'kill-host';
  return kind;
}

function previousFailover(soak: Soak): string {
  const [previous, current] = soak.faults.slice(-2);
  if (!current) return '';
  const next = soak.logs.find((l) => l.msg.includes('scheduler started') && l.at >= previous.at && l.at < current.at);
  return next ? `; the previous fault's next leader came after ${next.at - previous.at} ms` : '; the previous fault saw no new leader';
}

async function runFaults(soak: Soak): Promise<void> {
  while (!soak.ending) {
    await sleep(Math.min(randomBetween(FAULT_GAP_MS), Math.max(0, soak.runEnd - Date.now())));
    if (Date.now() >= soak.runEnd || soak.ending) return;
    const leader = await waitForLeader(soak, 30 * SECOND);
    if (!leader) {
      console.log(`[${elapsed(soak)}] no leader for 30 s: no fault this time`);
      continue;
    }
    const kind = await nextFaultKind(soak, leader);
    if (!kind) {
      console.log(`[${elapsed(soak)}] a test run is using the database server: no restart this time`);
      continue;
    }
    const fault = await injectFault(soak, kind, leader);
    const where = kind === 'restart-db' ? `database down ${seconds((fault.backAt ?? Date.now()) - fault.at)}` : `${leader.hostname}, pid ${leader.pid}`;
    console.log(`[${elapsed(soak)}] fault ${soak.faults.length}: ${kind} (${where}; term ${leader.term}); stages ${soak.stages.created} created, ${soak.stages.failed} refused${previousFailover(soak)}`);
  }
}

// ---------------------------------------------------------------- stages

/** A stage's window: starts 2-30 s from now, lasts 1-20 s, ends before `latestEnd`; null when none fits. */
function stageWindow(now: number, latestEnd: number): { start: number; end: number } | null {
  const room = latestEnd - now;
  if (room < STAGE_START_MS[0] + STAGE_LENGTH_MS[0]) return null;
  const start = now + randomBetween([STAGE_START_MS[0], Math.min(STAGE_START_MS[1], room - STAGE_LENGTH_MS[0])]);
  const end = start + randomBetween([STAGE_LENGTH_MS[0], Math.min(STAGE_LENGTH_MS[1], latestEnd - start)]);
  return { start, end };
}

async function createStages(soak: Soak, token: string, courseIds: number[]): Promise<void> {
  const latestEnd = soak.runEnd - LAST_END_BEFORE_RUN_END_MS;
  let n = 0;
  while (!soak.ending) {
    const began = Date.now();
    const window = stageWindow(began, latestEnd);
    if (!window) return;
    const live = soak.hosts.filter((h) => h.state === 'up');
    if (live.length) {
      const host = pick(live);
      n += 1;
      const body = { name: `soak ${n}`, startDate: toIso(window.start), endDate: toIso(window.end) };
      const res = await request('POST', `http://127.0.0.1:${host.port}/api/courses/${pick(courseIds)}/stages`, token, body, 5 * SECOND).catch(() => ({ status: 0 }));
      if (res.status === 201) soak.stages.created += 1;
      else soak.stages.failed += 1;
    }
    await sleep(Math.max(0, SECOND - (Date.now() - began)));
  }
}

async function createCourses(soak: Soak, token: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await request('POST', `http://127.0.0.1:${soak.hosts[i % soak.hosts.length].port}/api/courses`, token, { title: `Soak ${i + 1}`, code: `SOAK-${i + 1}` }, 10 * SECOND);
    if (res.status !== 201) throw new Error(`creating a course: ${res.status} ${JSON.stringify(res.body)}`);
    ids.push(res.body.id as number);
  }
  return ids;
}

// ---------------------------------------------------------------- checks

/** mysql2 answers a raw query with [rows, fields]. */
async function rows(db: Knex, sql: string): Promise<any[]> {
  const [result] = (await db.raw(sql)) as [any[], unknown];
  return result;
}

const sample = (found: any[]) => found.slice(0, 5).map((r) => JSON.stringify(r));

async function checkDuplicateClaims(db: Knex): Promise<Check[]> {
  const twice = await rows(db, 'SELECT claim_key, COUNT(*) AS n FROM job_executions WHERE claim_key IS NOT NULL GROUP BY claim_key HAVING COUNT(*) > 1');
  const ranTwice = await rows(
    db,
    "SELECT job_id, scheduled_for, COUNT(*) AS n FROM job_executions WHERE claim_key IS NOT NULL AND status = 'success' GROUP BY job_id, scheduled_for HAVING COUNT(*) > 1",
  );
  return [
    { label: '1. claim keys held by more than one execution', value: twice.length, ok: twice.length === 0, detail: sample(twice) },
    { label: '1. claimed fires that succeeded more than once', value: ranTwice.length, ok: ranTwice.length === 0, detail: sample(ranTwice) },
  ];
}

async function checkSupersededWrites(db: Knex, logs: HostLine[]): Promise<Check[]> {
  const executions = await rows(
    db,
    'SELECT e.id, e.job_id, e.status, e.term, e.created_at, n.started_at AS next_term_started_at, e.hostname, e.pid FROM job_executions e JOIN leader_terms n ON n.term = e.term + 1 WHERE e.created_at > n.started_at',
  );
  const transitions = await rows(
    db,
    'SELECT t.id, t.stage_id, t.to_status, t.cause, t.term, t.at, n.started_at AS next_term_started_at FROM stage_transitions t JOIN leader_terms n ON n.term = t.term + 1 WHERE t.at > n.started_at',
  );
  const refused = logs.filter((l) => l.msg.startsWith('write refused')).length;
  return [
    { label: '2. executions written after the next term began', value: executions.length, ok: executions.length === 0, detail: sample(executions) },
    { label: '2. transitions written after the next term began', value: transitions.length, ok: transitions.length === 0, detail: sample(transitions) },
    { label: "2. (figure) 'write refused' lines in the host logs", value: refused, ok: true },
  ];
}

async function checkStagesCompleted(db: Knex): Promise<Check[]> {
  const total = await rows(db, 'SELECT COUNT(*) AS n FROM stages');
  const unfinished = await rows(db, "SELECT id, status, start_date, end_date FROM stages WHERE status <> 'completed'");
  return [
    { label: '3. (figure) stages in the database', value: Number(total[0].n), ok: Number(total[0].n) > 0 },
    { label: '3. stages not completed at the end', value: unfinished.length, ok: unfinished.length === 0, detail: sample(unfinished) },
  ];
}

async function checkTransitions(db: Knex): Promise<Check[]> {
  const wrong = await rows(
    db,
    `SELECT s.id,
            COALESCE(SUM(t.from_status = 'pending' AND t.to_status = 'active'), 0) AS opened,
            COALESCE(SUM(t.from_status = 'active' AND t.to_status = 'completed'), 0) AS closed
       FROM stages s LEFT JOIN stage_transitions t ON t.stage_id = s.id
      GROUP BY s.id HAVING opened <> 1 OR closed <> 1`,
  );
  const causes = await rows(db, 'SELECT cause, COUNT(*) AS n FROM stage_transitions GROUP BY cause ORDER BY cause');
  const byCause = causes.map((c) => `${c.cause} ${c.n}`).join(', ');
  return [
    { label: '4. stages without exactly one opening and one closing transition', value: wrong.length, ok: wrong.length === 0, detail: sample(wrong) },
    { label: '4. (figure) transitions by cause', value: byCause || 'none', ok: true },
  ];
}

/** Transition `at` minus the boundary it belongs to, for the summary. */
async function transitionLag(db: Knex): Promise<string> {
  const found = await rows(db, "SELECT t.to_status, t.at, s.start_date, s.end_date FROM stage_transitions t JOIN stages s ON s.id = t.stage_id WHERE t.cause <> 'edit'");
  const lags = found.map((r) => numberFromDb(r.at) - numberFromDb(r.to_status === 'active' ? r.start_date : r.end_date)).sort((a, b) => a - b);
  if (!lags.length) return 'none';
  return `p50 ${percentile(lags, 50)} numberFromDb, p99 ${percentile(lags, 99)} numberFromDb, max ${lags.at(-1)} ms`;
}

/** From each fault to the first "scheduler started" of any host at or after it, before the next fault. */
function failoverTimes(soak: Soak): Check[] {
  const starts = soak.logs.filter((l) => l.msg.includes('scheduler started')).map((l) => l.at).sort((a, b) => a - b);
  const checks: Check[] = [];
  for (const kind of Object.keys(FAULT_WEIGHTS) as FaultKind[]) {
    const mine = soak.faults.map((f, i) => ({ f, until: soak.faults[i + 1]?.at ?? Number.POSITIVE_INFINITY })).filter(({ f }) => f.kind === kind);
    if (!mine.length) {
      checks.push({ label: `5. failover after ${kind}`, value: 'no such fault', ok: true });
      continue;
    }
    const times = mine.map(({ f, until }) => starts.find((t) => t >= f.at && t < until)).map((t, i) => (t === undefined ? null : t - mine[i].f.at));
    const seen = times.filter((t): t is number => t !== null).sort((a, b) => a - b);
    const unanswered = times.length - seen.length;
    let value = `${mine.length} faults: p50 ${seen.length ? percentile(seen, 50) : '-'} numberFromDb, max ${seen.at(-1) ?? '-'} ms (LEADER_LEASE_MS ${LEASE_MS})`;
    if (unanswered) value += `; ${unanswered} with no new leader before the next fault`;
    if (kind === 'restart-db') {
      const sinceBack = mine.map(({ f, until }) => (f.backAt === undefined ? undefined : (starts.find((t) => t >= f.backAt! && t < until) ?? 0) - f.backAt)).filter((t): t is number => t !== undefined && t >= 0);
      if (sinceBack.length) value += `; from the database answering again: max ${Math.max(...sinceBack)} ms`;
    }
    checks.push({ label: `5. failover after ${kind}`, value, ok: true });
  }
  return checks;
}

/** Terms by how they ended, and how many leader changes no fault explains (the first term aside). */
async function leadershipFigures(db: Knex, faults: number): Promise<string> {
  const ends = await rows(db, "SELECT COALESCE(end_reason, 'open') AS reason, COUNT(*) AS n FROM leader_terms GROUP BY end_reason ORDER BY n DESC");
  const terms = ends.reduce((sum, e) => sum + Number(e.n), 0);
  return `${terms} (${ends.map((e) => `${e.reason} ${e.n}`).join(', ')}); ${terms - 1 - faults} more leader changes than faults`;
}

async function executionFigures(db: Knex): Promise<string> {
  const statuses = await rows(db, 'SELECT status, COUNT(*) AS n FROM job_executions GROUP BY status ORDER BY n DESC');
  return statuses.map((s) => `${s.status} ${s.n}`).join(', ');
}

// ---------------------------------------------------------------- summary

function printChecks(checks: Check[]): void {
  for (const check of checks) {
    console.log(`${check.ok ? 'ok  ' : 'FAIL'} ${check.label}: ${check.value}`);
    if (!check.ok) for (const line of check.detail ?? []) console.log(`       ${line}`);
  }
}

async function summarise(soak: Soak, timings: { setupMs: number; settleMs: number; stopMs: number; stopped: string[] }): Promise<boolean> {
  const { db } = soak;
  const byKind = Object.keys(FAULT_WEIGHTS).map((k) => `${k} ${soak.faults.filter((f) => f.kind === k).length}`).join(', ');
  console.log('\n== soak summary ==');
  console.log(`run: ${seconds(SOAK_MS)} of faults, 3 hosts x 2 workers, LEADER_LEASE_MS ${LEASE_MS}, SCHEDULER_RETRY_MS ${RETRY_MS}, sweep every second`);
  console.log(`start-up ${seconds(timings.setupMs)} (database, migrations, 3 hosts ready); settling after the faults ${seconds(timings.settleMs)}; stop ${seconds(timings.stopMs)} (SIGTERM: ${timings.stopped.join(', ')})`);
  console.log(`faults: ${soak.faults.length} (${byKind})`);
  console.log(`stages: ${soak.stages.created} created through the API, ${soak.stages.failed} requests refused or failed`);
  console.log(`terms: ${await leadershipFigures(db, soak.faults.length)}`);
  console.log(`executions by status: ${await executionFigures(db)}`);
  console.log(`transition lag (not edits): ${await transitionLag(db)}`);
  const checks = [
    ...(await checkDuplicateClaims(db)),
    ...(await checkSupersededWrites(db, soak.logs)),
    ...(await checkStagesCompleted(db)),
    ...(await checkTransitions(db)),
    ...failoverTimes(soak),
  ];
  printChecks(checks);
  return checks.every((c) => c.ok);
}

// ---------------------------------------------------------------- run

async function setUp(): Promise<Soak> {
  const dbName = await createDatabase();
  const databaseUrl = urlFor(dbName);
  const logPath = path.join(os.tmpdir(), `${dbName}.log.jsonl`);
  const soak: Soak = {
    dbName,
    databaseUrl,
    db: quietConnect(databaseUrl),
    hosts: [],
    logs: [],
    logFile: fs.createWriteStream(logPath),
    logPath,
    faults: [],
    stages: { created: 0, failed: 0 },
    startedAt: 0,
    runEnd: 0,
    ending: false,
    mariadbStoppedByUs: false,
  };
  // Each host keeps its port across restarts.
  for (const name of HOST_NAMES) soak.hosts.push({ name, port: await freePort(), root: null, exited: Promise.resolve(), state: 'down' });
  return soak;
}

async function startHosts(soak: Soak): Promise<void> {
  await migrate(soak.databaseUrl);
  for (const host of soak.hosts) startHost(soak, host);
  for (const host of soak.hosts) if (!(await waitReady(host))) throw new Error(`${host.name} was not ready within 30 s`);
}

/** Waits out every stage's end, then a settle period with a leader. */
async function settle(soak: Soak): Promise<void> {
  const [last] = await rows(soak.db, 'SELECT MAX(end_date) AS at FROM stages');
  const lastEnd = last?.at === null || last?.at === undefined ? 0 : numberFromDb(last.at);
  if (lastEnd > Date.now()) await sleep(lastEnd - Date.now());
  if (!(await waitForLeader(soak, 60 * SECOND))) console.log('no leader within 60 s of the end');
  await sleep(SETTLE_MS);
}

let cleaning: Promise<void> | undefined;

/** Always, once: hosts killed, MariaDB running again if we stopped it, the database dropped unless KEEP=1. */
function cleanUp(soak: Soak | null): Promise<void> {
  return (cleaning ??= soak ? cleanUpOnce(soak) : Promise.resolve());
}

async function cleanUpOnce(soak: Soak): Promise<void> {
  soak.ending = true;
  await Promise.all(soak.hosts.map((h) => killHost(h).catch(() => undefined)));
  if (soak.mariadbStoppedByUs) {
    console.log('starting MariaDB again');
    await startMariadb();
    soak.mariadbStoppedByUs = false;
  }
  await soak.db.destroy().catch(() => undefined);
  soak.logFile.end();
  if (KEEP) {
    console.log(`kept database ${soak.dbName}, combined log ${soak.logPath}`);
  } else {
    await dropDatabase(soak.dbName);
    fs.rmSync(soak.logPath, { force: true });
  }
}

async function main(state: { soak: Soak | null }): Promise<boolean> {
  const setupBegan = Date.now();
  const soak = (state.soak = await setUp());
  await startHosts(soak);
  const { token } = await userWithToken(soak.db, 'teacher', 'soak-teacher');
  const courseIds = await createCourses(soak, token, 3);
  const setupMs = Date.now() - setupBegan;
  soak.startedAt = Date.now();
  soak.runEnd = soak.startedAt + SOAK_MS;
  console.log(`soak: database ${soak.dbName}, hosts ${soak.hosts.map((h) => `${h.name}:${h.port}`).join(' ')}, ${seconds(SOAK_MS)} of faults (ready in ${seconds(setupMs)})`);

  await Promise.all([runFaults(soak), createStages(soak, token, courseIds)]);
  console.log(`[${elapsed(soak)}] faults over; waiting for the last stage end, a leader and ${seconds(SETTLE_MS)}`);
  const settleBegan = Date.now();
  await settle(soak);
  const settleMs = Date.now() - settleBegan;

  const stopBegan = Date.now();
  soak.ending = true;
  const stopped = await Promise.all(soak.hosts.map(async (h) => `${h.name} ${await stopHost(h)}`));
  const stopMs = Date.now() - stopBegan;
  return summarise(soak, { setupMs, settleMs, stopMs, stopped });
}

const state: { soak: Soak | null } = { soak: null };
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.log(`\n${sig}: cleaning up`);
    void cleanUp(state.soak).finally(() => process.exit(130));
  });
}
let passed = false;
try {
  passed = await main(state);
} catch (err) {
  console.error(err);
} finally {
  await cleanUp(state.soak);
}
console.log(passed ? 'soak passed' : 'soak FAILED');
process.exit(passed ? 0 : 1);
