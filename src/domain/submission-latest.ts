// The latest version of each owner's work for a stage: what a stage page
// shows (one line per student, or per team in a team stage, with "n earlier
// versions") and what the export writes. Versions are 1, 2, ... without gaps
// per owner, so the latest is the one whose version is the owner's highest,
// found through the (stage_id, owner, version) unique index.
import type { Knex } from 'knex';
import type { SubmissionRow } from '../db/tables.js';
import { canManage } from './courses.js';
import { getVisibleStage } from './stages.js';
import { filesOf } from './submission-files.js';
import { toSubmission, visibleOwnership, type Submission, type SubmissionKey } from './submissions.js';
import type { Actor } from './users.js';
import { pageOf, type Page, type PageRequest } from './paging.js';

function latestQuery(db: Knex, stageId: number) {
  return db<SubmissionRow>('submissions as s')
    .where('s.stage_id', stageId)
    .whereRaw('s.version = (SELECT MAX(x.version) FROM submissions x WHERE x.stage_id = s.stage_id AND x.owner = s.owner)')
    .orderBy([{ column: 's.created_at', order: 'desc' }, { column: 's.id', order: 'desc' }])
    .select('s.*');
}

async function withFiles(db: Knex, rows: SubmissionRow[]): Promise<Submission[]> {
  const files = await filesOf(db, rows.map((r) => Number(r.id)));
  return rows.map((r) => toSubmission(r, files.get(Number(r.id))));
}

/** Latest versions the actor may see (managers: every owner's; a student: their own or their team's), newest first. */
export async function listLatestSubmissions(db: Knex, actor: Actor, stageId: number, { limit, after }: PageRequest<SubmissionKey>): Promise<Page<Submission, SubmissionKey>> {
  const { stage, course } = await getVisibleStage(db, actor, stageId);
  const query = latestQuery(db, stageId).limit(limit + 1);
  if (!canManage(actor, course)) {
    const own = await visibleOwnership(db, stage, course, actor);
    query.andWhere(Object.fromEntries(Object.entries(own).map(([column, value]) => [`s.${column}`, value])));
  }
  if (after) {
    query.andWhere((q) => {
      q.where('s.created_at', '<', after.createdAt).orWhere((same) => {
        same.where('s.created_at', after.createdAt).andWhere('s.id', '<', after.id);
      });
    });
  }
  const rows = (await query) as SubmissionRow[];
  return pageOf(await withFiles(db, rows.slice(0, limit + 1)), limit, (s) => ({ createdAt: s.createdAt, id: s.id }));
}

/** Every owner's latest version with its files and its storage keys, for the export (no actor: the operator's CLI). */
export async function latestForExport(db: Knex, stageId: number): Promise<(Submission & { storageKeys: Map<number, string> })[]> {
  const rows = (await latestQuery(db, stageId)) as SubmissionRow[];
  const submissions = await withFiles(db, rows);
  const ids = submissions.flatMap((s) => s.files.map((f) => f.id));
  const keys = new Map<number, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = await db('submission_files').whereIn('id', ids.slice(i, i + 500)).select<{ id: number; storage_key: string }[]>('id', 'storage_key');
    for (const row of chunk) keys.set(Number(row.id), String(row.storage_key));
  }
  return submissions.map((s) => ({ ...s, storageKeys: keys }));
}
