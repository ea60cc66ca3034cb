// The daily sweep of files no row names (uploads/orphans.ts). A day of grace
// is far longer than any upload takes, and than any hand-in that places a
// blob again takes to commit its row.
import { DAY } from '../time.js';
import { sweepOrphanUploads, type OrphanSweep } from '../uploads/orphans.js';
import type { JobContext } from './job.js';

export const ORPHAN_GRACE_MS = DAY;

export function cleanupOrphanUploads({ db, config }: JobContext): Promise<OrphanSweep> {
  return sweepOrphanUploads(db, config.uploads.dir, Date.now() - ORPHAN_GRACE_MS);
}
