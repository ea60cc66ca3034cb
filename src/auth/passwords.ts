// argon2id through @node-rs/argon2: a memory-hard KDF with prebuilt binaries,
// and parameters stored inside each hash so they can be raised later.
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { hashGate } from './hash-gate.js';

/** A new hash; through the worker's gate (hash-gate.ts), so it may throw HashesBusyError. */
export function hashPassword(password: string): Promise<string> {
  return hashGate.run(() => hash(password));
}

/** True when the password matches; through the worker's gate, so it may throw HashesBusyError. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return hashGate.run(async () => {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  });
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the time of a real verification and says no: for a sign-in whose
 * email belongs to nobody, so the answer takes as long as a wrong password's
 * and its timing does not tell which accounts exist. The hash is made once
 * per process, with the same parameters as every real one.
 */
export async function verifyNobody(password: string): Promise<false> {
  // Made outside the gate: a refusal here would leave a rejected promise for every later call.
  dummyHash ??= hash(randomBytes(16).toString('hex'));
  await verifyPassword(await dummyHash, password);
  return false;
}
