// A sign-in with an email that belongs to nobody must take as long as one
// with a wrong password: otherwise the answer's timing tells which accounts
// exist. Without the dummy verification, an unknown email costs one indexed
// lookup (well under a millisecond) against argon2's tens of milliseconds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { authenticate, createUser } from '../src/domain/users.js';

let t: TestDatabase;

before(async () => {
  t = await createTestDatabase();
  await createUser(t.db, { email: 'known@example.test', password: 'password-123', role: 'student' });
});

after(async () => {
  await t.cleanup();
});

async function medianMs(run: () => Promise<unknown>, times = 7): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(times / 2)];
}

test(`an unknown email costs about as much as a wrong password, on ${testDialect}`, async () => {
  await authenticate(t.db, 'nobody@example.test', 'warm-up'); // the dummy hash is made once, on first use
  const wrongPassword = await medianMs(() => authenticate(t.db, 'known@example.test', 'wrong-password'));
  const unknownEmail = await medianMs(() => authenticate(t.db, 'nobody@example.test', 'wrong-password'));
  assert.equal(await authenticate(t.db, 'nobody@example.test', 'password-123'), undefined);
  // Generous bounds (a loaded machine): the point is the order of magnitude.
  assert.ok(unknownEmail > wrongPassword * 0.5, `unknown email ${unknownEmail.toFixed(1)} ms, wrong password ${wrongPassword.toFixed(1)} ms`);
  assert.ok(unknownEmail < wrongPassword * 2, `unknown email ${unknownEmail.toFixed(1)} ms, wrong password ${wrongPassword.toFixed(1)} ms`);
});
