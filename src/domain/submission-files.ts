// The files of a submission: their rows, their JSON, and who may fetch one.
// A file is visible to exactly those who may see its submission: the
// course's teacher and admins, its author, and in a team stage the members
// of its team. Anyone else gets the same 404 as for a file that never was.
import type { Knex } from 'knex';
import { NotFoundError } from '../errors.js';
import { numberFromDb } from '../db/rows.js';
import type { SubmissionFileRow } from '../db/tables.js';
import type { Prepared } from '../db/sqlite-immediate.js';
import { canManage } from './courses.js';
import { getVisibleStage } from './stages.js';
import type { Actor } from './users.js';

export interface SubmissionFile {
  id: number;
  name: string;
  size: number;
  sha256: string;
  contentType: string;
}

/** A file received and flushed, placed (storageKey) inside the submission's transaction. */
export interface NewFile {
  name: string;
  size: number;
  sha256: string;
  contentType: string;
  tempPath: string;
}

export interface PlacedFile extends Omit<NewFile, 'tempPath'> {
  storageKey: string;
}

function toFile(row: Pick<SubmissionFileRow, 'id' | 'name' | 'size' | 'sha256' | 'content_type'>): SubmissionFile {
  return { id: Number(row.id), name: String(row.name), size: numberFromDb(row.size), sha256: String(row.sha256), contentType: String(row.content_type) };
}

const fileRow = (submissionId: number, f: PlacedFile) => ({
  submission_id: submissionId,
  name: f.name,
  size: f.size,
  sha256: f.sha256,
  content_type: f.contentType,
  storage_key: f.storageKey,
});

/** Inserts the rows on SQLite inside sqliteImmediate; returns them as JSON-ready files. */
export function insertFilesSqlite(sql: Prepared, submissionId: number, files: PlacedFile[]): SubmissionFile[] {
  const insert = sql('INSERT INTO submission_files (submission_id, name, size, sha256, content_type, storage_key) VALUES (?, ?, ?, ?, ?, ?)');
  return files.map((f) => {
    const row = fileRow(submissionId, f);
    const { lastInsertRowid } = insert.run(row.submission_id, row.name, row.size, row.sha256, row.content_type, row.storage_key);
    return toFile({ id: Number(lastInsertRowid), ...row });
  });
}

export async function insertFiles(trx: Knex.Transaction, submissionId: number, files: PlacedFile[]): Promise<SubmissionFile[]> {
  const out: SubmissionFile[] = [];
  // One at a time: MySQL hands back the id of each insert, not of a batch's rows.
  for (const f of files) {
    const row = fileRow(submissionId, f);
    const [id] = await trx('submission_files').insert(row);
    out.push(toFile({ id, ...row }));
  }
  return out;
}

/** The files of each submission, in the order they were handed in, in one read. */
export async function filesOf(db: Knex, submissionIds: number[]): Promise<Map<number, SubmissionFile[]>> {
  const byId = new Map<number, SubmissionFile[]>(submissionIds.map((id) => [id, []]));
  if (submissionIds.length === 0) return byId;
  const rows = await db<SubmissionFileRow>('submission_files').whereIn('submission_id', submissionIds).orderBy('id');
  for (const row of rows) byId.get(Number(row.submission_id))?.push(toFile(row));
  return byId;
}

export interface Download extends SubmissionFile {
  storageKey: string;
}

/** The file if the actor may see its submission, else 404. */
export async function getFileForDownload(db: Knex, actor: Actor, fileId: number): Promise<Download> {
  const row = await db('submission_files as f')
    .join('submissions as s', 's.id', 'f.submission_id')
    .where('f.id', fileId)
    .first<(SubmissionFileRow & { stage_id: number; student_id: number; team_id: number | null }) | undefined>('f.*', 's.stage_id', 's.student_id', 's.team_id');
  if (!row) throw new NotFoundError('File');
  const { course } = await getVisibleStage(db, actor, Number(row.stage_id)).catch(() => {
    throw new NotFoundError('File');
  });
  const author = Number(row.student_id) === actor.id;
  const teammate = row.team_id !== null && (await db('team_members').where({ team_id: row.team_id, user_id: actor.id }).first('user_id')) !== undefined;
  if (!canManage(actor, course) && !author && !teammate) throw new NotFoundError('File');
  return { ...toFile(row), storageKey: String(row.storage_key) };
}
