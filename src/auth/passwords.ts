// argon2id through @node-rs/argon2: a memory-hard KDF with prebuilt binaries,
// and parameters stored inside each hash so they can be raised later.
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
