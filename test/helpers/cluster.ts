// Runs the built server (dist/main.js, or start.sh) as a real process tree and
// reads its pino JSON log lines, so tests can wait for "scheduler started",
// kill a worker with SIGKILL, and check what the lock file says.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../../src/scheduler/election.js';

const exec = promisify(execFile);

export interface LogLine {
  pid: number;
  msg: string;
  level: number;
  [key: string]: unknown;
}

export interface RunningCluster {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  lockFile: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  logs: LogLine[];
  /** Non-JSON output (start.sh's own lines, CLI output). */
  text: string[];
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait; SIGKILL the whole tree if it does not stop in time. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'coursework-cluster-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface ClusterOptions {
  databaseUrl: string;
  workers?: number;
  env?: Record<string, string>;
  /** Run ./start.sh instead of node dist/main.js. */
  viaStartSh?: boolean;
  dataDir?: string;
  lockFile?: string;
}

/** Short settings so failover tests take seconds, not the production 15. */
export const FAST_ELECTION = { SCHEDULER_LOCK_STALE_MS: '2000', SCHEDULER_RETRY_MS: '300' };

export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const dataDir = options.dataDir ?? tempDir();
  const lockFile = options.lockFile ?? path.join(dataDir, 'scheduler.lock');
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    WEB_CONCURRENCY: String(options.workers ?? 2),
    DATABASE_URL: options.databaseUrl,
    DATA_DIR: dataDir,
    SCHEDULER_LOCK_FILE: lockFile,
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...FAST_ELECTION,
    ...options.env,
  };
  delete env.COURSEWORK_ROLE;
  const command = options.viaStartSh ? ['./start.sh'] : [process.execPath, 'dist/main.js'];
  const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });

  const logs: LogLine[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  const take = (chunk: string) => {
    sortLines(chunk, logs, text);
    for (const wake of waiters) wake();
  };
  lineReader(child.stdout!, take);
  lineReader(child.stderr!, take);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 15_000, what = 'a log line') =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        if (found) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${logs.slice(-15).map((l) => JSON.stringify(l)).join('\n')}\n${text.slice(-10).join('\n')}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  const stop = async (timeoutMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => killTree(child.pid!), timeoutMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };

  return { child, port, baseUrl: `http://127.0.0.1:${port}`, lockFile, dataDir, env, logs, text, waitForLog, exited, stop };
}

function lineReader(stream: NodeJS.ReadableStream, onLines: (chunk: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (data: string) => {
    const all = rest + data;
    const cut = all.lastIndexOf('\n');
    if (cut === -1) {
      rest = all;
      return;
    }
    rest = all.slice(cut + 1);
    onLines(all.slice(0, cut));
  });
  stream.on('end', () => rest && onLines(rest));
}

export const startedScheduler = (line: LogLine) => line.msg.includes('scheduler started');
export const listening = (line: LogLine) => line.msg === 'worker listening';

/** pids of a process's children, from ps. */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const { stdout } = await exec('ps', ['-o', 'pid=', '--ppid', String(pid)]);
    return stdout.split('\n').map((s) => Number(s.trim())).filter(Boolean);
  } catch {
    return [];
  }
}

export { isAlive };

/** A pino line is a JSON object; anything else (even valid JSON such as `true`) is plain output. */
function sortLines(chunk: string, logs: LogLine[], text: string[]): void {
  for (const raw of chunk.split('\n')) {
    if (!raw.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    if (value !== null && typeof value === 'object') logs.push(value as LogLine);
    else text.push(raw);
  }
}

/** A TypeScript script as a child process, its pino JSON lines collected. */
export function spawnScript(script: string, args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  const text: string[] = [];
  let stderr = '';
  lineReader(child.stdout!, (chunk) => sortLines(chunk, lines, text));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, text, exited, stderr: () => stderr };
}

/** Runs test/fixtures/hold-election.ts and waits until it leads. */
export async function holdElectionInChild(kind: 'lockfile' | 'db', target: string, ms: number) {
  const holder = spawnScript('test/fixtures/hold-election.ts', [kind, target, String(ms)]);
  await waitUntil(() => holder.text.includes('true') || holder.child.exitCode !== null, 20_000, `the holder leads (${holder.stderr()})`);
  assert.ok(holder.text.includes('true'), `the holder did not lead: ${holder.text.join(' ')} ${holder.stderr()}`);
  return holder;
}

function killTree(pid: number): void {
  void childPids(pid).then((children) => {
    for (const c of children) isAlive(c) && process.kill(c, 'SIGKILL');
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
}

export function readLockOwner(lockFile: string): { pid: number; hostname: string; workerId: number; acquiredAt: string } | null {
  try {
    return JSON.parse(fs.readFileSync(lockFile, 'utf8'));
  } catch {
    return null;
  }
}

/** Runs the built CLI with the cluster's environment (but as a tool, never a worker). */
export async function runCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['dist/cli.js', ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A request on a connection of its own. fetch keeps one connection alive, and
 * the cluster hands a connection to one worker for good; a fresh connection
 * lets round-robin pick the next worker.
 */
export function requestOnNewConnection(
  url: string,
  { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res
        .setEncoding('utf8')
        .on('data', (d) => (text += d))
        .on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            /* keep the text */
          }
          resolve({ status: res.statusCode!, body: parsed });
        });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
