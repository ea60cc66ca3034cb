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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

test(`an unknown email costs about as much as a wrong password, on ${testDialect}`, async () => {
  await authenticate(t.db, 'nobody@example.test', 'warm-up'); // the dummy hash is made once, on first use
  // Taken in turns, so a burst of load on the machine falls on both kinds alike.
  const wrong: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 7; i++) {
    wrong.push(await timed(() => authenticate(t.db, 'known@example.test', 'wrong-password')));
    unknown.push(await timed(() => authenticate(t.db, 'nobody@example.test', 'wrong-password')));
  }
  const [wrongPassword, unknownEmail] = [median(wrong), median(unknown)];
  assert.equal(await authenticate(t.db, 'nobody@example.test', 'password-123'), undefined);
  // Generous bounds (a loaded machine): the point is the order of magnitude.
  assert.ok(unknownEmail > wrongPassword * 0.5, `unknown email ${unknownEmail.toFixed(1)} ms, wrong password ${wrongPassword.toFixed(1)} ms`);
  assert.ok(unknownEmail < wrongPassword * 2, `unknown email ${unknownEmail.toFixed(1)} ms, wrong password ${wrongPassword.toFixed(1)} ms`);
});
