// submissions:export through the built CLI, read back with a real zip
// reader; and the daily sweep of files no row names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import yauzl from 'yauzl';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import { filesUnder, postMultipart } from './helpers/multipart.js';
import { runCli } from './helpers/cli.js';
import { DAY, HOUR, toIso } from '../src/time.js';
import { sweepOrphanUploads } from '../src/uploads/orphans.js';
import { jobDefinitions } from '../src/jobs/registry.js';
import { loadConfig } from '../src/config.js';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Every entry of a zip file with its bytes, read by yauzl (its callback API, one entry at a time). */
function unzip(file: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const entries = new Map<string, Buffer>();
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr || !stream) return reject(streamErr ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

describe(`export and orphan sweep on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacher: ApiClient;
  const tokens: Record<string, string> = {};
  const emails: Record<string, string> = {};
  const userIds: Record<string, number> = {};
  let courseId: number;
  const work = path.join(os.tmpdir(), `coursework-export-${process.pid}`);

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    fs.mkdirSync(work, { recursive: true });
    const te = await userWithToken(t.db, 'teacher');
    teacher = apiClient(server.baseUrl, te.token);
    courseId = (await teacher.post('/api/courses', { title: 'Export', code: 'EXP-1' })).body.id;
    const ids: number[] = [];
    for (const name of ['alice', 'bob', 'carol']) {
      const s = await userWithToken(t.db, 'student', name);
      tokens[name] = s.token;
      emails[name] = s.user.email;
      userIds[name] = s.user.id;
      ids.push(s.user.id);
      await teacher.post(`/api/courses/${courseId}/members`, { email: s.user.email });
    }
    await teacher.post(`/api/courses/${courseId}/teams`, { name: 'Red/Blue', memberIds: ids.slice(0, 2) });
  });

  after(async () => {
    await server.close();
    await t.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const env = () => ({ PATH: process.env.PATH, DATABASE_URL: t.url, UPLOAD_DIR: server.uploadDir, LOG_LEVEL: 'silent', DEMO_DATA: 'false' });
  const stage = async (extra: object = {}) =>
    (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Final', startDate: toIso(Date.now() - HOUR), endDate: toIso(Date.now() + DAY), ...extra })).body.id as number;
  const upload = (who: string, stageId: number, files: { name: string; data: Buffer }[], body?: string) =>
    postMultipart(`${server.baseUrl}/api/stages/${stageId}/submissions`, tokens[who], [
      ...(body ? [{ name: 'body', value: body }] : []),
      ...files.map((f) => ({ name: 'files', filename: f.name, data: f.data })),
    ]);

  test('the latest version of each student, with its files, one folder each; JSON on stdout', async () => {
    const stageId = await stage();
    assert.equal((await upload('alice', stageId, [{ name: 'old.pdf', data: Buffer.from('%PDF-old') }])).status, 201);
    const latest = Buffer.from('%PDF-new report');
    assert.equal((await upload('alice', stageId, [{ name: 'report.pdf', data: latest }, { name: 'report.pdf', data: Buffer.from('second of that name') }], 'v2')).status, 201);
    assert.equal((await upload('bob', stageId, [], 'text only')).status, 201);
    const out = path.join(work, 'final.zip');
    const result = await runCli(env(), 'submissions:export', String(stageId), '--out', out);
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout);
    assert.deepEqual(printed, { path: out, submissions: 2, files: 2, bytes: fs.statSync(out).size });
    const entries = await unzip(out);
    const alice = `student-${JSON.parse(entries.get([...entries.keys()].find((k) => k.includes(emails.alice) && k.endsWith('submission.json'))!)!.toString()).studentId} ${emails.alice}`;
    assert.deepEqual([...entries.keys()].sort(), [`${alice}/2-report.pdf`, `${alice}/report.pdf`, `${alice}/submission.json`, `student-${JSON.parse(entries.get([...entries.keys()].find((k) => k.includes(emails.bob))!)!.toString()).studentId} ${emails.bob}/submission.json`].sort());
    assert.equal(sha(entries.get(`${alice}/report.pdf`)!), sha(latest));
    const meta = JSON.parse(entries.get(`${alice}/submission.json`)!.toString());
    assert.deepEqual([meta.version, meta.body, meta.files.length], [2, 'v2', 2]);
    assert.equal(fs.readdirSync(work).filter((f) => f.endsWith('.part')).length, 0, 'no half-written zip left');
  });

  test("late work is marked late in the export, by each student's own window", async () => {
    // The class's end has passed and late work is taken until the cut-off; bob has an extension.
    const now = Date.now();
    const stageId = await stage({ startDate: toIso(now - 2 * DAY), endDate: toIso(now - HOUR), cutoffDate: toIso(now + HOUR) });
    assert.equal((await teacher.post(`/api/stages/${stageId}/overrides`, { userId: userIds.bob, endDate: toIso(now + DAY), reason: 'ill' })).status, 201);
    assert.equal((await upload('alice', stageId, [], 'after the end')).status, 201);
    assert.equal((await upload('bob', stageId, [], 'within the extension')).status, 201);
    const out = path.join(work, 'late.zip');
    const result = await runCli(env(), 'submissions:export', String(stageId), '--out', out);
    assert.equal(result.code, 0, result.stderr);
    const entries = await unzip(out);
    const lateOf = (who: string) => JSON.parse(entries.get([...entries.keys()].find((k) => k.includes(emails[who]) && k.endsWith('submission.json'))!)!.toString()).late;
    assert.equal(lateOf('alice'), true);
    assert.equal(lateOf('bob'), false);
  });

  test('a team stage: one folder per team (its name made safe); bad usage is exit 2, an unknown stage exit 1', async () => {
    const stageId = await stage({ mode: 'team' });
    assert.equal((await upload('bob', stageId, [{ name: 'team.pdf', data: Buffer.from('%PDF-team') }])).status, 201);
    const out = path.join(work, 'team.zip');
    const result = await runCli(env(), 'submissions:export', String(stageId), '--out', out);
    assert.equal(result.code, 0, result.stderr);
    const names = [...(await unzip(out)).keys()];
    assert.equal(names.length, 2);
    assert.ok(names.every((n) => /^team-\d+ Red_Blue\//.test(n)), names.join(', '));
    assert.equal((await runCli(env(), 'submissions:export', String(stageId))).code, 2, 'no --out');
    assert.equal((await runCli(env(), 'submissions:export', 'abc', '--out', out)).code, 2);
    const unknown = await runCli(env(), 'submissions:export', '999999', '--out', path.join(work, 'none.zip'));
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /No stage with id 999999/);
  });

  test('the sweep removes old files no row names and old temporary files, and nothing else', async () => {
    assert.ok(jobDefinitions(loadConfig({})).some((job) => job.id === 'cleanup-orphan-uploads'), 'a job of the scheduler');
    const dir = server.uploadDir;
    const named = filesUnder(dir);
    assert.ok(named.length > 0);
    const old = (Date.now() - 2 * DAY) / 1000;
    const place = (name: string, age: number | null) => {
      const file = path.join(dir, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, name);
      if (age !== null) fs.utimesSync(file, age, age);
    };
    const orphan = sha(Buffer.from('orphan'));
    const fresh = sha(Buffer.from('fresh orphan'));
    place(`${orphan.slice(0, 2)}/${orphan}`, old);
    place(`${fresh.slice(0, 2)}/${fresh}`, null);
    place('tmp/dead.part', old);
    place('tmp/live.part', null);
    for (const key of named) fs.utimesSync(path.join(dir, key), old, old);
    const result = await sweepOrphanUploads(t.db, dir, Date.now() - DAY);
    assert.deepEqual({ removed: result.removed, temporaries: result.temporaries }, { removed: 1, temporaries: 1 });
    assert.deepEqual(filesUnder(dir), [...named, `${fresh.slice(0, 2)}/${fresh}`, 'tmp/live.part'].sort());
  });
});
