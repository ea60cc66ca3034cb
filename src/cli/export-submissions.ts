// `submissions:export <stageId> --out FILE.zip`: what a teacher takes away
// after a deadline. One folder per student (or team, in a team stage) with
// the latest version's files and a submission.json (text, link, version,
// the files' hashes). The zip is streamed (yazl) to a temporary name beside
// FILE and renamed into place once whole, so FILE is never half written.
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import yazl from 'yazl';
import { latestForExport } from '../domain/submission-latest.js';
import { submissionJson, type Submission } from '../domain/submissions.js';
import { BlobStore } from '../uploads/blob-store.js';

export interface ExportResult {
  path: string;
  submissions: number;
  files: number;
  /** The size of the zip written. */
  bytes: number;
}

/** A zip entry's name part: no separators, no control characters, not empty, not too long. */
function safePart(text: string): string {
  // eslint-disable-next-line no-control-regex -- replacing them is the point
  const cleaned = text.replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_').replace(/^\.+/, '_').trim();
  return (cleaned || '_').slice(0, 120);
}

async function folderNames(db: Knex, submissions: Submission[]): Promise<Map<number, string>> {
  const userIds = [...new Set(submissions.map((s) => s.studentId))];
  const teamIds = [...new Set(submissions.flatMap((s) => (s.teamId === null ? [] : [s.teamId])))];
  const emails = new Map((await db('users').whereIn('id', userIds).select<{ id: number; email: string }[]>('id', 'email')).map((u) => [Number(u.id), String(u.email)]));
  const teams = new Map((teamIds.length ? await db('teams').whereIn('id', teamIds).select<{ id: number; name: string }[]>('id', 'name') : []).map((t) => [Number(t.id), String(t.name)]));
  return new Map(
    submissions.map((s) => [s.id, safePart(s.teamId === null ? `student-${s.studentId} ${emails.get(s.studentId) ?? ''}` : `team-${s.teamId} ${teams.get(s.teamId) ?? ''}`)]),
  );
}

/** Names unique within a folder: a second "report.pdf" becomes "2-report.pdf". */
function uniqueNames(names: string[]): string[] {
  const seen = new Set<string>(['submission.json']);
  return names.map((name) => {
    let candidate = safePart(name);
    for (let n = 2; seen.has(candidate.toLowerCase()); n++) candidate = `${n}-${safePart(name)}`;
    seen.add(candidate.toLowerCase());
    return candidate;
  });
}

export async function exportSubmissions(db: Knex, uploadDir: string, stageId: number, out: string): Promise<ExportResult> {
  const store = new BlobStore(uploadDir);
  const submissions = await latestForExport(db, stageId);
  const folders = await folderNames(db, submissions);
  const zip = new yazl.ZipFile();
  let files = 0;
  for (const s of submissions) {
    const folder = folders.get(s.id)!;
    zip.addBuffer(Buffer.from(`${JSON.stringify(submissionJson(s), null, 2)}\n`), `${folder}/submission.json`);
    const names = uniqueNames(s.files.map((f) => f.name));
    s.files.forEach((file, i) => {
      const where = store.pathOf(s.storageKeys.get(file.id) ?? '');
      if (!where) throw new Error(`file ${file.id} has no stored place`);
      zip.addFile(where, `${folder}/${names[i]}`);
      files += 1;
    });
  }
  const target = path.resolve(out);
  const temporary = `${target}.${process.pid}.part`;
  zip.end();
  try {
    await pipeline(zip.outputStream, fs.createWriteStream(temporary, { flags: 'wx' }));
    await fs.promises.rename(temporary, target);
  } finally {
    await fs.promises.rm(temporary, { force: true });
  }
  return { path: target, submissions: submissions.length, files, bytes: (await fs.promises.stat(target)).size };
}
