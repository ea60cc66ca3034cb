// A fresh, migrated database for one test file: a new SQLite file by default,
// or, with TEST_DATABASE_URL=mysql://..., a new MySQL database on that server
// (created here, dropped in cleanup), so test files never see each other's rows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import { connect, knexConfig } from '../../src/db/connect.js';
import { migrateLatest } from '../../src/db/migrations.js';

export interface TestDatabase {
  url: string;
  db: Knex;
  dialect: 'sqlite' | 'mysql';
  /** Destroys the pool and removes the database. */
  cleanup(): Promise<void>;
}

export const testDialect: 'sqlite' | 'mysql' = process.env.TEST_DATABASE_URL?.startsWith('mysql://') ? 'mysql' : 'sqlite';

/** A new empty database's URL and a function that removes it. */
export async function createEmptyDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL;
  if (base?.startsWith('mysql://')) {
    const name = `cw_test_${randomBytes(4).toString('hex')}`;
    const admin = knexFactory(knexConfig(base));
    try {
      await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    } finally {
      await admin.destroy();
    }
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async drop() {
        const conn = knexFactory(knexConfig(base));
        try {
          await conn.raw(`DROP DATABASE IF EXISTS \`${name}\``);
        } finally {
          await conn.destroy();
        }
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coursework-test-'));
  return {
    url: `sqlite:${path.join(dir, 'test.sqlite')}`,
    async drop() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function createTestDatabase({ migrate = true } = {}): Promise<TestDatabase> {
  const { url, drop } = await createEmptyDatabase();
  const db = connect(url);
  if (migrate) await migrateLatest(db);
  return {
    url,
    db,
    dialect: testDialect,
    async cleanup() {
      await db.destroy();
      await drop();
    },
  };
}
