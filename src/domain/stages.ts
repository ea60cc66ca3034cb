// Stages of a course. The status column is derived from the dates and the
// database clock; create and edit set it here, the scheduler moves it on time.
import type { Knex } from 'knex';
import { NotFoundError, ValidationError } from '../errors.js';
import { dbNowMs } from '../db/clock.js';
import { ms } from '../db/rows.js';
import type { StageRow, StageTransitionRow } from '../db/tables.js';
import { toIso } from '../time.js';
import { getManagedCourse, getVisibleCourse, type Course } from './courses.js';
import { recordTransitions, statusAt, type StageStatus } from './stage-status.js';
import { announceStagesChanged } from './stage-events.js';
import type { Actor } from './users.js';

export interface Stage {
  id: number;
  courseId: number;
  name: string;
  description: string;
  startDate: number;
  endDate: number;
  status: StageStatus;
}

export interface StageInput {
  name: string;
  description?: string;
  startDate: number;
  endDate: number;
}

export interface Transition {
  from: StageStatus;
  to: StageStatus;
  at: number;
  cause: string;
}

export function stageJson(stage: Stage) {
  return { ...stage, startDate: toIso(stage.startDate), endDate: toIso(stage.endDate) };
}

export function transitionJson(t: Transition) {
  return { ...t, at: toIso(t.at) };
}

function toStage(row: StageRow): Stage {
  return {
    id: Number(row.id),
    courseId: Number(row.course_id),
    name: String(row.name),
    description: String(row.description ?? ''),
    startDate: ms(row.start_date),
    endDate: ms(row.end_date),
    status: row.status as StageStatus,
  };
}

function checkWindow(startDate: number, endDate: number): void {
  if (endDate <= startDate) throw ValidationError.field('endDate', 'must be after startDate');
}

export async function listStages(db: Knex, actor: Actor, courseId: number): Promise<Stage[]> {
  await getVisibleCourse(db, actor, courseId);
  const rows = await db<StageRow>('stages').where({ course_id: courseId }).orderBy([{ column: 'start_date' }, { column: 'id' }]);
  return rows.map(toStage);
}

/** The stage and its course, if the actor may see the course. */
export async function getVisibleStage(db: Knex, actor: Actor, id: number): Promise<{ stage: Stage; course: Course }> {
  const row = await db<StageRow>('stages').where({ id }).first();
  if (!row) throw new NotFoundError('Stage');
  const stage = toStage(row);
  try {
    return { stage, course: await getVisibleCourse(db, actor, stage.courseId) };
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError('Stage');
    throw err;
  }
}

export async function createStage(db: Knex, actor: Actor, courseId: number, input: StageInput): Promise<Stage> {
  await getManagedCourse(db, actor, courseId);
  checkWindow(input.startDate, input.endDate);
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
      created_at: now,
      updated_at: now,
    };
    const [id] = await trx('stages').insert(row);
    // Past dates are allowed; the history then shows the steps already taken.
    await recordTransitions(trx, Number(id), 'pending', status, now, 'edit');
    return toStage({ id, ...row });
  });
  announceStagesChanged();
  return stage;
}

export async function updateStage(db: Knex, actor: Actor, id: number, input: Partial<StageInput>): Promise<Stage> {
  const { course } = await getVisibleStage(db, actor, id);
  await getManagedCourse(db, actor, course.id);
  const stage = await db.transaction(async (trx) => {
    const now = await dbNowMs(trx);
    // Write first: on SQLite this takes the write lock before anything is read
    // (a read-then-write transaction can fail with SQLITE_BUSY under WAL); on
    // MySQL it locks the row against a concurrent status sweep.
    await trx('stages').where({ id }).update({ updated_at: now });
    // Present after the update above, unless deleted meanwhile (toStage then throws).
    const current = toStage((await trx<StageRow>('stages').where({ id }).forUpdate().first())!);
    const next = { ...current, ...definedOnly(input) };
    checkWindow(next.startDate, next.endDate);
    next.status = statusAt(next.startDate, next.endDate, now);
    await trx('stages').where({ id }).update({
      name: next.name,
      description: next.description,
      start_date: next.startDate,
      end_date: next.endDate,
      status: next.status,
    });
    await recordTransitions(trx, id, current.status, next.status, now, 'edit');
    return next;
  });
  announceStagesChanged();
  return stage;
}

function definedOnly<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export async function deleteStage(db: Knex, actor: Actor, id: number): Promise<void> {
  const { course } = await getVisibleStage(db, actor, id);
  await getManagedCourse(db, actor, course.id);
  await db('stages').where({ id }).delete();
  announceStagesChanged();
}

export async function listTransitions(db: Knex, actor: Actor, stageId: number): Promise<Transition[]> {
  await getVisibleStage(db, actor, stageId);
  const rows = await db<StageTransitionRow>('stage_transitions').where({ stage_id: stageId }).orderBy('id');
  return rows.map((r) => ({ from: r.from_status as StageStatus, to: r.to_status as StageStatus, at: ms(r.at), cause: String(r.cause) }));
}
