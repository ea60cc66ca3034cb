// The hot reads' rows are kept until the next commit to the database
// (read-cache.ts): a read with no commit since answers from memory, and any
// commit, from this process's knex pool or from another connection (another
// process), is seen by the next read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { readRows } from '../src/db/read-cache.js';
import { createApiToken, userForApiToken } from '../src/domain/api-tokens.js';
import { listStages } from '../src/domain/stages.js';
import { DAY } from '../src/time.js';

const sqliteOnly = testDialect === 'sqlite' ? {} : { skip: 'rows are kept on SQLite only (MySQL reads go through knex)' };

let t: TestDatabase;
let courseId: number;
let studentId: number;
const student = () => ({ id: studentId, email: 's@example.com', name: 'S', role: 'student' as const, language: null });

before(async () => {
  t = await createTestDatabase();
  const [teacher] = await t.db('users').insert({ email: 't@example.com', name: 'T', password_hash: 'x', role: 'teacher', created_at: 0 });
  [studentId] = await t.db('users').insert({ email: 's@example.com', name: 'S', password_hash: 'x', role: 'student', created_at: 0 });
  [courseId] = await t.db('courses').insert({ title: 'Kept', code: 'KEPT', timezone: 'UTC', teacher_id: teacher, created_at: 0, updated_at: 0 });
  await t.db('course_members').insert({ course_id: courseId, user_id: studentId, created_at: 0 });
  await t.db('stages').insert({ course_id: courseId, name: 'First', description: '', start_date: DAY, end_date: 2 * DAY, status: 'pending', created_at: 0, updated_at: 0 });
});
after(() => t.cleanup());

const names = async () => (await listStages(t.db, student(), courseId, { limit: 50 })).items.map((s) => s.name);

test('a read with no commit since the last one answers the same rows from memory', sqliteOnly, async () => {
  const sql = 'SELECT id, name FROM stages WHERE course_id = ?';
  const first = await readRows(t.db, sql, [courseId]);
  assert.equal(await readRows(t.db, sql, [courseId]), first, 'the very same rows, not a new read');
  assert.notEqual(await readRows(t.db, sql, [courseId + 1]), first, 'other parameters are another read');
});

test(`a commit through the app's own pool is seen by the next read (${testDialect})`, async () => {
  assert.deepEqual(await names(), ['First']);
  await t.db('stages').where({ course_id: courseId }).update({ name: 'Renamed' });
  assert.deepEqual(await names(), ['Renamed']);
  await t.db('course_members').where({ user_id: studentId }).delete();
  await assert.rejects(names(), /not found/i, 'a student taken off the course no longer sees it');
  await t.db('course_members').insert({ course_id: courseId, user_id: studentId, created_at: 0 });
  assert.deepEqual(await names(), ['Renamed']);
});

test('a commit from another connection to the file (another process) is seen by the next read', sqliteOnly, async () => {
  await names(); // read once: a kept row would answer the next read
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => {
    prepare(sql: string): { run(...params: unknown[]): unknown };
    close(): void;
  };
  const other = new Database(new URL(t.url.replace(/^sqlite:/, 'file:')).pathname);
  try {
    other.prepare('UPDATE stages SET name = ? WHERE course_id = ?').run('From elsewhere', courseId);
  } finally {
    other.close();
  }
  assert.deepEqual(await names(), ['From elsewhere']);
});

test(`a token read from memory still expires on time, and a revoked one is refused at once (${testDialect})`, async () => {
  // Long enough for the token to be made and read once before it expires, on a slow machine too.
  const expiresAt = Date.now() + 1500;
  const token = await createApiToken(t.db, studentId, 'short', { expiresAt });
  assert.equal((await userForApiToken(t.db, token))?.id, studentId);
  // Nothing is committed meanwhile (the last-used time was written on the first use), so a
  // kept row would answer: the expiry must be checked against the clock, not in the SQL.
  while (Date.now() <= expiresAt) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await userForApiToken(t.db, token), undefined);

  const lasting = await createApiToken(t.db, studentId, 'lasting');
  assert.equal((await userForApiToken(t.db, lasting))?.id, studentId);
  await t.db('api_tokens').where({ label: 'lasting' }).delete();
  assert.equal(await userForApiToken(t.db, lasting), undefined);
});
