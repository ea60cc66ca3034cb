// Low findings of issue 24 about settings and secrets: COOKIE_SECURE is on by
// default in production (an explicit false is obeyed and said at start), a
// production start refuses an open /metrics unless METRICS_PUBLIC=true, a bad
// DATABASE_URL or webhook URL is named without its password or query, and
// the session secret is never written through a planted link nor kept in a
// DATA_DIR that others can write to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, ConfigError } from '../src/config.js';
import { productionRefusal } from '../src/production-checks.js';
import { redactUrl } from '../src/redact.js';
import { loadSessionSecret, sessionSecretFile } from '../src/secrets.js';

test('COOKIE_SECURE defaults to true with NODE_ENV=production; an explicit false wins, with a notice', () => {
  assert.equal(loadConfig({}).cookieSecure, false);
  assert.equal(loadConfig({ NODE_ENV: 'production' }).cookieSecure, true);
  const off = loadConfig({ NODE_ENV: 'production', COOKIE_SECURE: 'false' });
  assert.equal(off.cookieSecure, false);
  assert.ok(off.notices.some((n) => /COOKIE_SECURE=false with NODE_ENV=production/.test(n)), off.notices.join('\n'));
  assert.deepEqual(loadConfig({ COOKIE_SECURE: 'false' }).notices, [], 'no notice outside production');
});

test('production refuses to start with an open /metrics unless METRICS_PUBLIC=true', () => {
  assert.match(productionRefusal(loadConfig({ NODE_ENV: 'production' }))!, /METRICS_TOKEN/);
  assert.equal(productionRefusal(loadConfig({ NODE_ENV: 'production', METRICS_TOKEN: 'a-long-metrics-token' })), null);
  assert.equal(productionRefusal(loadConfig({ NODE_ENV: 'production', METRICS_PUBLIC: 'true' })), null);
  assert.equal(productionRefusal(loadConfig({})), null, 'outside production /metrics may stay open');
});

test('the built server exits at start with NODE_ENV=production and no METRICS_TOKEN, saying why', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-refuse-'));
  try {
    const env = { ...process.env, NODE_ENV: 'production', DATA_DIR: dataDir, DATABASE_URL: `sqlite:${path.join(dataDir, 'db.sqlite')}`, METRICS_TOKEN: '', METRICS_PUBLIC: '' };
    const run = spawnSync(process.execPath, ['dist/main.js'], { env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout + run.stderr, /NODE_ENV=production needs METRICS_TOKEN/);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a bad DATABASE_URL or webhook URL is named without its user info or query string', () => {
  const message = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail('expected a ConfigError');
  };
  const db = message({ DATABASE_URL: 'postgres://app:hunter2@db.internal:5432/cw?sslkey=secret-key' });
  assert.doesNotMatch(db, /hunter2|secret-key|app:/);
  assert.match(db, /postgres:\/\/\*\*\*@db\.internal:5432\/cw\?\*\*\*/);
  const hook = message({ ALERT_WEBHOOK_URL: 'ftp://bot:s3cret@hooks.example/x?token=t0ken' });
  assert.doesNotMatch(hook, /s3cret|t0ken/);
});

test('a password typed without percent-encoding (with / ? # @ in it) is never repeated, for DATABASE_URL or SMTP_URL', () => {
  const pieces = (password: string) => password.split(/[/?#@]/).filter((p) => p.length >= 3);
  const assertHidden = (text: string, password: string, what: string) => {
    for (const piece of pieces(password)) assert.ok(!text.includes(piece), `${what}: "${text}" repeats ${piece}`);
    assert.ok(!text.includes('app:') && !text.includes('mailer:'), `${what}: "${text}" repeats the user`);
  };
  // These do not parse as URLs, so they are refused at start (the driver would fail later, raw value and all).
  for (const password of ['hun/ter2', 'hun?ter2', 'hun#ter2']) {
    for (const [name, value] of [
      ['DATABASE_URL', `mysql://app:${password}@db.internal:3306/cw`],
      ['SMTP_URL', `smtp://mailer:${password}@mail.internal:587`],
    ] as const) {
      let caught: unknown;
      try {
        loadConfig({ [name]: value });
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof ConfigError, `${name} with ${password}: refused at start`);
      assert.match(caught.message, new RegExp(name));
      assertHidden(caught.message, password, name);
    }
  }
  // Whatever else repeats such a value repeats it through redactUrl, which cuts up to the last @.
  for (const password of ['hun@ter2/qq9', 'zz9@ab7#cd8/ef6?gh5']) {
    const shown = redactUrl(`mysql://app:${password}@db.internal:3306/cw?ssl=on`);
    assertHidden(shown, password, 'redactUrl');
    assert.equal(shown, 'mysql://***@db.internal:3306/cw?***');
  }
});

test('the session secret refuses a DATA_DIR writable by others, and never follows a link planted at its temporary name', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-secret-'));
  try {
    const open = path.join(base, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    const config = loadConfig({ DATA_DIR: open });
    assert.throws(() => loadSessionSecret(config), /writable by every user/);
    assert.equal(fs.existsSync(sessionSecretFile(config)), false);

    const own = path.join(base, 'own');
    fs.mkdirSync(own, { mode: 0o700 });
    const victim = path.join(base, 'victim.txt');
    fs.writeFileSync(victim, 'untouched');
    const ownConfig = loadConfig({ DATA_DIR: own });
    fs.symlinkSync(victim, `${sessionSecretFile(ownConfig)}.${process.pid}.tmp`);
    assert.throws(() => loadSessionSecret(ownConfig), /EEXIST/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'untouched');
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
