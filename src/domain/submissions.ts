// Work handed in for a stage. Accepted only while the stage is active, judged
// by its dates against the database clock rather than by the status column,
// which the scheduler updates a moment after each boundary.
import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, ValidationError } from '../errors.js';
import { dbNowMs } from '../db/clock.js';
import { ms } from '../db/rows.js';
import { toIso } from '../time.js';
import { canManage, isMember } from './courses.js';
import { getVisibleStage } from './stages.js';
import { statusAt } from './stage-status.js';
import type { Actor } from './users.js';

export interface Submission {
  id: number;
  stageId: number;
  studentId: number;
  body: string | null;
  link: string | null;
  createdAt: number;
}

export interface SubmissionInput {
  body?: string;
  link?: string;
}

export function submissionJson(s: Submission) {
  return { ...s, createdAt: toIso(s.createdAt) };
}

function toSubmission(row: Record<string, unknown>): Submission {
  return {
    id: Number(row.id),
    stageId: Number(row.stage_id),
    studentId: Number(row.student_id),
    body: (row.body as string | null) ?? null,
    link: (row.link as string | null) ?? null,
    createdAt: ms(row.created_at),
  };
}

export async function createSubmission(db: Knex, actor: Actor, stageId: number, input: SubmissionInput): Promise<Submission> {
  if (!input.body && !input.link) throw ValidationError.field('body', 'give the work as text (body) or a link');
  const { stage, course } = await getVisibleStage(db, actor, stageId);
  if (actor.role !== 'student' || !(await isMember(db, course.id, actor.id))) {
    throw new ForbiddenError('Only students of this course hand in work');
  }
  const now = await dbNowMs(db);
  const status = statusAt(stage.startDate, stage.endDate, now);
  if (status === 'pending') {
    throw new ConflictError(`Stage "${stage.name}" is pending: submissions open at ${toIso(stage.startDate)}`, { status });
  }
  if (status === 'completed') {
    throw new ConflictError(`Stage "${stage.name}" is completed: submissions closed at ${toIso(stage.endDate)}`, { status });
  }
  const row = { stage_id: stageId, student_id: actor.id, body: input.body ?? null, link: input.link ?? null, created_at: now };
  const [id] = await db('submissions').insert(row);
  return toSubmission({ id, ...row });
}

/** Teachers and admins see every submission of the stage, students their own. */
export async function listSubmissions(db: Knex, actor: Actor, stageId: number): Promise<Submission[]> {
  const { course } = await getVisibleStage(db, actor, stageId);
  const query = db('submissions').where({ stage_id: stageId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
  if (!canManage(actor, course)) query.andWhere({ student_id: actor.id });
  return (await query).map(toSubmission);
}
