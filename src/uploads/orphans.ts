// Files under UPLOAD_DIR that no row names: blobs of a hand-in whose row
// never committed (a crash, or a refusal after the files were placed),
// blobs whose submissions were deleted with their stage or course, and
// temporary files of uploads that died. Only what is older than the grace
// period goes: an upload in progress writes fresh temporary files, and a
// blob placed again for a new hand-in gets a fresh mtime (BlobStore.placeSync).
//
// A blob is first moved aside and only then, if still no row names it and it
// is still old, deleted; otherwise it is moved back. A hand-in placing the
// same bytes meanwhile writes a new file in its place, which the move back
// leaves alone (same bytes either way).
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { TEMP_DIR, TEMP_SUFFIX } from './blob-store.js';

const SHARD = /^[0-9a-f]{2}$/;
const BATCH = 500;

export interface OrphanSweep {
  scanned: number;
  removed: number;
  temporaries: number;
}

async function isOld(file: string, cutoff: number): Promise<boolean> {
  const stat = await fs.promises.stat(file).catch(() => undefined);
  return stat !== undefined && stat.mtimeMs < cutoff;
}

async function referenced(db: Knex, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  return new Set((await db('submission_files').whereIn('storage_key', keys).distinct('storage_key').pluck('storage_key')).map(String));
}

async function removeIfOrphan(db: Knex, dir: string, key: string, cutoff: number): Promise<boolean> {
  const file = path.join(dir, key);
  const aside = path.join(dir, TEMP_DIR, `${path.basename(key)}.sweep`);
  await fs.promises.rename(file, aside).catch(() => undefined);
  if (!fs.existsSync(aside)) return false;
  if ((await referenced(db, [key])).size > 0 || !(await isOld(aside, cutoff))) {
    // Named again meanwhile: back it goes, unless a new copy stands there already.
    await fs.promises.link(aside, file).catch(() => undefined);
    await fs.promises.rm(aside, { force: true });
    return false;
  }
  await fs.promises.rm(aside, { force: true });
  return true;
}

async function sweepTemporaries(dir: string, cutoff: number): Promise<number> {
  const folder = path.join(dir, TEMP_DIR);
  const names = await fs.promises.readdir(folder).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    if (!name.endsWith(TEMP_SUFFIX) && !name.endsWith('.sweep')) continue;
    const file = path.join(folder, name);
    if (await isOld(file, cutoff)) {
      await fs.promises.rm(file, { force: true });
      removed += 1;
    }
  }
  return removed;
}

/** Removes what no row names and is older than `cutoff` (epoch ms). */
export async function sweepOrphanUploads(db: Knex, dir: string, cutoff: number): Promise<OrphanSweep> {
  const result: OrphanSweep = { scanned: 0, removed: 0, temporaries: await sweepTemporaries(dir, cutoff) };
  const shards = (await fs.promises.readdir(dir).catch(() => [] as string[])).filter((name) => SHARD.test(name));
  for (const shard of shards) {
    const keys = (await fs.promises.readdir(path.join(dir, shard))).map((name) => `${shard}/${name}`);
    for (let i = 0; i < keys.length; i += BATCH) {
      const batch = keys.slice(i, i + BATCH);
      result.scanned += batch.length;
      const named = await referenced(db, batch);
      for (const key of batch) {
        if (named.has(key) || !(await isOld(path.join(dir, key), cutoff))) continue;
        if (await removeIfOrphan(db, dir, key, cutoff)) result.removed += 1;
      }
    }
  }
  return result;
}
