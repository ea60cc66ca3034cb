// SESSION_SECRET when set; otherwise one generated on first start and kept
// under the data folder, so restarts and every worker share it.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';

export function sessionSecretFile(config: Config): string {
  return path.resolve(config.dataDir, 'session-secret');
}

export function loadSessionSecret(config: Config): string {
  if (config.sessionSecret) return config.sessionSecret;
  const file = sessionSecretFile(config);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    // 'wx' fails if another process created it first; then we read theirs.
    fs.writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return fs.readFileSync(file, 'utf8').trim();
}
