// Child-process plumbing shared by the tests that run real processes: temp
// folders and free ports, reading a child's output as pino JSON lines,
// running a TypeScript fixture script, finding and killing a process tree.
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../../src/leadership/process-identity.js';
import { waitUntil } from './wait.js';

const exec = promisify(execFile);

export { isAlive };

/** One pino log line, parsed. */
export interface LogLine {
  pid: number;
  msg: string;
  level: number;
  [key: string]: unknown;
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

/** Calls onLines with whole lines only (a chunk may end mid-line); the rest comes at the end of the stream. */
export function lineReader(stream: NodeJS.ReadableStream, onLines: (chunk: string) => void): void {
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

/** A pino line is a JSON object; anything else (even valid JSON such as `true`) is plain output. */
export function sortLines(chunk: string, logs: LogLine[], text: string[]): void {
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
  lineReader(child.stdout, (chunk) => sortLines(chunk, lines, text));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
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

/** pids of a process's children, from ps. */
export async function childPids(pid: number): Promise<number[]> {
  try {
    const { stdout } = await exec('ps', ['-o', 'pid=', '--ppid', String(pid)]);
    return stdout.split('\n').map((s) => Number(s.trim())).filter(Boolean);
  } catch {
    return [];
  }
}

/** SIGKILLs a process and its children (one level: the cluster's workers). */
export function killTree(pid: number): void {
  void childPids(pid).then((children) => {
    for (const c of children) if (isAlive(c)) process.kill(c, 'SIGKILL');
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
}
