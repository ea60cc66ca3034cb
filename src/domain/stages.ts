// Stages of a course. The status column is derived from the dates and the
// database clock; create and edit set it here, the scheduler moves it on time.
import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import { dbNowMs } from '../db/clock.js';
import { lockRows } from '../db/locks.js';
import { readRows } from '../db/read-cache.js';
import type { StageRow } from '../db/tables.js';
import { canManage, getManagedCourse, MANAGERS_ONLY, toCourse, visibleToSql, type Course } from './courses.js';
import { recordTransitions, statusAt } from './stage-status.js';
import { announceStagesChanged } from './stage-events.js';
import type { Actor } from './users.js';
import { pageOf, type Page, type PageRequest } from './paging.js';
import { checkReminders } from './reminder-offsets.js';
import { courseDefaultReminders, defaultsThatFit } from './course-reminders.js';
import { checkWindow, policyColumns, STAGE_COLUMNS, toStage, type Stage, type StageInput } from './stage-row.js';

export { END_NOT_AFTER_START, stageJson, type Stage, type StageInput } from './stage-row.js';

/** Where a page of stages ends: they are ordered by start, then id. */
export interface StageKey {
  startDate: number;
  id: number;
}


/**
 * A page of the course's stages if the actor may see the course, in one read:
 * the course row decides visibility, its stages are joined to it (LEFT, so a
 * visible course without stages still answers one row). No row: 404.
 */
export async function listStages(db: Knex, actor: Actor, courseId: number, { limit, after }: PageRequest<StageKey>): Promise<Page<Stage, StageKey>> {
  const visible = visibleToSql(actor);
  const afterSql = after ? ' AND (s.start_date > ? OR (s.start_date = ? AND s.id > ?))' : '';
  const rows = await readRows<StageRow & { visible_course_id: number }>(
    db,
    `SELECT c.id AS visible_course_id, ${STAGE_COLUMNS} FROM courses c LEFT JOIN stages s ON s.course_id = c.id${afterSql} ` +
      `WHERE c.id = ? AND ${visible.sql} ORDER BY s.start_date, s.id LIMIT ?`,
    [...(after ? [after.startDate, after.startDate, after.id] : []), courseId, ...visible.params, limit + 1],
  );
  if (rows.length === 0) throw new NotFoundError('Course');
  const stages = rows.filter((row) => row.id !== null).map(toStage);
  return pageOf(stages, limit, (stage) => ({ startDate: stage.startDate, id: stage.id }));
}

export interface VisibleStage {
  stage: Stage;
  course: Course;
  /** Whether the actor is a member of the course (a student who may hand in work). */
  member: boolean;
}

/** The stage and its course, if the actor may see the course; one read. */
export async function getVisibleStage(db: Knex, actor: Actor, id: number): Promise<VisibleStage> {
  const visible = visibleToSql(actor);
  const [row] = await readRows<StageRow & { title: string; code: string; timezone: string; teacher_id: number; member: number | string }>(
    db,
    `SELECT ${STAGE_COLUMNS}, c.title, c.code, c.timezone, c.teacher_id, ` +
      'EXISTS (SELECT 1 FROM course_members m WHERE m.course_id = c.id AND m.user_id = ?) AS member ' +
      `FROM stages s JOIN courses c ON c.id = s.course_id WHERE s.id = ? AND ${visible.sql}`,
    [actor.id, id, ...visible.params],
  );
  if (!row) throw new NotFoundError('Stage');
  const course = toCourse({ id: row.course_id, title: row.title, code: row.code, timezone: row.timezone, teacher_id: row.teacher_id });
  return { stage: toStage(row), course, member: Number(row.member) === 1 };
}

/**
 * A stage and its course the actor was found to be allowed to change. Only
 * getManagedStage makes one, so the writes below that take it need not read
 * the same rows again to check, and still refuse one made any other way.
 */
export interface ManagedStage {
  readonly actor: Actor;
  readonly stage: Stage;
  readonly course: Course;
}

const checkedStages = new WeakSet<ManagedStage>();

function assertChecked(managed: ManagedStage): void {
  if (!checkedStages.has(managed)) throw new ForbiddenError(MANAGERS_ONLY);
}

/** The stage and its course if the actor may change them: 404 if invisible, 403 if only visible. */
export async function getManagedStage(db: Knex, actor: Actor, id: number): Promise<ManagedStage> {
  const { stage, course } = await getVisibleStage(db, actor, id);
  if (!canManage(actor, course)) throw new ForbiddenError(MANAGERS_ONLY);
  const managed: ManagedStage = Object.freeze({ actor, stage, course });
  checkedStages.add(managed);
  return managed;
}

export async function createStage(db: Knex, actor: Actor, courseId: number, input: StageInput): Promise<Stage> {
  await getManagedCourse(db, actor, courseId);
  checkWindow(input.startDate, input.endDate, input.cutoffDate ?? null);
  const window = { startDate: input.startDate, endDate: input.endDate };
  // Not given: the course's defaults, those of them that fit in this stage.
  const reminders = input.reminders !== undefined ? checkReminders(input.reminders, window) : defaultsThatFit(await courseDefaultReminders(db, courseId), window);
  const stage = await db.transaction(async (trx) => {
    const now = await dbNowMs(trx);
    const status = statusAt(input.startDate, input.endDate, now);
    const row = {
      course_id: courseId,
      name: input.name,
      description: input.description ?? '',
      start_date: input.startDate,
      end_date: input.endDate,
      status,
      ...policyColumns({ cutoffDate: input.cutoffDate ?? null, mode: input.mode ?? 'individual', maxFileBytes: input.maxFileBytes ?? null, allowedExtensions: input.allowedExtensions ?? [], reminders }),
      created_at: now,
      updated_at: now,
    };
    const [id] = await trx('stages').insert(row);
    // Past dates are allowed; the history then shows the steps already taken.
    await recordTransitions(trx, Number(id), 'pending', status, now, 'created');
    return toStage({ id, ...row });
  });
  announceStagesChanged();
  return stage;
}

export async function updateStage(db: Knex, managed: ManagedStage, input: Partial<StageInput>): Promise<Stage> {
  assertChecked(managed);
  const { id } = managed.stage;
  const stage = await db.transaction(async (trx) => {
    const now = await dbNowMs(trx);
    // Write first: on SQLite this takes the write lock before anything is read
    // (a read-then-write transaction can fail with SQLITE_BUSY under WAL); on
    // MySQL it locks the row against a concurrent status sweep.
    await trx('stages').where({ id }).update({ updated_at: now });
    // Present after the update above, unless deleted meanwhile (toStage then throws).
    const current = toStage((await trx<StageRow>('stages').where({ id }).forUpdate().first())!);
    const next = { ...current, ...definedOnly(input) };
    checkWindow(next.startDate, next.endDate, next.cutoffDate);
    // New dates may make a kept reminder longer than the stage: refused like a new one.
    next.reminders = checkReminders(next.reminders, next);
    if (next.mode !== current.mode && (await countStageSubmissions(trx, id)) > 0) {
      throw new ConflictError('The stage has submissions: whether it is individual or team work no longer changes', [{ field: 'mode', message: 'cannot change once work was handed in' }]);
    }
    next.status = statusAt(next.startDate, next.endDate, now);
    await trx('stages').where({ id }).update({
      name: next.name,
      description: next.description,
      start_date: next.startDate,
      end_date: next.endDate,
      status: next.status,
      ...policyColumns(next),
    });
    await recordTransitions(trx, id, current.status, next.status, now, 'edit');
    return next;
  });
  announceStagesChanged();
  return stage;
}

/** The fields the input gives; a null (cutoffDate: null) is given: it clears the field. */
function definedOnly<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export async function countStageSubmissions(db: Knex, stageId: number): Promise<number> {
  const row = await db('submissions').where({ stage_id: stageId }).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}

/**
 * Deletes the stage with its history. As for a course (deleteCourse), students'
 * work is not deleted as a side effect: 409 while the stage has submissions,
 * unless an admin passes `force`. The stage row is locked first: a submission
 * being handed in meanwhile either is counted or finds the stage gone.
 */
export async function deleteStage(db: Knex, managed: ManagedStage, { force = false }: { force?: boolean } = {}): Promise<void> {
  assertChecked(managed);
  const { id } = managed.stage;
  if (force && managed.actor.role !== 'admin') throw new ForbiddenError('Only an admin may delete a stage together with its submissions');
  await db.transaction(async (trx) => {
    if (!(await lockRows(trx, 'stages', { id }, 'updated_at'))) throw new NotFoundError('Stage');
    const submissions = await countStageSubmissions(trx, id);
    if (submissions > 0 && !force) {
      throw new ConflictError(
        `Stage has ${submissions} submission${submissions === 1 ? '' : 's'} from students; it is not deleted. ` +
          'An admin may delete it with its submissions (?force=true).',
        { submissions },
      );
    }
    await trx('stages').where({ id }).delete();
  });
  announceStagesChanged();
}
