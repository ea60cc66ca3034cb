// Work handed in for a stage. Accepted only inside the student's effective
// window (their override, their team's, else the stage's: effective-window.ts),
// judged by its dates against the database clock rather than by the status
// column, which the scheduler updates a moment after each boundary; between
// the end and a cut-off it is taken and marked late. Each hand-in is a
// new version (1, 2, ...) of its owner's work: the student's, or in a team
// stage the team's. An owner keeps at most MAX_SUBMISSIONS_PER_STAGE versions
// per stage: the next one is refused (409), and nothing handed in is ever
// deleted to make room.
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
import { openness, overrideFor, overrideForSync, windowOf, type EffectiveWindow } from './effective-window.js';
import type { Actor } from './users.js';
import { pageOf, type Page, type PageRequest } from './paging.js';
import { filesOf, insertFiles, insertFilesSqlite, type NewFile, type SubmissionFile } from './submission-files.js';
import { ownerOf, placeFiles, refuseOutsideTeam, teamForSubmission } from './submission-owner.js';
import type { BlobStore } from '../uploads/blob-store.js';
import type { SubmissionRow } from '../db/tables.js';

export const MAX_SUBMISSIONS_PER_STAGE = 20;

export interface Submission {
  id: number;
  stageId: number;
  studentId: number;
  teamId: number | null;
  body: string | null;
  link: string | null;
  version: number;
  /** Handed in after the effective end, before the cut-off. */
  late: boolean;
  createdAt: number;
  files: SubmissionFile[];
}

export interface SubmissionInput {
  body?: string;
  link?: string;
  /** Received and flushed under temporary names (uploads/multipart.ts); placed as the row commits. */
  files?: NewFile[];
}

export function submissionJson(s: Submission) {
  const { id, stageId, studentId, teamId, body, link, late, version, createdAt, files } = s;
  return { id, stageId, studentId, teamId, body, link, late, version, createdAt: toIso(createdAt), files };
}

type SubmissionValues = Pick<SubmissionRow, 'id' | 'stage_id' | 'student_id' | 'team_id' | 'body' | 'link' | 'version' | 'created_at' | 'late'>;

export function toSubmission(row: SubmissionValues, files: SubmissionFile[] = []): Submission {
  return {
    id: Number(row.id),
    stageId: Number(row.stage_id),
    studentId: Number(row.student_id),
    teamId: row.team_id === null || row.team_id === undefined ? null : Number(row.team_id),
    body: row.body ?? null,
    link: row.link ?? null,
    version: Number(row.version),
    late: Number(row.late ?? 0) === 1 || row.late === true,
    createdAt: numberFromDb(row.created_at),
    files,
  };
}

const NOT_A_STUDENT = 'Only students of this course hand in work';

/** A stage the actor may hand in work for, with its course and, in a team stage, the actor's team (getStageToSubmitTo). */
export interface SubmitTarget {
  stage: Stage;
  course: Course;
  teamId: number | null;
}

/**
 * The stage if the actor may hand in work for it (404 if invisible, 403 if not
 * a student of the course, 409 in a team stage for a student in no team);
 * checked before the body is read, so no file is received for nothing.
 */
export async function getStageToSubmitTo(db: Knex, actor: Actor, stageId: number): Promise<SubmitTarget> {
  const { stage, course, member } = await getVisibleStage(db, actor, stageId);
  if (actor.role !== 'student' || !member) throw new ForbiddenError(NOT_A_STUDENT);
  return { stage, course, teamId: await teamForSubmission(db, stage, course, actor) };
}

export interface SubmitOptions {
  receivedAt?: number;
  /** Where files go; needed when the input has files. */
  store?: BlobStore;
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
export async function createSubmission(db: Knex, actor: Actor, { stage, course, teamId }: SubmitTarget, input: SubmissionInput, { receivedAt, store }: SubmitOptions = {}): Promise<Submission> {
  const stageId = stage.id;
  const files = input.files ?? [];
  if (!input.body && !input.link && files.length === 0) throw ValidationError.field('body', 'give the work as text (body), a link or files');
  const arrival = (askedAt: number, dbNow: number) => (receivedAt === undefined ? dbNow : dbNow - Math.max(0, Math.floor(askedAt - receivedAt)));
  const owner = ownerOf(actor, teamId);
  const row = (now: number, latest: number, late: boolean) => ({ stage_id: stageId, student_id: actor.id, team_id: teamId, owner, version: latest + 1, body: input.body ?? null, link: input.link ?? null, late: late ? 1 : 0, created_at: now });
  try {
    if (canRunImmediate(db)) {
      // SQLite: the same steps as below, as one synchronous write (db/sqlite-immediate.ts).
      return await sqliteImmediate(db, (sql) => {
        if (!sql('SELECT 1 FROM course_members WHERE course_id = ? AND user_id = ?').get(course.id, actor.id)) throw new ForbiddenError(NOT_A_STUDENT);
        if (teamId !== null) refuseOutsideTeam(stage, Boolean(sql('SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ?').get(teamId, actor.id)));
        const askedAt = performance.now();
        const now = arrival(askedAt, Number((sql(`SELECT ${SQLITE_NOW_MS} AS now_ms`).get() as { now_ms: number }).now_ms));
        const latest = sql('SELECT COALESCE(MAX(version), 0) AS n FROM submissions WHERE stage_id = ? AND owner = ?').get(stageId, owner) as { n: number };
        const late = refuseUnlessOpen(stage, windowOf(stage, overrideForSync(sql, stageId, actor.id)), now, Number(latest.n));
        const values = row(now, Number(latest.n), late);
        // Files into place last, once nothing can refuse the work: the COMMIT follows.
        const placed = placeFiles(store, files);
        const { lastInsertRowid } = sql(
          'INSERT INTO submissions (stage_id, student_id, team_id, owner, version, body, link, late, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        ).run(values.stage_id, values.student_id, values.team_id, values.owner, values.version, values.body, values.link, values.late, values.created_at);
        const id = Number(lastInsertRowid);
        return toSubmission({ id, ...values }, insertFilesSqlite(sql, id, placed));
      });
    }
    return await db.transaction(async (trx) => {
      // The author's membership row is the lock: one submission of theirs at a
      // time (so the count below holds until the insert), and a course being
      // deleted (which locks its memberships first) is not handed work meanwhile.
      if (!(await lockRows(trx, 'course_members', { course_id: course.id, user_id: actor.id }, 'created_at'))) {
        throw new ForbiddenError(NOT_A_STUDENT);
      }
      // Members of a team hand in one after another: the team row is their lock.
      if (teamId !== null) {
        await lockRows(trx, 'teams', { id: teamId }, 'updated_at');
        refuseOutsideTeam(stage, (await trx('team_members').where({ team_id: teamId, user_id: actor.id }).first('user_id')) !== undefined);
      }
      const askedAt = performance.now();
      const now = arrival(askedAt, await dbNowMs(trx));
      const latest = await trx('submissions').where({ stage_id: stageId, owner }).max({ n: 'version' }).first();
      const late = refuseUnlessOpen(stage, windowOf(stage, await overrideFor(trx, stageId, actor.id)), now, Number(latest?.n ?? 0));
      const values = row(now, Number(latest?.n ?? 0), late);
      const placed = placeFiles(store, files);
      const [id] = await trx('submissions').insert(values);
      return toSubmission({ id, ...values }, await insertFiles(trx, id, placed));
    });
  } catch (err) {
    // The stage was deleted while this was handed in.
    if (isForeignKeyViolation(err)) throw new NotFoundError('Stage');
    throw err;
  }
}

/**
 * The 409 createSubmission would answer, asked before a large body is read:
 * work judged by its arrival that is refused at arrival need not be received.
 * createSubmission judges it again under its lock.
 */
export async function refuseEarly(db: Knex, actor: Actor, { stage, teamId }: SubmitTarget, receivedAt: number): Promise<void> {
  const latest = await db('submissions').where({ stage_id: stage.id, owner: ownerOf(actor, teamId) }).max({ n: 'version' }).first();
  const window = windowOf(stage, await overrideFor(db, stage.id, actor.id));
  refuseUnlessOpen(stage, window, (await dbNowMs(db)) - Math.max(0, Math.floor(performance.now() - receivedAt)), Number(latest?.n ?? 0));
}

/**
 * Throws the 409 for work arriving at `now` outside the caller's window, or
 * beyond the cap; else says whether it is late (after the end, before the cut-off).
 */
function refuseUnlessOpen(stage: Stage, window: EffectiveWindow, now: number, handedIn: number): boolean {
  const state = openness(window, now);
  const yours = window.source === 'stage' ? '' : ' (your extension)';
  if (state === 'pending') {
    throw new ConflictError(`Stage "${stage.name}" is pending: submissions open at ${toIso(window.startDate)}${yours}`, { status: 'pending', receivedAt: toIso(now) });
  }
  if (state === 'closed') {
    const closedAt = window.cutoffDate ?? window.endDate;
    throw new ConflictError(`Stage "${stage.name}" is completed: submissions closed at ${toIso(closedAt)}${yours}`, { status: 'completed', receivedAt: toIso(now) });
  }
  if (handedIn >= MAX_SUBMISSIONS_PER_STAGE) {
    throw new ConflictError(
      `${stage.mode === 'team' ? 'Your team has' : 'You have'} handed in ${MAX_SUBMISSIONS_PER_STAGE} submissions for stage "${stage.name}", the most a ${stage.mode === 'team' ? 'team' : 'student'} may; nothing more is taken for it`,
      { limit: MAX_SUBMISSIONS_PER_STAGE },
    );
  }
  return state === 'late';
}

/** Where a page of submissions ends: they are ordered newest first. */
export interface SubmissionKey {
  createdAt: number;
  id: number;
}

/** Teachers and admins see every submission of the stage, students their own (their team's in a team stage); newest first. */
export async function listSubmissions(db: Knex, actor: Actor, stageId: number, { limit, after }: PageRequest<SubmissionKey>): Promise<Page<Submission, SubmissionKey>> {
  const { stage, course } = await getVisibleStage(db, actor, stageId);
  const query = db('submissions')
    .where({ stage_id: stageId })
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(limit + 1);
  if (!canManage(actor, course)) query.andWhere(await visibleOwnership(db, stage, course, actor));
  if (after) {
    query.andWhere((q) => {
      q.where('created_at', '<', after.createdAt).orWhere((same) => {
        same.where('created_at', after.createdAt).andWhere('id', '<', after.id);
      });
    });
  }
  const rows = (await query) as SubmissionValues[];
  const files = await filesOf(db, rows.slice(0, limit).map((r) => Number(r.id)));
  return pageOf(rows.map((r) => toSubmission(r, files.get(Number(r.id)))), limit, (s) => ({ createdAt: s.createdAt, id: s.id }));
}

/** Which rows a student sees: their team's in a team stage (if in one), else their own. */
export async function visibleOwnership(db: Knex, stage: Stage, course: Course, actor: Actor): Promise<Record<string, string | number>> {
  const team = stage.mode === 'team' ? await teamForSubmission(db, stage, course, actor, { required: false }) : null;
  return team === null ? { student_id: actor.id } : { owner: ownerOf(actor, team) };
}
