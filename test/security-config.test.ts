// The security settings are validated at start, naming the variable, and the
// files that hold secrets are created owner-only.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';
import { connect } from '../src/db/connect.js';
import { deriveKey, loadSessionSecret } from '../src/secrets.js';
import { tempDir } from './helpers/processes.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function refused(env: Record<string, string>, message: RegExp): void {
  assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && message.test(err.message), JSON.stringify(env));
}

test('defaults: TRUST_PROXY loopback, COOKIE_SECURE false, METRICS_TOKEN unset, SESSION_SECRET generated', () => {
  const c = loadConfig({});
  assert.equal(c.trustProxy, 'loopback');
  assert.equal(c.cookieSecure, false);
  assert.equal(c.metricsToken, undefined);
  assert.equal(c.sessionSecret, undefined);
});

test('SESSION_SECRET, when set, has at least 32 characters; the message names the variable, not the value', () => {
  refused({ SESSION_SECRET: 'short-secret' }, /^Expected SESSION_SECRET to be at least 32 characters, got 12$/);
  refused({ SESSION_SECRET: ` ${'x'.repeat(31)} ` }, /SESSION_SECRET/);
  assert.equal(loadConfig({ SESSION_SECRET: 'y'.repeat(32) }).sessionSecret, 'y'.repeat(32));
});

test('TRUST_PROXY takes false, loopback, a hop count, or addresses and CIDRs', () => {
  const cases: Array<[string, false | number | string]> = [
    ['false', false],
    ['loopback', 'loopback'],
    ['2', 2],
    ['10.0.0.0/8, 192.168.1.10', '10.0.0.0/8,192.168.1.10'],
    ['loopback,fd00::/8,uniquelocal', 'loopback,fd00::/8,uniquelocal'],
  ];
  for (const [raw, parsed] of cases) assert.equal(loadConfig({ TRUST_PROXY: raw }).trustProxy, parsed, raw);
  refused({ TRUST_PROXY: 'true' }, /TRUST_PROXY.*"true"/);
  refused({ TRUST_PROXY: 'proxy.internal' }, /^Expected TRUST_PROXY to be .*\(not understood: "proxy.internal"\)$/);
  refused({ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY.*"10.0.0.0\/33"/);
  refused({ TRUST_PROXY: 'loopback,,10.0.0.1' }, /TRUST_PROXY/);
});

test('COOKIE_SECURE and METRICS_TOKEN are read', () => {
  const c = loadConfig({ COOKIE_SECURE: 'true', METRICS_TOKEN: ' scrape-me ' });
  assert.equal(c.cookieSecure, true);
  assert.equal(c.metricsToken, 'scrape-me');
  refused({ COOKIE_SECURE: 'sometimes' }, /COOKIE_SECURE to be true or false/);
});

test('keys derived from the session secret differ from it and from each other, and are stable', () => {
  const secret = 's'.repeat(40);
  const csrf = deriveKey(secret, 'csrf');
  assert.match(csrf, /^[0-9a-f]{64}$/);
  assert.notEqual(csrf, secret);
  assert.notEqual(csrf, deriveKey(secret, 'anonymous-id'));
  assert.notEqual(csrf, deriveKey('t'.repeat(40), 'csrf'));
  assert.equal(csrf, deriveKey(secret, 'csrf'));
});

const modeOf = (file: string) => fs.statSync(file).mode & 0o777;

test('a new data folder and SQLite file are owner-only (0700 / 0600), the WAL file too', async () => {
  const root = tempDir('coursework-modes-');
  dirs.push(root);
  const dataDir = path.join(root, 'data');
  const file = path.join(dataDir, 'coursework.sqlite');
  const db = connect(`sqlite:${file}`);
  try {
    await db.raw('create table t (x integer)');
    await db.raw('insert into t values (1)');
  } finally {
    await db.destroy();
  }
  assert.equal(modeOf(dataDir).toString(8), '700');
  assert.equal(modeOf(file).toString(8), '600');

  const again = connect(`sqlite:${file}`);
  try {
    await again.raw('insert into t values (2)');
    const wal = `${file}-wal`;
    if (fs.existsSync(wal)) assert.equal(modeOf(wal).toString(8), '600');
    assert.equal((await again('t').count({ n: '*' }))[0].n, 2, 'an existing file opens as before');
  } finally {
    await again.destroy();
  }
});

test('the folder made for a generated session secret is owner-only, the secret file 0600', () => {
  const root = tempDir('coursework-modes-');
  dirs.push(root);
  const dataDir = path.join(root, 'data');
  loadSessionSecret({ dataDir, sessionSecret: undefined } as Parameters<typeof loadSessionSecret>[0]);
  assert.equal(modeOf(dataDir).toString(8), '700');
  assert.equal(modeOf(path.join(dataDir, 'session-secret')).toString(8), '600');
});
