// File hand-ins over the API, on a real database and real files on disk:
// the happy path, versions, team stages, downloads, and every bad input of
// issue 21, each leaving no row, no file and no temporary file behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { apiClient, startTestServer, userWithToken, type ApiClient, type TestServer } from './helpers/http.js';
import { filesUnder, postCutOff, postMultipart, type Part } from './helpers/multipart.js';
import { DAY, HOUR, sleep, toIso } from '../src/time.js';

const MiB = 1024 * 1024;
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const pdf = (text: string) => Buffer.from(`%PDF-1.4\n${text}\n%%EOF\n`);

describe(`file hand-ins on ${testDialect}`, () => {
  let t: TestDatabase;
  let server: TestServer;
  let teacher: ApiClient, alice: ApiClient, bob: ApiClient, carol: ApiClient;
  const tokens: Record<string, string> = {};
  let courseId: number;
  let stageId: number;
  let teamStageId: number;

  const counts = async () => ({
    submissions: Number((await t.db('submissions').count({ n: '*' }).first())!.n),
    files: Number((await t.db('submission_files').count({ n: '*' }).first())!.n),
    onDisk: filesUnder(server.uploadDir),
  });

  before(async () => {
    t = await createTestDatabase();
    server = await startTestServer(t.db);
    const te = await userWithToken(t.db, 'teacher');
    teacher = apiClient(server.baseUrl, te.token);
    tokens.teacher = te.token;
    courseId = (await teacher.post('/api/courses', { title: 'Files', code: 'FILES-1' })).body.id;
    const memberIds: number[] = [];
    for (const name of ['alice', 'bob', 'carol']) {
      const s = await userWithToken(t.db, 'student', name);
      tokens[name] = s.token;
      await teacher.post(`/api/courses/${courseId}/members`, { email: s.user.email });
      if (name !== 'carol') memberIds.push(s.user.id);
    }
    alice = apiClient(server.baseUrl, tokens.alice);
    bob = apiClient(server.baseUrl, tokens.bob);
    carol = apiClient(server.baseUrl, tokens.carol);
    await teacher.post(`/api/courses/${courseId}/teams`, { name: 'Red', memberIds });
    const now = Date.now();
    const window = { startDate: toIso(now - HOUR), endDate: toIso(now + DAY) };
    stageId = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Report', ...window, allowedExtensions: ['.pdf', '.zip', '.txt'] })).body.id;
    teamStageId = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Team report', ...window, mode: 'team' })).body.id;
  });

  after(async () => {
    await server.close();
    await t.cleanup();
  });

  const upload = (who: string, parts: Part[], stage = stageId) => postMultipart(`${server.baseUrl}/api/stages/${stage}/submissions`, tokens[who], parts);

  test('a multipart hand-in with text and two files: stored by content, described in the JSON', async () => {
    const a = pdf('report');
    const b = Buffer.from('notes\n');
    const res = await upload('alice', [
      { name: 'body', value: 'See the files' },
      { name: 'files', filename: 'Bericht – größe.pdf', type: 'application/pdf', data: a },
      { name: 'files', filename: 'notes.TXT', type: 'text/plain', data: b },
    ]);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ['body', 'createdAt', 'files', 'id', 'late', 'link', 'stageId', 'studentId', 'teamId', 'version']);
    assert.deepEqual([res.body.version, res.body.teamId, res.body.late, res.body.body], [1, null, false, 'See the files']);
    assert.deepEqual(
      res.body.files.map((f: Record<string, unknown>) => ({ ...f, id: typeof f.id })),
      [
        { id: 'number', name: 'Bericht – größe.pdf', size: a.length, sha256: sha(a), contentType: 'application/pdf' },
        { id: 'number', name: 'notes.TXT', size: b.length, sha256: sha(b), contentType: 'text/plain' },
      ],
    );
    assert.deepEqual(filesUnder(server.uploadDir), [`${sha(a).slice(0, 2)}/${sha(a)}`, `${sha(b).slice(0, 2)}/${sha(b)}`].sort());
    assert.deepEqual(fs.readFileSync(path.join(server.uploadDir, sha(a).slice(0, 2), sha(a))), a);
    const listed = await alice.get(`/api/stages/${stageId}/submissions`);
    assert.deepEqual(listed.body.items[0].files, res.body.files, 'the list carries the files');
  });

  test('every hand-in is a new version; the same file twice is stored once', async () => {
    const a = pdf('report');
    const second = await upload('alice', [{ name: 'files', filename: 'again.pdf', type: 'application/pdf', data: a }]);
    assert.equal(second.status, 201);
    assert.equal(second.body.version, 2);
    assert.equal(filesUnder(server.uploadDir).filter((f) => f.endsWith(sha(a))).length, 1, 'one blob for both rows');
    const third = await alice.post(`/api/stages/${stageId}/submissions`, { body: 'text only' });
    assert.equal(third.body.version, 3);
    assert.deepEqual(third.body.files, []);
    assert.equal((await bob.post(`/api/stages/${stageId}/submissions`, { body: 'mine' })).body.version, 1, 'versions count per student');
    const all = await alice.get(`/api/stages/${stageId}/submissions`);
    assert.deepEqual(all.body.items.map((s: { version: number }) => s.version), [3, 2, 1], 'every version kept, newest first');
  });

  test('downloads: the original name, nosniff, length, a range; 404 for whoever may not see the submission', async () => {
    const first = (await alice.get(`/api/stages/${stageId}/submissions`)).body.items.find((s: { version: number }) => s.version === 1);
    const file = first.files[0];
    const get = (token: string, headers: Record<string, string> = {}) => fetch(`${server.baseUrl}/api/files/${file.id}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    const res = await get(tokens.alice);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="Bericht _ gr__e.pdf"; filename*=UTF-8''Bericht%20%E2%80%93%20gr%C3%B6%C3%9Fe.pdf`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('content-type'), 'application/pdf');
    assert.equal(res.headers.get('content-length'), String(file.size));
    assert.equal(sha(Buffer.from(await res.arrayBuffer())), file.sha256);
    const ranged = await get(tokens.teacher, { range: 'bytes=0-3' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 0-3/${file.size}`);
    assert.equal(await ranged.text(), '%PDF');
    assert.equal((await get(tokens.teacher, { range: `bytes=${file.size}-` })).status, 416);
    assert.equal((await get(tokens.bob)).status, 404, 'another student of the course');
    assert.equal((await fetch(`${server.baseUrl}/api/files/99999999`, { headers: { authorization: `Bearer ${tokens.teacher}` } })).status, 404);
  });

  test('a team stage: a member hands in for the team, a teammate sees and downloads it, a student in no team gets a 409', async () => {
    const report = pdf('team');
    const res = await upload('alice', [{ name: 'files', filename: 'team.pdf', type: 'application/pdf', data: report }], teamStageId);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(typeof res.body.teamId, 'number');
    const next = await upload('bob', [{ name: 'body', value: 'fixed a typo' }], teamStageId);
    assert.deepEqual([next.body.version, next.body.teamId], [2, res.body.teamId], 'the team counts its versions');
    const seen = await bob.get(`/api/stages/${teamStageId}/submissions`);
    assert.deepEqual(seen.body.items.map((s: { version: number }) => s.version), [2, 1], 'a teammate sees every version of the team');
    const download = await fetch(`${server.baseUrl}/api/files/${res.body.files[0].id}`, { headers: { authorization: `Bearer ${tokens.bob}` } });
    assert.equal(download.status, 200);
    const before = await counts();
    const lonely = await upload('carol', [{ name: 'files', filename: 'solo.pdf', type: 'application/pdf', data: pdf('solo') }], teamStageId);
    assert.equal(lonely.status, 409);
    assert.match(lonely.body.error.message, /in no team/);
    assert.deepEqual(await counts(), before, 'nothing stored');
    assert.equal((await carol.get(`/api/stages/${teamStageId}/submissions`)).body.items.length, 0);
    assert.equal((await fetch(`${server.baseUrl}/api/files/${res.body.files[0].id}`, { headers: { authorization: `Bearer ${tokens.carol}` } })).status, 404);
  });

  test('a name given as a path is stored as its last part; a lying Content-Type is not believed', async () => {
    const res = await upload('bob', [
      { name: 'files', filename: '../../etc/passwd.txt', type: 'text/plain', data: Buffer.from('x') },
      { name: 'files', filename: 'C:\\Users\\bob\\report.pdf', type: 'application/pdf', data: Buffer.from('<html><script>alert(1)</script>') },
      { name: 'files', filename: 'real.pdf', type: 'text/html', data: pdf('real') },
    ]);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.files.map((f: { name: string; contentType: string }) => [f.name, f.contentType]),
      [
        ['passwd.txt', 'text/plain'],
        ['report.pdf', 'application/octet-stream'],
        ['real.pdf', 'application/pdf'],
      ],
    );
  });

  const refusals: { what: string; parts: () => Part[]; status: number; message: RegExp }[] = [
    { what: 'a file without a name', parts: () => [{ name: 'body', value: 'x' }, { name: 'files', filename: '', data: Buffer.from('bytes') }], status: 400, message: /without a file name/ },
    { what: 'a NUL in the name', parts: () => [{ name: 'files', filename: 'a\u0000.pdf', data: pdf('x') }], status: 400, message: /control characters/ },
    { what: 'a control character in the name', parts: () => [{ name: 'files', filename: 'a\u001b[31m.pdf', data: pdf('x') }], status: 400, message: /control characters/ },
    { what: 'a 300-character name', parts: () => [{ name: 'files', filename: `${'n'.repeat(296)}.pdf`, data: pdf('x') }], status: 400, message: /at most 255 characters/ },
    { what: 'a name of dots only', parts: () => [{ name: 'files', filename: '..', data: pdf('x') }], status: 400, message: /not a file name/ },
    { what: 'an empty file', parts: () => [{ name: 'files', filename: 'empty.pdf', data: Buffer.alloc(0) }], status: 400, message: /is empty/ },
    { what: 'a refused extension', parts: () => [{ name: 'files', filename: 'run.exe', data: Buffer.from('MZ') }], status: 400, message: /only \.pdf, \.zip, \.txt/ },
    { what: '11 files', parts: () => Array.from({ length: 11 }, (_, i) => ({ name: 'files', filename: `f${i}.txt`, data: Buffer.from(`file ${i}`) })), status: 400, message: /at most 10 files/ },
    { what: 'a good file before a bad one', parts: () => [{ name: 'files', filename: 'good.pdf', data: pdf('fresh one') }, { name: 'files', filename: 'bad.exe', data: Buffer.from('MZ') }], status: 400, message: /only \.pdf/ },
    { what: 'a file in an unknown part', parts: () => [{ name: 'attachment', filename: 'x.pdf', data: pdf('x') }], status: 400, message: /not a known field/ },
    { what: 'an unknown text field', parts: () => [{ name: 'title', value: 'x' }, { name: 'files', filename: 'x.pdf', data: pdf('unknown field') }], status: 400, message: /title: is not a known field/ },
    { what: 'a 26 MiB file against the 25 MiB limit', parts: () => [{ name: 'files', filename: 'big.pdf', data: Buffer.alloc(26 * MiB, 7) }], status: 413, message: /larger than this stage takes \(26214400 bytes\)/ },
  ];

  for (const refusal of refusals) {
    test(`${refusal.what}: ${refusal.status} naming the field, and nothing stored`, async () => {
      const before = await counts();
      const res = await upload('bob', refusal.parts());
      assert.equal(res.status, refusal.status, JSON.stringify(res.body));
      assert.match(res.body.error.details[0].field, /^(files|attachment|title)$/);
      assert.match(res.body.error.message, refusal.message);
      assert.deepEqual(await counts(), before, 'no row, no file, no temporary file');
    });
  }

  test('a body cut off mid-file (the client went away) leaves nothing', async () => {
    const before = await counts();
    await postCutOff(`${server.baseUrl}/api/stages/${stageId}/submissions`, tokens.bob, [{ name: 'files', filename: 'cut.pdf', data: Buffer.alloc(4 * MiB, 1) }], 2 * MiB);
    for (let i = 0; i < 50 && (await counts()).onDisk.length !== before.onDisk.length; i++) await sleep(50);
    await sleep(200);
    assert.deepEqual(await counts(), before);
  });

  test('a stage limit below the ceiling: a file one byte over is a 413', async () => {
    const small = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Small', startDate: toIso(Date.now() - HOUR), endDate: toIso(Date.now() + DAY), maxFileBytes: 1000 })).body;
    assert.equal((await upload('bob', [{ name: 'files', filename: 'ok.bin', data: Buffer.alloc(1000, 2) }], small.id)).status, 201);
    const over = await upload('bob', [{ name: 'files', filename: 'over.bin', data: Buffer.alloc(1001, 3) }], small.id);
    assert.equal(over.status, 413);
    assert.equal(over.body.error.details[0].field, 'files');
  });
  test('a closed stage and the 21st version are 409s before the file is read, and store nothing', async () => {
    const closed = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Closed', startDate: toIso(Date.now() - DAY), endDate: toIso(Date.now() - HOUR) })).body;
    const before = await counts();
    const late = await upload('bob', [{ name: 'files', filename: 'late.pdf', data: Buffer.alloc(3 * MiB, 9) }], closed.id);
    assert.equal(late.status, 409);
    assert.match(late.body.error.message, /completed: submissions closed/);
    assert.deepEqual(await counts(), before);
    const busy = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Busy', startDate: toIso(Date.now() - HOUR), endDate: toIso(Date.now() + DAY) })).body;
    for (let i = 1; i <= 20; i++) assert.equal((await carol.post(`/api/stages/${busy.id}/submissions`, { body: `v${i}` })).status, 201);
    const again = await counts();
    const capped = await upload('carol', [{ name: 'files', filename: 'v21.pdf', data: pdf('21') }], busy.id);
    assert.equal(capped.status, 409);
    assert.deepEqual(await counts(), again);
  });
  test('a file input left empty (a part with an empty name and no bytes) is no file', async () => {
    const res = await upload('bob', [{ name: 'body', value: 'text, no file chosen' }, { name: 'files', filename: '', data: Buffer.alloc(0) }]);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.files, []);
  });
  test('team members handing in at the same moment get distinct versions, each with its file', async () => {
    const race = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Race', startDate: toIso(Date.now() - HOUR), endDate: toIso(Date.now() + DAY), mode: 'team' })).body;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => upload(i % 2 ? 'alice' : 'bob', [{ name: 'files', filename: `part-${i}.pdf`, data: pdf(`part ${i}`) }], race.id)),
    );
    assert.deepEqual(results.map((r) => r.status), [201, 201, 201, 201, 201, 201]);
    assert.deepEqual(results.map((r) => r.body.version).sort(), [1, 2, 3, 4, 5, 6]);
    assert.equal(new Set(results.map((r) => r.body.teamId)).size, 1);
    assert.deepEqual(filesUnder(path.join(server.uploadDir, 'tmp')), []);
  });
});
