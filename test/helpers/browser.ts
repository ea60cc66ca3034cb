// Where the browser tests find Chromium, and when they may skip: on a fresh
// machine without it they skip with one line saying how to run them; with
// CI=true a missing Chromium fails instead, so CI never skips them silently.
import fs from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** false to run the browser tests, or the reason they are skipped (node:test prints it). */
export function browserTestsSkipped(): false | string {
  if (process.env.SKIP_BROWSER_TESTS === '1') return 'SKIP_BROWSER_TESTS=1';
  if (fs.existsSync(CHROMIUM) || process.env.CI === 'true') return false;
  return `no Chromium at ${CHROMIUM}: run \`apt-get install chromium\` or set CHROMIUM_PATH to run the browser tests`;
}
