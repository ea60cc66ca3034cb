// Where the browser tests find Chromium, and when they may skip: on a fresh
// machine without it they skip with one line saying how to run them; with
// CI=true a missing Chromium fails instead, so CI never skips them silently.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from './database.js';
import { startCluster, startedScheduler, type RunningCluster } from './cluster.js';
import os from 'node:os';
import path from 'node:path';
import { readDemoAccounts, seedDemo, type DemoAccounts } from '../../src/cli/seed-demo.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** false to run the browser tests, or the reason they are skipped (node:test prints it). */
export function browserTestsSkipped(): false | string {
  if (process.env.SKIP_BROWSER_TESTS === '1') return 'SKIP_BROWSER_TESTS=1';
  if (fs.existsSync(CHROMIUM) || process.env.CI === 'true') return false;
  return `no Chromium at ${CHROMIUM}: run \`apt-get install chromium\` or set CHROMIUM_PATH to run the browser tests`;
}

export interface BrowserRig {
  database: TestDatabase;
  cluster: RunningCluster;
  browser: Browser;
  /** The demo accounts and the passwords their seed made (the cluster's <DATA_DIR>/demo-accounts.txt). */
  demo: DemoAccounts;
  /** Stops the browser, the cluster and removes the database. */
  close(): Promise<void>;
}

/**
 * What every browser test starts from: a fresh database with the demo course,
 * the built cluster (2 workers) with a leader, and Chromium. `prepare` adds
 * rows before the cluster starts.
 */
export async function startBrowserRig(prepare: (database: TestDatabase) => Promise<void> = () => Promise.resolve()): Promise<BrowserRig> {
  assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} and CI=true: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-browser-'));
  await seedDemo(database.db, dataDir);
  await prepare(database);
  const cluster = await startCluster({ databaseUrl: database.url, workers: 2, dataDir });
  await cluster.waitForLog(startedScheduler, 20_000, 'scheduler started');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  return {
    database,
    cluster,
    browser,
    demo: readDemoAccounts(dataDir),
    async close() {
      await browser.close();
      if (cluster.child.exitCode === null) await cluster.stop();
      await database.cleanup();
    },
  };
}
