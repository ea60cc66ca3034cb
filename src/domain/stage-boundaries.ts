// Stage boundaries seen from the scheduler's side: which stages sit at a
// given boundary (the console names the one the leader is armed for), and how
// late each transition came after the boundary it crossed (its lag).
import type { Knex } from 'knex';
import { numberFromDb } from '../db/rows.js';
import type { CourseRow, StageRow, StageTransitionRow } from '../db/tables.js';

/** The causes of the transitions the scheduler makes; edits and creations have no lag. */
const SCHEDULED_CAUSES = ['timer', 'sweep', 'startup'];

export interface TransitionTiming {
  from: string;
  to: string;
  at: number;
  cause: string;
}

/**
 * How long after its boundary a transition came: `at` minus the start date
 * (pending -> active) or the end date (active -> completed). Null for edits
 * and creations, and when the stage's dates now lie after the transition
 * (they were moved since, so the boundary it crossed is no longer known).
 */
export function transitionLagMs(t: TransitionTiming, stage: { startDate: number; endDate: number }): number | null {
  if (!SCHEDULED_CAUSES.includes(t.cause)) return null;
  const boundary = t.from === 'pending' && t.to === 'active' ? stage.startDate : t.from === 'active' && t.to === 'completed' ? stage.endDate : null;
  if (boundary === null || boundary > t.at) return null;
  return t.at - boundary;
}

/** The newest transition id, to tell a sweep's rows from the older ones. */
export async function lastTransitionId(db: Knex): Promise<number> {
  const row = (await db<StageTransitionRow>('stage_transitions').max({ id: 'id' }).first()) as { id: unknown } | undefined;
  return row?.id === null || row?.id === undefined ? 0 : numberFromDb(row.id);
}

type SweepLagRow = Pick<StageTransitionRow, 'from_status' | 'to_status' | 'at' | 'cause'> & Pick<StageRow, 'start_date' | 'end_date'>;

/**
 * The lags of the transitions one sweep recorded: the rows after `afterId`
 * with the sweep's instant and term, joined to their stages, in one query;
 * at most `limit` of them, so a storm of transitions costs a bounded read.
 */
export async function sweepTransitionLags(db: Knex, sweep: { afterId: number; at: number; term: number | null }, limit = 10_000): Promise<number[]> {
  const q = db('stage_transitions as t')
    .join('stages as s', 's.id', 't.stage_id')
    .where('t.id', '>', sweep.afterId)
    .andWhere('t.at', sweep.at)
    // An override's boundaries are its own (override-lifecycle.ts records their lag).
    .whereNull('t.override_id')
    .whereIn('t.cause', SCHEDULED_CAUSES)
    .orderBy('t.id')
    .limit(limit)
    .select<SweepLagRow[]>('t.from_status', 't.to_status', 't.at', 't.cause', 's.start_date', 's.end_date');
  if (sweep.term === null) q.whereNull('t.term');
  else q.andWhere('t.term', sweep.term);
  const rows = await q;
  const lags: number[] = [];
  for (const r of rows) {
    const lag = transitionLagMs({ from: r.from_status, to: r.to_status, at: numberFromDb(r.at), cause: r.cause }, { startDate: numberFromDb(r.start_date), endDate: numberFromDb(r.end_date) });
    if (lag !== null) lags.push(lag);
  }
  return lags;
}

export interface StageAtBoundary {
  stageId: number;
  stageName: string;
  courseId: number;
  courseCode: string;
  courseTitle: string;
  /** What the boundary does to the stage: its start opens it, its end closes it. */
  crossing: 'opens' | 'closes';
}

type BoundaryStageRow = Pick<StageRow, 'id' | 'name' | 'course_id' | 'status' | 'start_date'> & Pick<CourseRow, 'code' | 'title'>;

/**
 * The stages whose next boundary is `at` (a pending stage starting then, an
 * active one ending then), with their course; at most `limit`, and how many
 * more there are beyond them (0 or more). At the earliest boundary of all
 * (what the leader is armed for) these are all the stages that cross it.
 */
export async function stagesAtBoundary(db: Knex, at: number, limit = 5): Promise<{ stages: StageAtBoundary[]; more: number }> {
  const rows = await db('stages as s')
    .join('courses as c', 'c.id', 's.course_id')
    .where('s.next_boundary', at)
    .orderBy('s.id')
    .limit(limit + 1)
    .select<BoundaryStageRow[]>('s.id', 's.name', 's.course_id', 's.status', 's.start_date', 'c.code', 'c.title');
  const stages = rows.slice(0, limit).map((r) => ({
    stageId: Number(r.id),
    stageName: r.name,
    courseId: Number(r.course_id),
    courseCode: r.code,
    courseTitle: r.title,
    crossing: r.status === 'pending' && numberFromDb(r.start_date) === at ? ('opens' as const) : ('closes' as const),
  }));
  if (rows.length <= limit) return { stages, more: 0 };
  // Only when the first page is full: how many share the boundary in all.
  const counted = await db('stages').where('next_boundary', at).count({ n: '*' }).first();
  return { stages, more: Number(counted?.n ?? 0) - limit };
}
