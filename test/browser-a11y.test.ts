// Accessibility in a real browser (Debian's Chromium through playwright-core)
// against the built cluster, on every page of test/helpers/a11y-pages.ts as
// each role sees it, in each language of LANGUAGES:
// - axe-core's WCAG 2.0/2.1 A and AA rules, and a few best-practice ones, find nothing;
// - at 320 CSS px wide the page does not scroll sideways (WCAG 1.4.10; a wide
//   data table may scroll inside its own box, which the rule allows);
// - a student hands in work with the keyboard alone, from the sign-in page.
// One cluster and one browser serve the whole file.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { browserTestsSkipped, startBrowserRig, type BrowserRig } from './helpers/browser.js';
import { contextsFor, demoIds, LANGUAGES, PAGES, prepareA11yData, type Ids, type PageCase, type Role } from './helpers/a11y-pages.js';
import { keyboardHandIn } from './helpers/keyboard.js';

const skip = browserTestsSkipped();
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
// Best-practice rules on top of WCAG's own, for what the pages promise a
// screen-reader user: headings in order, one h1, one main, content in
// landmarks, a skip link that leads somewhere.
const EXTRA_RULES = Object.fromEntries(['heading-order', 'page-has-heading-one', 'landmark-one-main', 'landmark-unique', 'region', 'skip-link'].map((id) => [id, { enabled: true }]));

let rig: BrowserRig;
let ids: Ids;
const contexts = new Map<string, Record<Role, BrowserContext>>();

before(async () => {
  if (skip) return;
  rig = await startBrowserRig((database) => prepareA11yData(database.db));
  ids = await demoIds(rig.database.db);
  for (const language of LANGUAGES) contexts.set(language, await contextsFor(rig.browser, rig.cluster.baseUrl, rig.demo, language));
});

after(async () => {
  if (skip) return;
  await rig?.close();
});

async function open(language: string, entry: PageCase, width?: number): Promise<Page> {
  const page = await contexts.get(language)![entry.role].newPage();
  if (width) await page.setViewportSize({ width, height: 800 });
  await page.goto(`${rig.cluster.baseUrl}${entry.path(ids)}`);
  await entry.act?.(page);
  return page;
}

/** One line per failing element: the rule, where, and what axe says to fix. */
function describe(violations: Awaited<ReturnType<AxeBuilder['analyze']>>['violations']): string {
  return violations.flatMap((v) => v.nodes.map((n) => `  [${v.id}] ${n.target.join(' ')}: ${v.help}\n      ${(n.failureSummary ?? '').replace(/\n/g, '\n      ')}`)).join('\n');
}

for (const language of LANGUAGES) {
  test(`axe-core finds no WCAG 2.1 A/AA violation on any page (${language})`, { skip }, async (t) => {
    for (const entry of PAGES) {
      await t.test(`${entry.name} as ${entry.role}`, async () => {
        const page = await open(language, entry);
        const results = await new AxeBuilder({ page }).options({ rules: EXTRA_RULES }).withTags(TAGS).analyze();
        await page.close();
        assert.equal(results.violations.length, 0, `${entry.path(ids)}:\n${describe(results.violations)}`);
      });
    }
  });

  test(`every page reflows at 320 CSS px without scrolling sideways (${language})`, { skip }, async (t) => {
    for (const entry of PAGES) {
      await t.test(`${entry.name} as ${entry.role}`, async () => {
        const page = await open(language, entry, 320);
        const { scrollWidth, widest } = await page.evaluate(() => {
          // Names the elements that stick out, so a failure says what to fix.
          const out = [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > 320 && !el.closest('.table-scroll'));
          return { scrollWidth: document.documentElement.scrollWidth, widest: out.slice(0, 5).map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${[...el.classList].join('.')}`) };
        });
        await page.close();
        assert.ok(scrollWidth <= 320, `${entry.path(ids)} is ${scrollWidth} px wide; sticking out: ${widest.join(', ')}`);
      });
    }
  });
}

test('a student hands in work with the keyboard alone: sign in, course, stage, a file, text, submit', { skip }, async () => {
  const context = await rig.browser.newContext();
  const page = await context.newPage();
  const body = 'Handed in by keyboard alone.';
  await keyboardHandIn(page, rig.cluster.baseUrl, rig.demo.student, body);
  const stored = await rig.database.db('submissions').where({ body });
  assert.equal(stored.length, 1, 'the submission is stored');
  const files = await rig.database.db('submission_files').where({ submission_id: stored[0].id }).select('name');
  assert.deepEqual(files.map((f) => f.name), ['keyboard.txt']);
  await context.close();
});
