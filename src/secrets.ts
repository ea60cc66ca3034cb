// SESSION_SECRET when set; otherwise one generated on first start and kept
// under the data folder, so restarts and every worker share it.
import fs from 'node:fs';
import path from 'node:path';
import { hkdfSync, randomBytes } from 'node:crypto';
import type { Config } from './config.js';

export function sessionSecretFile(config: Config): string {
  return path.resolve(config.dataDir, 'session-secret');
}

export function loadSessionSecret(config: Config): string {
  if (config.sessionSecret) return config.sessionSecret;
  const file = sessionSecretFile(config);
  // Owner-only: the folder holds this secret and usually the SQLite file.
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  refuseWritableByOthers(path.dirname(file));
  // Workers boot together and race to create it. Creating the file and then
  // writing it would let a loser read it empty in between (and serve every
  // request with a 500), so the secret is written whole beside it and linked
  // into place: link() fails if the file exists, and never shows it half done.
  // `wx`: a file (or a link) planted at the temporary name fails the start instead of being followed.
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(temporary, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (!secret) throw new Error(`${file} is empty: delete it (a new secret is made at start) or set SESSION_SECRET`);
  return secret;
}

/** Anyone who can write to DATA_DIR can swap the secret (or the SQLite file) for their own: refuse it. */
export function refuseWritableByOthers(dir: string): void {
  const mode = fs.statSync(dir).mode;
  if (mode & 0o002) throw new Error(`${dir} is writable by every user (mode ${(mode & 0o777).toString(8)}): make it the app's own (chmod o-w, or 700)`);
}

/**
 * A key of its own for one purpose (`csrf`, `anonymous-id`), derived from the
 * session secret with HKDF-SHA256, so no two mechanisms share a key and none
 * of them holds the secret that signs session cookies.
 */
export function deriveKey(secret: string, purpose: string): string {
  return Buffer.from(hkdfSync('sha256', secret, 'coursework', `coursework ${purpose}`, 32)).toString('hex');
}
