// Credentials never reach a log line: the CSRF header and a password at any
// depth a logged object may hold one are redacted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('the CSRF token header and nested passwords are redacted', () => {
  const script = `
    const { createLogger } = await import('./src/log.ts');
    createLogger('info').info({
      req: { headers: { 'x-csrf-token': 'CSRF-SECRET', authorization: 'Bearer TOKEN-SECRET' } },
      body: { user: { password: 'NESTED-SECRET' }, password: 'TOP-SECRET' },
    }, 'sign-in attempt');`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const line = JSON.parse(run.stdout.trim()) as { msg: string };
  assert.equal(line.msg, 'sign-in attempt');
  for (const secret of ['CSRF-SECRET', 'TOKEN-SECRET', 'NESTED-SECRET', 'TOP-SECRET']) assert.ok(!run.stdout.includes(secret), `${secret} leaked: ${run.stdout}`);
});
