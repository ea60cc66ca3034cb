// Overrides: a team's or a student's own window for a stage (an extension,
// an early start), with the reason, shown to the teacher only. Teachers of
// the course and admins manage them (a ManagedStage proves it). Every change
// is announced like a change of a stage's dates, so the leader re-arms its
// boundary timer at once and open pages look again.
import type { Knex } from 'knex';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { dbNowMs } from '../db/clock.js';
import { isUniqueViolation } from '../db/errors.js';
import { numberFromDb } from '../db/rows.js';
import type { StageOverrideRow } from '../db/tables.js';
import { toIso } from '../time.js';
import { nullableMs, type Stage } from './stage-row.js';
import { statusAt } from './stage-status.js';
import { announceStagesChanged } from './stage-events.js';
import { getManagedStage, type ManagedStage } from './stages.js';
import type { Actor } from './users.js';

export const MAX_BULK_OVERRIDES = 1000;

export interface OverrideInput {
  teamId?: number | null;
  userId?: number | null;
  startDate?: number | null;
  endDate: number;
  cutoffDate?: number | null;
  reason?: string;
}

export interface Override {
  id: number;
  stageId: number;
  teamId: number | null;
  userId: number | null;
  startDate: number | null;
  endDate: number;
  cutoffDate: number | null;
  reason: string;
  createdBy: number | null;
  createdAt: number;
  status: string;
}

export function toOverride(r: StageOverrideRow): Override {
  return {
    id: Number(r.id),
    stageId: Number(r.stage_id),
    teamId: r.team_id === null ? null : Number(r.team_id),
    userId: r.user_id === null ? null : Number(r.user_id),
    startDate: nullableMs(r.start_date),
    endDate: numberFromDb(r.end_date),
    cutoffDate: nullableMs(r.cutoff_date),
    reason: String(r.reason ?? ''),
    createdBy: r.created_by === null ? null : Number(r.created_by),
    createdAt: numberFromDb(r.created_at),
    status: String(r.status),
  };
}

const isoOrNull = (ms: number | null) => (ms === null ? null : toIso(ms));

export function overrideJson(o: Override) {
  const { id, stageId, teamId, userId, reason, createdBy } = o;
  return { id, stageId, teamId, userId, startDate: isoOrNull(o.startDate), endDate: toIso(o.endDate), cutoffDate: isoOrNull(o.cutoffDate), reason, createdBy, createdAt: toIso(o.createdAt) };
}

/** Field names of one item, prefixed for a bulk list (`items.3.endDate`). */
type Prefix = (field: string) => string;

/** Who it is for and the window, checked against the stage and its course: 400 naming the field. */
async function checkOverride(trx: Knex.Transaction, stage: Stage, input: OverrideInput, at: Prefix): Promise<void> {
  const hasTeam = input.teamId !== undefined && input.teamId !== null;
  const hasUser = input.userId !== undefined && input.userId !== null;
  if (hasTeam === hasUser) throw ValidationError.field(at('teamId'), 'give exactly one of teamId and userId');
  if (hasTeam) {
    const team: unknown = await trx('teams').where({ id: input.teamId, course_id: stage.courseId }).first('id');
    if (!team) throw ValidationError.field(at('teamId'), 'must be a team of the course');
  } else {
    const student: unknown = await trx('course_members as m')
      .join('users as u', 'u.id', 'm.user_id')
      .where({ 'm.course_id': stage.courseId, 'm.user_id': input.userId, 'u.role': 'student' })
      .first('m.user_id');
    if (!student) throw ValidationError.field(at('userId'), 'must be a student of the course');
  }
  checkOverrideWindow(stage, input, at);
}

function checkOverrideWindow(stage: Stage, input: Pick<OverrideInput, 'startDate' | 'endDate' | 'cutoffDate'>, at: Prefix): void {
  const start = input.startDate ?? stage.startDate;
  if (input.endDate <= start) throw ValidationError.field(at('endDate'), input.startDate == null ? "must be after the stage's startDate" : 'must be after startDate');
  if (input.cutoffDate !== undefined && input.cutoffDate !== null && input.cutoffDate < input.endDate) throw ValidationError.field(at('cutoffDate'), 'must be at or after endDate');
}

function columns(stage: Stage, input: Omit<OverrideInput, 'teamId' | 'userId'>, now: number) {
  const start = input.startDate ?? null;
  return {
    start_date: start,
    end_date: input.endDate,
    cutoff_date: input.cutoffDate ?? null,
    reason: input.reason ?? '',
    status: statusAt(start ?? stage.startDate, input.endDate, now),
    updated_at: now,
  };
}

const duplicate = (field: string) => new ConflictError(`The stage has an override for this ${field === 'teamId' ? 'team' : 'student'} already`, [{ field, message: 'has an override for this stage already' }]);

async function insertOverride(trx: Knex.Transaction, managed: ManagedStage, input: OverrideInput, now: number, at: Prefix, replace: boolean): Promise<number> {
  const { stage, actor } = managed;
  await checkOverride(trx, stage, input, at);
  const who = input.teamId != null ? { team_id: input.teamId } : { user_id: input.userId };
  if (replace) await trx('stage_overrides').where({ stage_id: stage.id, ...who }).delete();
  try {
    const [id] = await trx('stage_overrides').insert({ stage_id: stage.id, team_id: input.teamId ?? null, user_id: input.userId ?? null, created_by: actor.id, created_at: now, ...columns(stage, input, now) });
    return Number(id);
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicate(at(input.teamId != null ? 'teamId' : 'userId'));
    throw err;
  }
}

export async function listOverrides(db: Knex, managed: ManagedStage): Promise<Override[]> {
  const rows = await db<StageOverrideRow>('stage_overrides').where({ stage_id: managed.stage.id }).orderBy('id');
  return rows.map(toOverride);
}

async function readOverride(db: Knex | Knex.Transaction, id: number): Promise<Override> {
  const row = await db<StageOverrideRow>('stage_overrides').where({ id }).first();
  if (!row) throw new NotFoundError('Override');
  return toOverride(row);
}

export async function createOverride(db: Knex, managed: ManagedStage, input: OverrideInput): Promise<Override> {
  const override = await db.transaction(async (trx) => readOverride(trx, await insertOverride(trx, managed, input, await dbNowMs(trx), (f) => f, false)));
  announceStagesChanged();
  return override;
}

/** Up to MAX_BULK_OVERRIDES in one transaction: each creates or replaces that team's or student's; all or nothing. */
export async function bulkOverrides(db: Knex, managed: ManagedStage, items: OverrideInput[]): Promise<Override[]> {
  const ids = await db.transaction(async (trx) => {
    const now = await dbNowMs(trx);
    const made: number[] = [];
    for (const [i, item] of items.entries()) made.push(await insertOverride(trx, managed, item, now, (f) => `items.${i}.${f}`, true));
    return made;
  });
  announceStagesChanged();
  const rows = await db<StageOverrideRow>('stage_overrides').whereIn('id', ids).orderBy('id');
  return rows.map(toOverride);
}

/** The override and the stage it belongs to, if the actor manages that stage (404 if invisible, 403 if only visible). */
export async function getManagedOverride(db: Knex, actor: Actor, id: number): Promise<{ override: Override; managed: ManagedStage }> {
  const override = await readOverride(db, id);
  return { override, managed: await getManagedStage(db, actor, override.stageId) };
}

export async function updateOverride(db: Knex, { override, managed }: { override: Override; managed: ManagedStage }, input: Partial<Omit<OverrideInput, 'teamId' | 'userId'>>): Promise<Override> {
  const next = { ...override, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) };
  checkOverrideWindow(managed.stage, next, (f) => f);
  const updated = await db.transaction(async (trx) => {
    const now = await dbNowMs(trx);
    const changed = await trx('stage_overrides').where({ id: override.id }).update(columns(managed.stage, next, now));
    if (changed === 0) throw new NotFoundError('Override');
    return readOverride(trx, override.id);
  });
  announceStagesChanged();
  return updated;
}

export async function deleteOverride(db: Knex, { override }: { override: Override }): Promise<void> {
  await db('stage_overrides').where({ id: override.id }).delete();
  announceStagesChanged();
}
