// The pages the accessibility tests visit, as a table: each row is a page as one
// role sees it, in a given state (a validation error shown, submissions
// listed). The axe-core check and the 320 px reflow check both walk it, in
// each language of LANGUAGES, so adding a language or a page is one line.
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Knex } from 'knex';
import { DEMO, type DemoAccounts } from '../../src/cli/seed-demo.js';
import { findUserByEmail } from '../../src/domain/users.js';
import { createTeam } from '../../src/domain/teams.js';
import { createSubmission, getStageToSubmitTo } from '../../src/domain/submissions.js';

/** The languages every page is checked in (sent as the browser's locale and Accept-Language). */
export const LANGUAGES = ['en', 'zh-CN'];

export type Role = 'anonymous' | 'student' | 'teacher' | 'admin';

/** Row ids the paths need: the demo course and its three stages. */
export interface Ids {
  course: number;
  /** The demo stages by status: Proposal (completed), Prototype (active), Final report (pending). */
  completed: number;
  active: number;
  pending: number;
}

export interface PageCase {
  name: string;
  role: Role;
  path: (ids: Ids) => string;
  /** Brings the page into the state to check (e.g. submits a form wrongly); the page is loaded at `path` first. */
  act?: (page: Page) => Promise<void>;
}

/** Submits the page's form `form` with the field `field` set to `value`, and waits for the answer's page. */
function submitWith(form: string, field: string, value: string) {
  return async (page: Page) => {
    await page.fill(`${form} ${field}`, value);
    await Promise.all([page.waitForEvent('load'), page.click(`${form} button[type=submit]`)]);
    assert.ok(await page.locator('.field-error').count() > 0, `a validation error is shown on ${page.url()}`);
    await page.waitForFunction(() => document.activeElement !== document.body, undefined, { timeout: 5_000 });
    const tie = await page.evaluate(() => {
      const error = document.querySelector('.field-error')!;
      const focused = document.activeElement!;
      // The control itself, or its fieldset for a group of radio buttons or checkboxes.
      const described = focused.closest('[aria-describedby]')?.getAttribute('aria-describedby')?.split(' ') ?? [];
      return { inField: focused.closest('.field') === error.closest('.field'), tied: described.includes(error.id), invalid: focused.closest('[aria-invalid="true"], fieldset') !== null };
    });
    assert.deepEqual(tie, { inField: true, tied: true, invalid: true }, `the focus is on the first bad field, tied to its error, on ${page.url()}`);
  };
}

export const PAGES: PageCase[] = [
  { name: 'sign in', role: 'anonymous', path: () => '/login' },
  { name: 'courses', role: 'student', path: () => '/courses' },
  { name: 'courses with the new-course form', role: 'teacher', path: () => '/courses' },
  { name: 'courses, new course refused', role: 'admin', path: () => '/courses', act: submitWith('form[action="/courses"]', '#title', '') },
  { name: 'course timeline', role: 'student', path: (ids) => `/courses/${ids.course}` },
  { name: 'course with members and teams', role: 'teacher', path: (ids) => `/courses/${ids.course}` },
  { name: 'course, member refused', role: 'teacher', path: (ids) => `/courses/${ids.course}`, act: submitWith('form[action$="/members"]', '#email', 'nobody@nowhere.invalid') },
  { name: 'course', role: 'admin', path: (ids) => `/courses/${ids.course}` },
  { name: 'active stage with the hand-in form and a submission', role: 'student', path: (ids) => `/stages/${ids.active}` },
  { name: 'active stage, hand-in refused', role: 'student', path: (ids) => `/stages/${ids.active}`, act: submitWith('form[action$="/submissions"]', '#link', 'not a link') },
  { name: 'pending stage', role: 'student', path: (ids) => `/stages/${ids.pending}` },
  { name: 'completed stage', role: 'student', path: (ids) => `/stages/${ids.completed}` },
  { name: 'active stage with submissions', role: 'teacher', path: (ids) => `/stages/${ids.active}` },
  { name: 'completed stage with its history', role: 'teacher', path: (ids) => `/stages/${ids.completed}` },
  { name: 'pending stage', role: 'admin', path: (ids) => `/stages/${ids.pending}` },
  { name: 'new stage form', role: 'teacher', path: (ids) => `/courses/${ids.course}/stages/new` },
  { name: 'new stage form, refused', role: 'teacher', path: (ids) => `/courses/${ids.course}/stages/new`, act: submitWith('form.form', '#name', '') },
  { name: 'edit stage form', role: 'teacher', path: (ids) => `/stages/${ids.active}/edit` },
  { name: 'delete stage', role: 'teacher', path: (ids) => `/stages/${ids.pending}/delete` },
  { name: 'delete course', role: 'admin', path: (ids) => `/courses/${ids.course}/delete` },
  { name: 'overrides form', role: 'teacher', path: (ids) => `/stages/${ids.active}/overrides/new` },
  { name: 'overrides form, refused', role: 'teacher', path: (ids) => `/stages/${ids.active}/overrides/new`, act: submitWith('form.form', '#reason', 'no one chosen') },
  { name: 'notifications', role: 'student', path: () => '/notifications' },
  { name: 'profile', role: 'student', path: () => '/profile' },
  { name: 'profile', role: 'teacher', path: () => '/profile' },
  { name: 'scheduler console', role: 'admin', path: () => '/scheduler' },
  { name: 'error 404', role: 'student', path: () => '/courses/999999' },
  { name: 'error 403', role: 'student', path: () => '/scheduler' },
];

/** Rows the pages show: a team with the demo student, and one hand-in on the open stage. */
export async function prepareA11yData(db: Knex): Promise<void> {
  const teacher = (await findUserByEmail(db, DEMO.teacher.email))!;
  const student = (await findUserByEmail(db, DEMO.student.email))!;
  const course = await db('courses').where({ code: DEMO.courseCode }).first('id');
  await createTeam(db, teacher, Number(course.id), { name: 'Team Ada', memberIds: [student.id] });
  const active = await db('stages').where({ name: 'Prototype' }).first('id');
  await createSubmission(db, student, await getStageToSubmitTo(db, student, Number(active.id)), { body: 'A first draft of the prototype.' });
}

export async function demoIds(db: Knex): Promise<Ids> {
  const course = await db('courses').where({ code: DEMO.courseCode }).first('id');
  const stage = async (name: string) => Number((await db('stages').where({ name, course_id: course.id }).first('id')).id);
  return { course: Number(course.id), completed: await stage('Proposal'), active: await stage('Prototype'), pending: await stage('Final report') };
}

/** A browser context per role, signed in through the sign-in form, in `language`. */
export async function contextsFor(browser: Browser, baseUrl: string, demo: DemoAccounts, language: string): Promise<Record<Role, BrowserContext>> {
  const open = () => browser.newContext({ locale: language, extraHTTPHeaders: { 'Accept-Language': language } });
  const contexts = { anonymous: await open() } as Record<Role, BrowserContext>;
  for (const role of ['student', 'teacher', 'admin'] as const) {
    const context = await open();
    const page = await context.newPage();
    await page.goto(`${baseUrl}/login`);
    await page.fill('input[name=email]', DEMO[role].email);
    await page.fill('input[name=password]', demo[role].password);
    await Promise.all([page.waitForURL(/\/courses$/), page.click('form[action="/login"] button[type=submit]')]);
    await page.close();
    contexts[role] = context;
  }
  return contexts;
}
