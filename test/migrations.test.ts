import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, testDialect } from './helpers/database.js';
import { migrateLatest, migrateRollbackAll, migrationsCurrent } from '../src/db/migrations.js';

test(`migrations run up, down and up again on ${testDialect}`, async () => {
  const t = await createTestDatabase({ migrate: false });
  try {
    assert.equal(await migrationsCurrent(t.db), false);
    const ran = await migrateLatest(t.db);
    assert.ok(ran.length >= 1);
    assert.ok(ran.every((name) => !/\.(ts|js)$/.test(name)), 'names are stored without extension');
    assert.equal(await migrationsCurrent(t.db), true);
    for (const table of ['users', 'api_tokens', 'courses', 'course_members', 'stages', 'stage_transitions', 'submissions', 'sessions', 'teams', 'team_members', 'submission_files']) {
      assert.ok(await t.db.schema.hasTable(table), `${table} exists`);
    }
    assert.deepEqual(await migrateLatest(t.db), [], 'a second run does nothing');

    const undone = await migrateRollbackAll(t.db);
    assert.deepEqual([...undone].sort(), [...ran].sort());
    assert.equal(await t.db.schema.hasTable('stages'), false);

    assert.deepEqual(await migrateLatest(t.db), ran);
  } finally {
    await t.cleanup();
  }
});

test('a failed query\'s error names no bound value (they may be passwords, session data, submission text)', async () => {
  const database = await createTestDatabase();
  try {
    const err = await database.db('users').insert({ email: 'x@example.test', password_hash: 'SECRET-BOUND-VALUE', no_such_column: 1 }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    assert.ok(err, 'the insert failed');
    assert.ok(!err.message.includes('SECRET-BOUND-VALUE'), err.message);
  } finally {
    await database.cleanup();
  }
});
