// What the Docker image would run, without a Docker engine: the runtime
// stage's files laid out exactly as the Dockerfile's COPY lines say (read
// from the Dockerfile, not a second list, so a file missing there fails
// here), run with the image's environment as an unprivileged user through
// ./start.sh. It must serve /healthz, name its leader in the lock file, and
// create no demo account (NODE_ENV=production).
// Two things differ from the image, on purpose: paths under the image's
// /app (and the lock in /tmp) live in a temporary directory, and PORT is a
// free one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { knexConfig } from '../src/db/connect.js';
import { readOwner } from '../src/leadership/lock-file.js';
import { freePort } from './helpers/processes.js';
import { waitUntil } from './helpers/wait.js';

const NOBODY = 65534;
const skip =
  process.getuid?.() !== 0
    ? 'needs root to run the image as an unprivileged user'
    : process.env.TEST_DATABASE_URL
      ? 'runs once, with the image\'s own embedded database (the SQLite run)'
      : false;

interface RuntimeStage {
  workdir: string;
  env: Record<string, string>;
  copies: { fromBuild: boolean; chown: boolean; sources: string[]; target: string }[];
}

/** The last stage of the Dockerfile: its WORKDIR, ENV and COPY lines. */
function runtimeStage(dockerfile: string): RuntimeStage {
  // Join continuation lines, then keep what follows the last FROM.
  const lines = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim());
  const from = lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true);
  const stage: RuntimeStage = { workdir: '/', env: {}, copies: [] };
  for (const line of lines.slice(from + 1)) {
    const [instruction, ...rest] = line.split(/\s+/);
    if (/^WORKDIR$/i.test(instruction ?? '')) stage.workdir = rest.join(' ');
    if (/^ENV$/i.test(instruction ?? '')) for (const pair of rest) stage.env[pair.split('=')[0]] = pair.split('=').slice(1).join('=');
    if (/^COPY$/i.test(instruction ?? '')) {
      const args = rest.filter((a) => !a.startsWith('--chown'));
      const fromBuild = args[0]?.startsWith('--from=') ?? false;
      const paths = args.filter((a) => !a.startsWith('--'));
      stage.copies.push({ fromBuild, chown: rest.some((a) => a.startsWith('--chown')), sources: paths.slice(0, -1), target: paths.at(-1)! });
    }
  }
  return stage;
}

test('the image\'s runtime files, as an unprivileged user in production: healthz, the lock file, no demo account', { skip }, async () => {
  const root = process.cwd();
  const stage = runtimeStage(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  const image = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-image-'));
  fs.chmodSync(image, 0o755);
  const app = path.join(image, stage.workdir.replace(/^\//, ''));
  // Also inside values such as DATABASE_URL=sqlite:/app/data/...
  const inImage = (value: string) => value.replace(/(^|:)\/app\b/g, `$1${app}`).replace(/(^|:)\/tmp\b/g, `$1${path.join(image, 'tmp')}`);
  try {
    fs.mkdirSync(app, { recursive: true });
    fs.mkdirSync(path.join(image, 'tmp'), { mode: 0o1777 });
    fs.chmodSync(path.join(image, 'tmp'), 0o1777);
    for (const copy of stage.copies) {
      const target = path.resolve(app, copy.target);
      for (const source of copy.sources) {
        // --from=build: the build stage's /app is this checkout after npm ci and the build.
        const from = copy.fromBuild ? path.join(root, source.replace(/^\/app\/?/, '')) : path.join(root, source);
        assert.ok(fs.existsSync(from), `the Dockerfile copies ${source}, which does not exist`);
        // Docker's rules: a directory's contents go into the target; a file goes
        // into a target ending in '/' (or one of several sources) under its own name.
        const intoDirectory = copy.target.endsWith('/') || copy.sources.length > 1;
        const to = fs.statSync(from).isDirectory() || !intoDirectory ? target : path.join(target, path.basename(source));
        fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
      }
    }
    // The node running this test runs the image too (CI also runs the suite on Node 22).
    const env: Record<string, string> = { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: image };
    for (const [name, value] of Object.entries(stage.env)) env[name] = inImage(value);
    env.PORT = String(await freePort());
    env.HOST = '127.0.0.1';
    env.WEB_CONCURRENCY = '2';
    // What an operator sets in production (README, Security): without it the start refuses.
    env.METRICS_TOKEN = 'image-test-metrics-token-0123456789';
    // The code is root's, read-only to the app (issue 24): no COPY hands it to the runtime user.
    assert.deepEqual(stage.copies.filter((c) => c.chown).map((c) => c.sources.join(' ')), [], 'code copied root-owned');
    assert.equal(env.NODE_ENV, 'production', 'the image runs in production');
    // The image's `RUN mkdir -p /app/data && chown node:node /app/data`, as the unprivileged user.
    fs.mkdirSync(inImage(stage.env.DATA_DIR ?? '/app/data'), { recursive: true });
    fs.chownSync(inImage(stage.env.DATA_DIR ?? '/app/data'), NOBODY, NOBODY);

    const child = spawn('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', './start.sh'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitUntil(async () => child.exitCode !== null || (await fetch(`http://127.0.0.1:${env.PORT}/healthz`).catch(() => null))?.status === 200, 60_000, 'the image serves /healthz');
      assert.equal(child.exitCode, null, `the image exited before serving; its output:\n${output}`);
      // A page renders: the views and static files came along.
      assert.equal((await fetch(`http://127.0.0.1:${env.PORT}/login`)).status, 200, `the sign-in page renders; output:\n${output}`);
      assert.equal((await fetch(`http://127.0.0.1:${env.PORT}/static/app.css`)).status, 200);
      const planted = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', 'sh', '-c', 'echo x > dist/planted.js'], { cwd: app });
      assert.notEqual(planted.status, 0, 'the app cannot write into its own code');
      const lockFile = env.SCHEDULER_LOCK_FILE;
      await waitUntil(() => readOwner(lockFile) !== null, 20_000, `a leader names itself in ${lockFile}; output:\n${output}`);
      assert.equal(fs.statSync(lockFile).uid, NOBODY, 'the lock belongs to the unprivileged user');
      assert.match(output, /No users yet\. Create the first admin/, 'welcome says how to create the first admin');

      const db = knexFactory(knexConfig(env.DATABASE_URL));
      try {
        assert.deepEqual(await db('users').select('email'), [], 'no demo account in production');
      } finally {
        await db.destroy();
      }
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `the image stops cleanly; output:\n${output}`);
    }
  } finally {
    fs.rmSync(image, { recursive: true, force: true });
  }
});
