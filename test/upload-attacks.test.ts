// Uploads as an attacker sends them (issue 24): a body declaring 10 GB is a
// 413 before anything is written; a client sending a byte now and then is
// ended by the idle timeout, leaving nothing and freeing its slot; one user's
// parallel uploads are capped per worker (429 beyond). Nothing is ever
// written outside UPLOAD_DIR, and nothing stays inside it from a refused one.
// A member of another team cannot fetch a team's file by its id (404).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { apiClient, courseOfTeacherWithActiveStage, startTestServer, userWithToken, type TestServer } from './helpers/http.js';
import { filesUnder, multipartBody, postMultipart } from './helpers/multipart.js';
import { DEFAULT_UPLOAD_MAX_BYTES } from '../src/config.js';
import { UPLOADS_PER_USER } from '../src/uploads/upload-guards.js';
import { waitUntil } from './helpers/wait.js';

const IDLE_MS = 400;
let t: TestDatabase;
let server: TestServer;
let root: string;
let uploadDir: string;
let studentToken: string;
let stageId: number;

before(async () => {
  t = await createTestDatabase();
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-attack-'));
  uploadDir = path.join(root, 'uploads');
  server = await startTestServer(t.db, { uploads: { dir: uploadDir, maxBytes: DEFAULT_UPLOAD_MAX_BYTES, idleTimeoutMs: IDLE_MS } });
  const teacher = await userWithToken(t.db, 'teacher');
  const student = await userWithToken(t.db, 'student');
  studentToken = student.token;
  ({ stage: { id: stageId } } = await courseOfTeacherWithActiveStage(apiClient(server.baseUrl, teacher.token), student.user.email, 'ATTACK'));
});

after(async () => {
  await server?.close();
  await t?.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

const url = () => `${server.baseUrl}/api/stages/${stageId}/submissions`;
/** Everything under the test's folder but outside UPLOAD_DIR: must stay empty. */
const outsideUploads = () => filesUnder(root).filter((f) => !f.startsWith('uploads' + path.sep));

/** Sends the body's head and then one byte per `everyMs` (or nothing more); resolves with the status, or null when the server just closed. */
function slowUpload(everyMs: number | null, target = url()): { done: Promise<number | null>; abort: () => void } {
  const { body, contentType } = multipartBody([{ name: 'files', filename: 'slow.pdf', type: 'application/pdf', data: Buffer.alloc(64 * 1024, 0x41) }]);
  const req = http.request(target, { method: 'POST', headers: { 'content-type': contentType, 'content-length': String(body.length), authorization: `Bearer ${studentToken}` } });
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<number | null>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on('error', () => resolve(null));
    req.on('close', () => resolve(null));
  }).finally(() => clearInterval(timer));
  let sent = 200;
  req.write(body.subarray(0, sent));
  if (everyMs !== null) timer = setInterval(() => sent < body.length && req.write(body.subarray(sent, ++sent)), everyMs);
  return { done, abort: () => req.destroy() };
}

test('a body declaring 10 GB is a 413 at once, and nothing is written', async () => {
  const { contentType } = multipartBody([]);
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(url(), { method: 'POST', headers: { 'content-type': contentType, 'content-length': String(10 * 1024 ** 3), authorization: `Bearer ${studentToken}` } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
      req.destroy();
    });
    req.on('error', reject);
    req.write(Buffer.alloc(1024, 0x2d));
  });
  assert.equal(status, 413);
  assert.deepEqual(filesUnder(uploadDir), []);
  assert.deepEqual(outsideUploads(), []);
});

test('a client sending a byte at a time more slowly than the idle timeout is ended; its slot and files are freed', async () => {
  const slow = slowUpload(IDLE_MS * 3);
  const outcome = await Promise.race([slow.done, new Promise((r) => setTimeout(() => r('still open'), 20_000))]);
  slow.abort();
  assert.notEqual(outcome, 'still open', 'the idle timeout ended the upload');
  assert.notEqual(outcome, 201);
  // The server removes its temporary file as the request ends: waited for, with a generous bound.
  await waitUntil(() => filesUnder(uploadDir).length === 0, 10_000, 'nothing of it stays');
  const ok = await postMultipart(url(), studentToken, [{ name: 'files', filename: 'fine.pdf', type: 'application/pdf', data: Buffer.from('%PDF-1.4\nok\n%%EOF\n') }]);
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});

test(`one user's parallel uploads on a worker are capped at ${UPLOADS_PER_USER}: with them all held, 100 more at once are 429s, and afterwards one goes through`, async () => {
  // A worker whose idle timeout outlasts the flood: the held uploads stay under way throughout.
  const patient = await startTestServer(t.db, { uploads: { dir: uploadDir, maxBytes: DEFAULT_UPLOAD_MAX_BYTES, idleTimeoutMs: 120_000 } });
  const patientUrl = `${patient.baseUrl}/api/stages/${stageId}/submissions`;
  const held = Array.from({ length: UPLOADS_PER_USER }, () => slowUpload(null, patientUrl));
  try {
    // The held ones are under way once their temporary files exist.
    await waitUntil(() => filesUnder(path.join(uploadDir, 'tmp')).length === UPLOADS_PER_USER, 10_000, 'the held uploads are under way');
    const flood = await Promise.all(Array.from({ length: 100 }, (_, i) => postMultipart(patientUrl, studentToken, [{ name: 'files', filename: `f${i}.pdf`, type: 'application/pdf', data: Buffer.from(`%PDF-1.4\n${i}\n%%EOF\n`) }])));
    const statuses = flood.map((r) => r.status);
    assert.deepEqual([...new Set(statuses)], [429], 'every slot is held: all 100 are refused');
  } finally {
    for (const h of held) h.abort();
    await Promise.all(held.map((h) => h.done));
    await patient.close();
  }
  await waitUntil(() => filesUnder(path.join(uploadDir, 'tmp')).length === 0, 10_000, 'the held uploads leave nothing');
  const ok = await postMultipart(url(), studentToken, [{ name: 'files', filename: 'after.pdf', type: 'application/pdf', data: Buffer.from('%PDF-1.4\nafter\n%%EOF\n') }]);
  assert.equal(ok.status, 201, 'the slots are free again');
  assert.deepEqual(outsideUploads(), []);
});

test('HTML and SVG are served back as attachments that never render on our origin; a path as a name writes nothing outside UPLOAD_DIR', async () => {
  const res = await postMultipart(url(), studentToken, [
    { name: 'files', filename: 'page.html', type: 'text/html', data: Buffer.from('<html><script>alert(document.cookie)</script></html>') },
    { name: 'files', filename: 'image.svg', type: 'image/svg+xml', data: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>') },
    { name: 'files', filename: '../../../../etc/passwd', type: 'text/plain', data: Buffer.from('root:x:0:0') },
  ]);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  for (const file of res.body.files as { id: number; name: string }[]) {
    const download = await fetch(`${server.baseUrl}/api/files/${file.id}`, { headers: { authorization: `Bearer ${studentToken}` } });
    assert.equal(download.status, 200);
    assert.match(download.headers.get('content-disposition')!, /^attachment;/, file.name);
    assert.equal(download.headers.get('x-content-type-options'), 'nosniff');
    assert.match(download.headers.get('content-security-policy')!, /\bsandbox\b/);
    assert.doesNotMatch(download.headers.get('content-type')!, /html|svg|xml/, `${file.name} is not served as markup`);
    await download.arrayBuffer();
  }
  assert.ok(!(res.body.files as { name: string }[]).some((f) => f.name.includes('/')), 'stored under its last part');
  assert.deepEqual(outsideUploads(), [], 'nothing written outside UPLOAD_DIR');
});

test("a member of another team asking for a team's file by its id gets a 404, as for a file that does not exist; the file's own team gets it", async () => {
  const teacherUser = await userWithToken(t.db, 'teacher');
  const teacher = apiClient(server.baseUrl, teacherUser.token);
  const courseId = (await teacher.post('/api/courses', { title: 'Teams', code: 'ATTACK-TEAMS' })).body.id as number;
  const [red1, red2, blue] = await Promise.all([1, 2, 3].map(() => userWithToken(t.db, 'student')));
  for (const s of [red1, red2, blue]) assert.equal((await teacher.post(`/api/courses/${courseId}/members`, { email: s.user.email })).status, 201);
  assert.equal((await teacher.post(`/api/courses/${courseId}/teams`, { name: 'Red', memberIds: [red1.user.id, red2.user.id] })).status, 201);
  assert.equal((await teacher.post(`/api/courses/${courseId}/teams`, { name: 'Blue', memberIds: [blue.user.id] })).status, 201);
  const now = Date.now();
  const teamStage = (await teacher.post(`/api/courses/${courseId}/stages`, { name: 'Team work', startDate: new Date(now - 3_600_000).toISOString(), endDate: new Date(now + 86_400_000).toISOString(), mode: 'team' })).body.id as number;
  const handedIn = await postMultipart(`${server.baseUrl}/api/stages/${teamStage}/submissions`, red1.token, [{ name: 'files', filename: 'red-secret.pdf', type: 'application/pdf', data: Buffer.from('%PDF-1.4 red team only') }]);
  assert.equal(handedIn.status, 201, JSON.stringify(handedIn.body));
  const fileId = (handedIn.body.files as { id: number }[])[0].id;
  const download = (token: string, id: number) => fetch(`${server.baseUrl}/api/files/${id}`, { headers: { authorization: `Bearer ${token}` } });
  const stolen = await download(blue.token, fileId);
  assert.equal(stolen.status, 404, 'another team of the same course');
  const stolenText = await stolen.text();
  assert.ok(!stolenText.includes('red team only'), 'not a byte of it');
  const missing = await download(blue.token, fileId + 1_000_000);
  assert.equal(missing.status, 404);
  assert.equal(stolenText, await missing.text(), 'the same answer as for no file at all: ids cannot be probed');
  const own = await download(red2.token, fileId);
  assert.equal(own.status, 200, 'a teammate downloads it');
  assert.equal(await own.text(), '%PDF-1.4 red team only');
});
