// Whose work a submission is: the student's in an individual stage, their
// team's in a team stage. Versions count per owner ("user:<id>" or
// "team:<id>", the submissions.owner column).
import type { Knex } from 'knex';
import { ConflictError } from '../errors.js';
import type { BlobStore } from '../uploads/blob-store.js';
import type { Course } from './courses.js';
import type { Stage } from './stages.js';
import type { NewFile, PlacedFile } from './submission-files.js';
import { teamOfStudent } from './teams.js';
import type { Actor } from './users.js';

export function ownerOf(actor: Actor, teamId: number | null): string {
  return teamId === null ? `user:${actor.id}` : `team:${teamId}`;
}

function noTeam(stage: Stage): ConflictError {
  return new ConflictError(`Stage "${stage.name}" is team work and you are in no team of this course: ask your teacher to put you in one`, { reason: 'no_team' });
}

/** The actor's team for a team stage (409 when in none, unless not `required`); null for an individual stage. */
export async function teamForSubmission(db: Knex, stage: Stage, course: Course, actor: Actor, { required = true } = {}): Promise<number | null> {
  if (stage.mode !== 'team') return null;
  const team = await teamOfStudent(db, course.id, actor.id);
  if (!team && required) throw noTeam(stage);
  return team ? Number(team.id) : null;
}

/** Checked again under the submission's lock: moved out of the team since the body was read. */
export function refuseOutsideTeam(stage: Stage, stillMember: boolean): void {
  if (!stillMember) throw noTeam(stage);
}

/**
 * Moves received files into their places (synchronously, so SQLite can do it
 * inside its one synchronous transaction); the row that names them commits
 * right after. A failure of that commit leaves placed blobs that no row
 * names, which the orphan sweep removes after its grace period.
 */
export function placeFiles(store: BlobStore | undefined, files: NewFile[]): PlacedFile[] {
  if (files.length === 0) return [];
  if (!store) throw new Error('files were handed in without a place to keep them');
  return files.map(({ tempPath, ...file }) => ({ ...file, storageKey: store.placeSync(tempPath, file.sha256) }));
}
