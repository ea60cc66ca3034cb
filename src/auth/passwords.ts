// argon2id through @node-rs/argon2: a memory-hard KDF with prebuilt binaries,
// and parameters stored inside each hash so they can be raised later.
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the time of a real verification and says no: for a sign-in whose
 * email belongs to nobody, so the answer takes as long as a wrong password's
 * and its timing does not tell which accounts exist. The hash is made once
 * per process, with the same parameters as every real one.
 */
export async function verifyNobody(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await dummyHash, password);
  return false;
}
