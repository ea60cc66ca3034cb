// The pages in a real browser (Debian's chromium driven by playwright-core)
// against the built cluster: a student signs in, reads the course timeline
// and hands in work on the open stage; an admin runs a job from the scheduler
// console and watches the live part update without a reload, which only a
// browser running the page's script can show.
// Chromium is found at CHROMIUM_PATH or /usr/bin/chromium; without it these
// tests skip, saying how to run them, except with CI=true, where they fail
// (test/helpers/browser.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { testDialect, type TestDatabase } from './helpers/database.js';
import { userWithToken } from './helpers/http.js';
import { requestOnNewConnection, type RunningCluster } from './helpers/cluster.js';
import { DEMO } from '../src/cli/seed-demo.js';
import { readOwner } from '../src/leadership/lock-file.js';
import { browserTestsSkipped, startBrowserRig, type BrowserRig } from './helpers/browser.js';

const skip = browserTestsSkipped();

let rig: BrowserRig;
let database: TestDatabase;
let cluster: RunningCluster;
let browser: Browser;
let admin: { email: string; token: string };

before(async () => {
  if (skip) return;
  rig = await startBrowserRig(async (db) => {
    const { user, token } = await userWithToken(db.db, 'admin');
    admin = { email: user.email, token };
  });
  ({ database, cluster, browser } = rig);
});

after(async () => {
  if (skip) return;
  await rig?.close();
});

async function signIn(email: string, password: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${cluster.baseUrl}/`);
  assert.match(page.url(), /\/login$/, 'an anonymous visitor is sent to sign in');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(/\/courses$/), page.click('button[type=submit]')]);
  return page;
}

test(`a student reads the timeline and hands in work on the open stage (${testDialect})`, { skip }, async () => {
  const page = await signIn(DEMO.student.email, rig.demo.student.password);
  await Promise.all([page.waitForURL(/\/courses\/\d+$/), page.click(`text=${DEMO.courseCode}`)]);

  // Oldest first, each in its status's style, and "now" between the open and the coming stage.
  const items = await page.locator('ol.timeline > li').evaluateAll((lis) => lis.map((li) => li.className));
  assert.deepEqual(items, ['stage stage--completed', 'stage stage--active', 'timeline__now', 'stage stage--pending']);

  await Promise.all([page.waitForURL(/\/stages\/\d+$/), page.click('a.stage__name:text("Prototype")')]);
  await page.fill('#body', 'Our prototype, with a demo video.');
  await Promise.all([page.waitForLoadState('load'), page.click('button:text("Submit work")')]);
  await page.waitForSelector('li.submission');
  assert.match(await page.locator('li.submission').first().innerText(), /Our prototype, with a demo video\./);
  const stored = await database.db('submissions').where({ body: 'Our prototype, with a demo video.' });
  assert.equal(stored.length, 1);

  await page.goBack();
  await page.goBack();
  await Promise.all([page.waitForURL(/\/stages\/\d+$/), page.click('a.stage__name:text("Final report")')]);
  assert.equal(await page.locator('button:text("Submit work")').count(), 0, 'no submit form on a pending stage');
  assert.match(await page.locator('#submit').innerText(), /not open yet/);
});

test('the scheduler console names the leader, runs a job now, and updates itself without a reload', { skip }, async () => {
  const page = await signIn(admin.email, 'password-123');
  await page.goto(`${cluster.baseUrl}/scheduler`);
  const leaderPid = readOwner(cluster.lockFile)!.pid;
  assert.match(await page.locator('p.leader').innerText(), new RegExp(`pid ${leaderPid} `));

  await Promise.all([page.waitForURL(/\/scheduler$/), page.click('#job-stage-status-sweep button:text("Run now")')]);
  assert.match(await page.locator('body').innerText(), /stage-status-sweep started on the leader as execution \d+/);

  // A run started elsewhere (the API) shows up in the open page by itself.
  await page.evaluate(() => Object.assign(window, { sameDocument: true }));
  assert.equal(await page.locator('tr.execution', { hasText: 'cleanup-job-executions' }).count(), 0, 'no cleanup run shown yet');
  const run = await requestOnNewConnection(`${cluster.baseUrl}/api/scheduler/jobs/cleanup-job-executions/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.token}` },
    body: {},
  });
  assert.equal(run.status, 202, JSON.stringify(run.body));
  // Found by its id: the every-minute sweep may add newer rows above it meanwhile.
  const executionId = String(run.body.executionId);
  await page.waitForFunction(
    (id) => [...document.querySelectorAll('tr.execution')].some((row) => row.querySelector('td')?.textContent?.trim() === id && row.textContent?.includes('cleanup-job-executions')),
    executionId,
    { timeout: 15_000 },
  );
  assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'the page was not reloaded');
});

test('the console pauses the stage sweep, marks it paused, and resuming runs it once at once', { skip }, async () => {
  const page = await signIn(admin.email, 'password-123');
  await page.goto(`${cluster.baseUrl}/scheduler`);
  const row = page.locator('#job-stage-status-sweep');
  assert.equal(await row.locator('.badge.paused').count(), 0, 'not paused to begin with');

  await row.locator('button:text("Pause")').click();
  await page.locator('p.flash', { hasText: 'stage-status-sweep is paused' }).waitFor({ timeout: 10_000 });
  await row.locator('.badge.paused').waitFor({ timeout: 10_000 });
  assert.match(await row.getAttribute('class') ?? '', /job-row--paused/);
  assert.equal(Boolean((await database.db('scheduler_jobs').where({ id: 'stage-status-sweep' }).first()).paused), true, 'kept in the database');

  await row.locator('button:text("Resume")').click();
  const flash = page.locator('p.flash', { hasText: 'stage-status-sweep is resumed' });
  await flash.waitFor({ timeout: 10_000 });
  const executionId = /as execution (\d+)/.exec(await flash.innerText())?.[1];
  assert.ok(executionId, `the flash names the catch-up run: ${await flash.innerText()}`);
  assert.equal(await row.locator('.badge.paused').count(), 0, 'no longer paused');
  assert.equal(await row.locator('button:text("Pause")').count(), 1);
  // The catch-up run shows up among the executions, and finishes, without a reload.
  await page.waitForFunction(
    (id) => [...document.querySelectorAll('tr.execution--success')].some((tr) => tr.querySelector('td')?.textContent?.trim() === id && tr.textContent?.includes('stage-status-sweep')),
    executionId,
    { timeout: 15_000 },
  );
});
