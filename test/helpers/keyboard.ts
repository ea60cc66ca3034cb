// A hand-in driven by the keyboard alone, as someone who cannot use a mouse
// does it: Tab to move, Enter to follow a link or press a button, Space on
// the file input to open the file chooser, typing into fields. No clicks and
// no .focus(): only where Tab leads counts.
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { DEMO } from '../../src/cli/seed-demo.js';

/** How many Tabs a page may take to reach something; more means the order is broken. */
const MAX_TABS = 60;

/**
 * Presses Tab until the focused element matches `selector` (and has `text`,
 * when given). Every element Tab stops at on the way must show that it has the
 * focus (WCAG 2.4.7): an outline drawn by :focus-visible.
 */
export async function tabTo(page: Page, selector: string, text?: string): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < MAX_TABS; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(([sel, txt]) => {
      const el = document.activeElement;
      if (!el || el === document.body) return { hit: false, what: 'body', ring: true };
      const hit = el.matches(sel) && (!txt || (el.textContent ?? '').includes(txt));
      const style = getComputedStyle(el);
      const ring = el.matches(':focus-visible') && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
      return { hit, ring, what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent ?? '').trim().slice(0, 30)}"` };
    }, [selector, text ?? ''] as const);
    assert.ok(focused.ring, `no visible focus on ${focused.what} on ${page.url()}`);
    if (focused.hit) return;
    seen.push(focused.what);
  }
  assert.fail(`Tab never reached ${selector}${text ? ` "${text}"` : ''} on ${page.url()}; it went through: ${seen.join(' → ')}`);
}

/** Signs in, opens the demo course and its open stage, attaches a file, types `body` and submits. */
export async function keyboardHandIn(page: Page, baseUrl: string, account: { email: string; password: string }, body: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  // The sign-in page puts the focus in its email field (autofocus) by itself.
  if (!(await page.evaluate(() => document.activeElement?.matches('input[name=email]')))) await tabTo(page, 'input[name=email]');
  await page.keyboard.type(account.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(account.password);
  await Promise.all([page.waitForURL(/\/courses$/), page.keyboard.press('Enter')]);
  // The first Tab on a page lands on the skip link, the skip link.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), '#content', 'the skip link comes first');

  await tabTo(page, 'a', DEMO.courseCode);
  await Promise.all([page.waitForURL(/\/courses\/\d+$/), page.keyboard.press('Enter')]);
  await tabTo(page, 'a.stage__name', 'Prototype');
  await Promise.all([page.waitForURL(/\/stages\/\d+$/), page.keyboard.press('Enter')]);

  await tabTo(page, 'textarea#body');
  await page.keyboard.type(body);
  // Listening turns on Chromium's file-chooser interception, a round trip of
  // its own: started before the Tabs, it is on by the time Space opens the chooser.
  const chooserOpened = page.waitForEvent('filechooser');
  await tabTo(page, 'input#files');
  await page.keyboard.press('Space');
  const chooser = await chooserOpened;
  await chooser.setFiles({ name: 'keyboard.txt', mimeType: 'text/plain', buffer: Buffer.from('typed, not clicked\n') });
  await tabTo(page, 'button[type=submit]', 'Submit work');
  // The answer redirects back to the same address: wait for the new page's load, not a URL.
  await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
  await page.locator('li.submission', { hasText: body }).waitFor();
}
