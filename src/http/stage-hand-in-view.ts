// What the stage page shows about handing in: the limits before a file is
// chosen, whether a student of a team stage is in a team, and whose work
// each line is (a student's email, or a team's name).
import type { Knex } from 'knex';
import type { UploadSettings } from '../config.js';
import { memberEmails, type Course } from '../domain/courses.js';
import { effectiveMaxFileBytes, MAX_FILES_PER_SUBMISSION } from '../domain/file-policy.js';
import type { Stage } from '../domain/stages.js';
import type { Submission } from '../domain/submissions.js';
import { teamOfStudent } from '../domain/teams.js';
import type { Actor } from '../domain/users.js';
import { fmtMiB } from './stage-form-policy.js';
import { say } from '../i18n/request-language.js';

export interface HandInView {
  /** A student of a team stage who is in no team: the form is not shown, the page says why. */
  noTeam: boolean;
  teamName: string | null;
  maxFiles: number;
  maxFileMiB: string;
  /** For the file input's `accept`; empty: any. */
  accept: string;
  /** Whose each line is, by submission id, for managers. */
  authors: Record<number, string>;
}

export async function handInView(db: Knex, uploads: UploadSettings, actor: Actor, stage: Stage, course: Course, manage: boolean, submissions: Submission[]): Promise<HandInView> {
  const team = stage.mode === 'team' && !manage ? await teamOfStudent(db, course.id, actor.id) : null;
  return {
    noTeam: stage.mode === 'team' && !manage && team === null,
    teamName: team ? String(team.name) : null,
    maxFiles: MAX_FILES_PER_SUBMISSION,
    maxFileMiB: fmtMiB(effectiveMaxFileBytes(stage, uploads.maxBytes)),
    accept: stage.allowedExtensions.join(','),
    authors: manage ? await authorsOf(db, actor, course, submissions) : {},
  };
}

async function authorsOf(db: Knex, actor: Actor, course: Course, submissions: Submission[]): Promise<Record<number, string>> {
  // Only the authors on this page are looked up, however large the course.
  const emails = await memberEmails(db, actor, course.id, submissions.map((s) => s.studentId));
  const teamIds = [...new Set(submissions.flatMap((s) => (s.teamId === null ? [] : [s.teamId])))];
  const teams = new Map<number, string>();
  if (teamIds.length) for (const row of await db('teams').whereIn('id', teamIds).select<{ id: number; name: string }[]>('id', 'name')) teams.set(Number(row.id), String(row.name));
  const email = (s: Submission) => emails.get(s.studentId) ?? say('overrides.studentNumber', { id: s.studentId });
  return Object.fromEntries(submissions.map((s) => [s.id, s.teamId === null ? email(s) : say('stage.teamBy', { team: teams.get(s.teamId) ?? say('overrides.teamNumber', { id: s.teamId }), by: email(s) })]));
}
