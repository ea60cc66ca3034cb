// Whose window decides: a student's own override, else their team's, else the
// stage's. One query finds the override that applies (its ORDER BY puts a
// student's own before their team's), so the hand-in, the stage JSON and the
// pages judge by the same rule.
import type { Knex } from 'knex';
import type { StageOverrideRow } from '../db/tables.js';
import { numberFromDb } from '../db/rows.js';
import { readRows } from '../db/read-cache.js';
import type { Prepared } from '../db/sqlite-immediate.js';
import { toIso } from '../time.js';
import type { Stage } from './stage-row.js';
import { nullableMs } from './stage-row.js';
import type { StageStatus } from './stage-status.js';

export type WindowSource = 'stage' | 'team' | 'user';

export interface EffectiveWindow {
  startDate: number;
  endDate: number;
  cutoffDate: number | null;
  status: StageStatus;
  source: WindowSource;
  /** The override that gives the window; null for the stage's own. */
  overrideId: number | null;
}

/** The override of `userId` (their own, else their team's) for the stage; params: stage, user, stage, user. */
export const OVERRIDE_FOR_USER_SQL =
  'SELECT o.* FROM stage_overrides o WHERE o.stage_id = ? AND (o.user_id = ? OR o.team_id = ' +
  '(SELECT tm.team_id FROM team_members tm JOIN stages s ON s.course_id = tm.course_id WHERE s.id = ? AND tm.user_id = ?)) ' +
  'ORDER BY CASE WHEN o.user_id IS NULL THEN 1 ELSE 0 END LIMIT 1';

export async function overrideFor(db: Knex | Knex.Transaction, stageId: number, userId: number): Promise<StageOverrideRow | null> {
  const rows = (await db.raw(OVERRIDE_FOR_USER_SQL, [stageId, userId, stageId, userId])) as unknown;
  // mysql2 answers a raw query with [rows, fields], better-sqlite3 with rows.
  const list = (Array.isArray(rows) && Array.isArray(rows[0]) ? rows[0] : rows) as StageOverrideRow[];
  return list[0] ?? null;
}

/** The same, inside SQLite's one synchronous hand-in transaction. */
export function overrideForSync(sql: Prepared, stageId: number, userId: number): StageOverrideRow | null {
  return (sql(OVERRIDE_FOR_USER_SQL).get(stageId, userId, stageId, userId) as StageOverrideRow | undefined) ?? null;
}

/**
 * The window an override gives, or the stage's without one. Its status is the
 * server's word: the override's own status column, which the leader moves at
 * the override's boundaries, as it moves the stage's. An override without a
 * start of its own opens with the stage.
 */
export function windowOf(stage: Pick<Stage, 'startDate' | 'endDate' | 'cutoffDate' | 'status'>, override: StageOverrideRow | null): EffectiveWindow {
  if (!override) return { startDate: stage.startDate, endDate: stage.endDate, cutoffDate: stage.cutoffDate, status: stage.status, source: 'stage', overrideId: null };
  const ownStart = nullableMs(override.start_date);
  const own = override.status as StageStatus;
  const status: StageStatus = ownStart !== null || own === 'completed' ? own : stage.status === 'pending' ? 'pending' : 'active';
  return {
    startDate: ownStart ?? stage.startDate,
    endDate: numberFromDb(override.end_date),
    cutoffDate: nullableMs(override.cutoff_date) ?? inheritedCutoff(stage, numberFromDb(override.end_date)),
    status,
    source: override.user_id === null ? 'team' : 'user',
    overrideId: Number(override.id),
  };
}

/**
 * An override without a cut-off of its own has the stage's, as long as that
 * falls at or after the override's end; one before it (an extension past the
 * class's late window) would take no late work at all, so there is none.
 */
function inheritedCutoff(stage: Pick<Stage, 'cutoffDate'>, ownEnd: number): number | null {
  return stage.cutoffDate !== null && stage.cutoffDate >= ownEnd ? stage.cutoffDate : null;
}

export async function effectiveWindow(db: Knex | Knex.Transaction, stage: Stage, userId: number): Promise<EffectiveWindow> {
  return windowOf(stage, await overrideFor(db, stage.id, userId));
}

/** The overrides of `userId` (their own and their teams') in a course; params: course, user, user. */
const OVERRIDES_IN_COURSE_SQL =
  'SELECT o.* FROM stage_overrides o JOIN stages s ON s.id = o.stage_id WHERE s.course_id = ? ' +
  'AND (o.user_id = ? OR o.team_id IN (SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ?))';

/**
 * The windows of `userId` for several stages at once (a course's list), in the
 * stages' order: one query per course, read like the list itself (read-cache.ts),
 * since every student's page and API list asks it.
 */
export async function effectiveWindows(db: Knex, stages: Stage[], userId: number): Promise<EffectiveWindow[]> {
  if (stages.length === 0) return [];
  const rows: StageOverrideRow[] = [];
  for (const courseId of new Set(stages.map((s) => s.courseId))) rows.push(...(await readRows<StageOverrideRow>(db, OVERRIDES_IN_COURSE_SQL, [courseId, userId, userId])));
  return stages.map((stage) => {
    const mine = rows.filter((r) => Number(r.stage_id) === stage.id);
    return windowOf(stage, mine.find((r) => r.user_id !== null) ?? mine[0] ?? null);
  });
}

export function effectiveJson(w: EffectiveWindow) {
  return {
    startDate: toIso(w.startDate),
    endDate: toIso(w.endDate),
    cutoffDate: w.cutoffDate === null ? null : toIso(w.cutoffDate),
    status: w.status,
    source: w.source,
  };
}

/** Whether work arriving at `now` is taken, and whether late: by the window's dates, not its status. */
export function openness(w: Pick<EffectiveWindow, 'startDate' | 'endDate' | 'cutoffDate'>, now: number): 'pending' | 'open' | 'late' | 'closed' {
  if (now < w.startDate) return 'pending';
  if (now < w.endDate) return 'open';
  if (w.cutoffDate !== null && now < w.cutoffDate) return 'late';
  return 'closed';
}
