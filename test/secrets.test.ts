// The generated session secret is shared by workers that boot at the same
// moment: every process racing to create it must come away with the same,
// whole secret. A worker that read it half-written once answered every
// request with a 500.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers/processes.js';

const exec = promisify(execFile);
const PROCESSES = 8;
const ROUNDS = 6;
const dirs: string[] = [];

after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the built loadSessionSecret in a new process that waits until `at` before calling it. */
async function secretFromProcess(dataDir: string, at: number): Promise<string> {
  const script = `
    const { loadSessionSecret } = await import(${JSON.stringify(path.resolve('dist/secrets.js'))});
    while (Date.now() < ${at}) {}
    process.stdout.write(loadSessionSecret({ dataDir: ${JSON.stringify(dataDir)}, sessionSecret: undefined }));`;
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script]);
  return stdout;
}

test(`${PROCESSES} processes creating the secret at once all get the same whole secret (${ROUNDS} rounds)`, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    const dataDir = tempDir('coursework-secret-');
    dirs.push(dataDir);
    const at = Date.now() + 1000;
    const secrets = await Promise.all(Array.from({ length: PROCESSES }, () => secretFromProcess(dataDir, at)));
    assert.match(secrets[0], /^[0-9a-f]{64}$/, `round ${round}: a whole secret`);
    assert.deepEqual(new Set(secrets), new Set([secrets[0]]), `round ${round}: one secret for all`);
    assert.deepEqual(fs.readdirSync(dataDir), ['session-secret'], `round ${round}: nothing left beside it`);
  }
});

test('an empty secret file is refused with a message naming it', async () => {
  const dataDir = tempDir('coursework-secret-');
  dirs.push(dataDir);
  fs.writeFileSync(path.join(dataDir, 'session-secret'), '');
  await assert.rejects(secretFromProcess(dataDir, 0), /session-secret is empty/);
});
