// Team hand-ins with files in a real browser against the built cluster: a
// team member uploads a PDF through the stage page's form, a teammate sees
// it on their page, and the teacher downloads it under its name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { testDialect, type TestDatabase } from './helpers/database.js';
import type { RunningCluster } from './helpers/cluster.js';
import { DEMO } from '../src/cli/seed-demo.js';
import { findUserByEmail, createUser } from '../src/domain/users.js';
import { addMember } from '../src/domain/courses.js';
import { createStage } from '../src/domain/stages.js';
import { createTeam } from '../src/domain/teams.js';
import { browserTestsSkipped, startBrowserRig, type BrowserRig } from './helpers/browser.js';
import { DAY, HOUR } from '../src/time.js';

const skip = browserTestsSkipped();
const MATE = { email: 'mate@example.com', password: 'mate-password-1' };
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');

let rig: BrowserRig;
let database: TestDatabase;
let cluster: RunningCluster;
let browser: Browser;
let stageId: number;

before(async () => {
  if (skip) return;
  rig = await startBrowserRig(async ({ db }) => {
    const teacher = (await findUserByEmail(db, DEMO.teacher.email))!;
    const student = (await findUserByEmail(db, DEMO.student.email))!;
    const mate = await createUser(db, { ...MATE, role: 'student', name: 'Mo Mate' });
    const course = await db('courses').where({ code: DEMO.courseCode }).first('id');
    await addMember(db, teacher, course.id, mate.id);
    await createTeam(db, teacher, course.id, { name: 'Pair one', memberIds: [student.id, mate.id] });
    const now = Date.now();
    stageId = (await createStage(db, teacher, course.id, { name: 'Team report', startDate: now - HOUR, endDate: now + DAY, mode: 'team', allowedExtensions: ['.pdf'] })).id;
  });
  ({ database, cluster, browser } = rig);
});

after(async () => {
  if (skip) return;
  await rig?.close();
});

async function signIn(email: string, password: string): Promise<Page> {
  const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await page.goto(`${cluster.baseUrl}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(/\/courses$/), page.click('button[type=submit]')]);
  return page;
}

test(`a team member uploads a PDF, a teammate sees it, the teacher downloads it (${testDialect})`, { skip }, async () => {
  const student = await signIn(DEMO.student.email, rig.demo.student.password);
  await student.goto(`${cluster.baseUrl}/stages/${stageId}`);
  assert.match(await student.locator('#files-limits').innerText(), /Up to 10 files, each at most 25 MiB; only \.pdf\./);
  await student.fill('#body', 'Our report, as a PDF.');
  await student.setInputFiles('#files', { name: 'Pair one – report.pdf', mimeType: 'application/pdf', buffer: PDF });
  await Promise.all([student.waitForURL(new RegExp(`/stages/${stageId}$`)), student.click('button:text("Submit work")')]);
  await student.locator('p.flash', { hasText: 'Your work was handed in' }).waitFor();
  const stored = await database.db('submission_files').select('name', 'size', 'content_type');
  assert.deepEqual(stored.map((f) => [f.name, Number(f.size), f.content_type]), [['Pair one – report.pdf', PDF.length, 'application/pdf']]);

  const mate = await signIn(MATE.email, MATE.password);
  await mate.goto(`${cluster.baseUrl}/stages/${stageId}`);
  assert.match(await mate.locator('li.submission').first().innerText(), /Our report, as a PDF\.[\s\S]*Pair one – report\.pdf/);

  const teacher = await signIn(DEMO.teacher.email, rig.demo.teacher.password);
  await teacher.goto(`${cluster.baseUrl}/stages/${stageId}`);
  assert.match(await teacher.locator('li.submission').first().innerText(), /Pair one \(by student@example\.com\) · version 1/);
  const [download] = await Promise.all([teacher.waitForEvent('download'), teacher.click('a:text("Pair one – report.pdf")')]);
  assert.equal(download.suggestedFilename(), 'Pair one – report.pdf');
  assert.deepEqual(fs.readFileSync(await download.path()), PDF);
});
