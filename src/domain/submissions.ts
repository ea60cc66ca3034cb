// Work handed in for a stage. Accepted only while the stage is active, judged
// by its dates against the database clock rather than by the status column,
// which the scheduler updates a moment after each boundary. A student keeps at
// most MAX_SUBMISSIONS_PER_STAGE per stage: the next one is refused (409), and
// nothing handed in is ever deleted to make room.
import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { dbNowMs, SQLITE_NOW_MS } from '../db/clock.js';
import { isForeignKeyViolation } from '../db/errors.js';
import { lockRows } from '../db/locks.js';
import { canRunImmediate, sqliteImmediate } from '../db/sqlite-immediate.js';
import { numberFromDb } from '../db/rows.js';
import { toIso } from '../time.js';
import { canManage, type Course } from './courses.js';
import { getVisibleStage, type Stage } from './stages.js';
import { statusAt } from './stage-status.js';
import type { Actor } from './users.js';
import { pageOf, type Page, type PageRequest } from './paging.js';

export const MAX_SUBMISSIONS_PER_STAGE = 20;

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
    createdAt: numberFromDb(row.created_at),
  };
}

const NOT_A_STUDENT = 'Only students of this course hand in work';

/** A stage the actor may hand in work for, with its course (getStageToSubmitTo). */
export interface SubmitTarget {
  stage: Stage;
  course: Course;
}

/** The stage if the actor may hand in work for it (404 if invisible, 403 if not a student of the course); checked before the body is read. */
export async function getStageToSubmitTo(db: Knex, actor: Actor, stageId: number): Promise<SubmitTarget> {
  const { stage, course, member } = await getVisibleStage(db, actor, stageId);
  if (actor.role !== 'student' || !member) throw new ForbiddenError(NOT_A_STUDENT);
  return { stage, course };
}

/**
 * Hands in work. It is judged by when it arrived (`receivedAt`, the
 * performance.now() of the request's arrival), not by when its transaction
 * got its lock: work that arrived a moment before the deadline and then
 * waited behind other writers (the sweep closing thousands of stages at that
 * instant, other students' submissions) is still on time. The instant of
 * arrival is put on the database clock as the database's now, read in the
 * transaction, minus the time since arrival measured just before that read;
 * so it is never earlier than the true arrival (a submission is never taken
 * late), and may be later by one round trip to the database. That instant is
 * its created_at. Without `receivedAt` (scripts), it is the transaction's now.
 * `target` is what getStageToSubmitTo answered (the routes ask it before
 * reading the body); membership is checked again under the lock.
 */
export async function createSubmission(db: Knex, actor: Actor, { stage, course }: SubmitTarget, input: SubmissionInput, { receivedAt }: { receivedAt?: number } = {}): Promise<Submission> {
  const stageId = stage.id;
  if (!input.body && !input.link) throw ValidationError.field('body', 'give the work as text (body) or a link');
  const arrival = (askedAt: number, dbNow: number) => (receivedAt === undefined ? dbNow : dbNow - Math.max(0, Math.floor(askedAt - receivedAt)));
  const row = (now: number) => ({ stage_id: stageId, student_id: actor.id, body: input.body ?? null, link: input.link ?? null, created_at: now });
  try {
    if (canRunImmediate(db)) {
      // SQLite: the same steps as below, as one synchronous write (db/sqlite-immediate.ts).
      return await sqliteImmediate(db, (sql) => {
        if (!sql('SELECT 1 FROM course_members WHERE course_id = ? AND user_id = ?').get(course.id, actor.id)) throw new ForbiddenError(NOT_A_STUDENT);
        const askedAt = performance.now();
        const now = arrival(askedAt, Number((sql(`SELECT ${SQLITE_NOW_MS} AS now_ms`).get() as { now_ms: number }).now_ms));
        const counted = sql('SELECT COUNT(*) AS n FROM submissions WHERE stage_id = ? AND student_id = ?').get(stageId, actor.id) as { n: number };
        refuseUnlessOpen(stage, now, Number(counted.n));
        const values = row(now);
        const { lastInsertRowid } = sql('INSERT INTO submissions (stage_id, student_id, body, link, created_at) VALUES (?, ?, ?, ?, ?)').run(
          values.stage_id,
          values.student_id,
          values.body,
          values.link,
          values.created_at,
        );
        return toSubmission({ id: Number(lastInsertRowid), ...values });
      });
    }
    return await db.transaction(async (trx) => {
      // The author's membership row is the lock: one submission of theirs at a
      // time (so the count below holds until the insert), and a course being
      // deleted (which locks its memberships first) is not handed work meanwhile.
      if (!(await lockRows(trx, 'course_members', { course_id: course.id, user_id: actor.id }, 'created_at'))) {
        throw new ForbiddenError(NOT_A_STUDENT);
      }
      const askedAt = performance.now();
      const now = arrival(askedAt, await dbNowMs(trx));
      const counted = await trx('submissions').where({ stage_id: stageId, student_id: actor.id }).count({ n: '*' }).first();
      refuseUnlessOpen(stage, now, Number(counted?.n ?? 0));
      const values = row(now);
      const [id] = await trx('submissions').insert(values);
      return toSubmission({ id, ...values });
    });
  } catch (err) {
    // The stage was deleted while this was handed in.
    if (isForeignKeyViolation(err)) throw new NotFoundError('Stage');
    throw err;
  }
}

/** Throws the 409 for work arriving at `now` while the stage is not open, or beyond the student's cap. */
function refuseUnlessOpen(stage: Stage, now: number, handedIn: number): void {
  const status = statusAt(stage.startDate, stage.endDate, now);
  if (status === 'pending') {
    throw new ConflictError(`Stage "${stage.name}" is pending: submissions open at ${toIso(stage.startDate)}`, { status, receivedAt: toIso(now) });
  }
  if (status === 'completed') {
    throw new ConflictError(`Stage "${stage.name}" is completed: submissions closed at ${toIso(stage.endDate)}`, { status, receivedAt: toIso(now) });
  }
  if (handedIn >= MAX_SUBMISSIONS_PER_STAGE) {
    throw new ConflictError(
      `You have handed in ${MAX_SUBMISSIONS_PER_STAGE} submissions for stage "${stage.name}", the most a student may; nothing more is taken for it`,
      { limit: MAX_SUBMISSIONS_PER_STAGE },
    );
  }
}

/** Where a page of submissions ends: they are ordered newest first. */
export interface SubmissionKey {
  createdAt: number;
  id: number;
}

/** Teachers and admins see every submission of the stage, students their own; newest first. */
export async function listSubmissions(db: Knex, actor: Actor, stageId: number, { limit, after }: PageRequest<SubmissionKey>): Promise<Page<Submission, SubmissionKey>> {
  const { course } = await getVisibleStage(db, actor, stageId);
  const query = db('submissions')
    .where({ stage_id: stageId })
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(limit + 1);
  if (!canManage(actor, course)) query.andWhere({ student_id: actor.id });
  if (after) {
    query.andWhere((q) => {
      q.where('created_at', '<', after.createdAt).orWhere((same) => {
        same.where('created_at', after.createdAt).andWhere('id', '<', after.id);
      });
    });
  }
  return pageOf((await query).map(toSubmission), limit, (s) => ({ createdAt: s.createdAt, id: s.id }));
}
