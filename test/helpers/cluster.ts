// Runs the built server (dist/main.js, or start.sh) as a real process tree and
// reads its pino JSON log lines, so tests can wait for "scheduler started",
// kill a worker with SIGKILL, and talk to one worker after another.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, killTree, lineReader, sortLines, tempDir, type LogLine } from './processes.js';
import { waitUntil } from './wait.js';

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

export interface ClusterOptions {
  databaseUrl: string;
  workers?: number;
  env?: Record<string, string>;
  /** Run ./start.sh instead of node dist/main.js. */
  viaStartSh?: boolean;
  dataDir?: string;
  lockFile?: string;
  /** Start under this open-file limit (`ulimit -n`: soft and hard, since Node raises its soft limit to the hard one at start). */
  openFilesLimit?: number;
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
  let command = options.viaStartSh ? ['./start.sh'] : [process.execPath, 'dist/main.js'];
  // bash execs the command, so the child's pid stays the primary's (or start.sh's, which execs node).
  if (options.openFilesLimit !== undefined) command = ['bash', '-c', `ulimit -n ${options.openFilesLimit} && exec "$@"`, 'bash', ...command];
  const child = spawn(command[0], command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });

  const logs: LogLine[] = [];
  const text: string[] = [];
  const waiters = new Set<() => void>();
  const take = (chunk: string) => {
    sortLines(chunk, logs, text);
    for (const wake of waiters) wake();
  };
  lineReader(child.stdout, take);
  lineReader(child.stderr, take);

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

/** Predicates for waitForLog and logs.filter. */
export const startedScheduler = (line: LogLine) => line.msg.includes('scheduler started');
export const listening = (line: LogLine) => line.msg === 'worker listening';

/** startCluster, then wait until every worker listens and one leads; a cluster that does not get there is removed. */
export async function startReadyCluster(options: ClusterOptions): Promise<RunningCluster> {
  const cluster = await startCluster(options);
  const workers = options.workers ?? 2;
  try {
    await waitUntil(() => new Set(cluster.logs.filter(listening).map((l) => l.pid)).size === workers, 30_000, 'all workers listen');
    await cluster.waitForLog(startedScheduler, 20_000, 'scheduler started');
  } catch (err) {
    await removeCluster(cluster);
    throw err;
  }
  return cluster;
}

/** Stops the cluster if it still runs and removes its data folder; requests that failed inside a worker are printed. */
export async function removeCluster(cluster: RunningCluster): Promise<void> {
  // A request that failed inside a worker is logged there, not in the test's output.
  const failed = cluster.logs.filter((l) => l.msg === 'request failed');
  if (failed.length) console.error(`requests that failed in the workers:\n${failed.map((l) => JSON.stringify(l)).join('\n')}`);
  if (cluster.child.exitCode === null && cluster.child.signalCode === null) await cluster.stop(20_000);
  fs.rmSync(cluster.dataDir, { recursive: true, force: true });
}

/**
 * A request on a connection of its own. fetch keeps one connection alive, and
 * the cluster hands a connection to one worker for good; a fresh connection
 * lets round-robin pick the next worker.
 */
export function requestOnNewConnection(
  url: string,
  { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: any; headers: http.IncomingHttpHeaders }> {
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
          resolve({ status: res.statusCode!, body: parsed, headers: res.headers });
        });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
