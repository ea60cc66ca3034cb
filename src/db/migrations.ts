// Migrations live in the top-level migrations/ folder as TypeScript and are
// compiled to dist/migrations. knex records a migration's file name including
// its extension, so a database migrated from .ts (tests, knex CLI under tsx)
// would look "corrupt" to the built app running .js. This source names every
// migration without its extension, so both modes share one history.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { projectRoot, runningFromSource } from '../paths.js';


function defaultDirectory(): string {
  return runningFromSource ? path.join(projectRoot, 'migrations') : path.join(projectRoot, 'dist', 'migrations');
}

interface MigrationFile {
  name: string;
  file: string;
}

export class ExtensionlessMigrationSource implements Knex.MigrationSource<MigrationFile> {
  constructor(private readonly directory = defaultDirectory()) {}

  async getMigrations(): Promise<MigrationFile[]> {
    const extension = runningFromSource ? '.ts' : '.js';
    return (await fs.promises.readdir(this.directory))
      .filter((file) => file.endsWith(extension) && !file.endsWith('.d.ts') && /^\d/.test(file))
      .sort()
      .map((file) => ({ name: file.slice(0, -extension.length), file: path.join(this.directory, file) }));
  }

  getMigrationName(migration: MigrationFile): string {
    return migration.name;
  }

  async getMigration(migration: MigrationFile): Promise<Knex.Migration> {
    return import(pathToFileURL(migration.file).href) as Promise<Knex.Migration>;
  }
}

export const migrationConfig = (): Knex.MigratorConfig => ({
  migrationSource: new ExtensionlessMigrationSource(),
  tableName: 'knex_migrations',
});

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, ran] = (await db.migrate.latest(migrationConfig())) as [number, string[]];
  return ran;
}

export async function migrateRollbackAll(db: Knex): Promise<string[]> {
  const [, ran] = (await db.migrate.rollback(migrationConfig(), true)) as [number, string[]];
  return ran;
}

/** True when every known migration has run; /readyz answers 503 otherwise. */
export async function migrationsCurrent(db: Knex): Promise<boolean> {
  const [, pending] = (await db.migrate.list(migrationConfig())) as [unknown[], unknown[]];
  return pending.length === 0;
}
