// The windows a live page shows its reader. A student with an override (their
// own, or their team's) sees their own dates and status, so their page flips
// at their own boundaries, not the class's; everyone else sees the stage's.
// One read per course of its overrides and teams serves all its open pages.
import type { Knex } from 'knex';
import type { StageOverrideRow } from '../db/tables.js';
import { windowOf } from '../domain/effective-window.js';
import type { StageStatus } from '../domain/stage-status.js';
import type { Actor } from '../domain/users.js';
import { toIso } from '../time.js';

export interface LiveStage {
  id: number;
  status: string;
  startDate: string;
  endDate: string;
  /** Work is taken late until then; absent or null: none. */
  cutoffDate?: string | null;
}

/**
 * The course's overrides and teams: a student's page shows their own window
 * (their override, else their team's), so it flips at their own boundaries.
 */
export interface CourseOverrides {
  overrides: StageOverrideRow[];
  teamOf: Map<number, number>;
}

/** The stages as `actor` sees them: a student's own windows where they have overrides. */
export function stagesFor(actor: Actor, stages: LiveStage[], course: CourseOverrides | null): LiveStage[] {
  if (!course || actor.role !== 'student' || course.overrides.length === 0) return stages;
  const team = course.teamOf.get(actor.id);
  return stages.map((stage) => {
    const mine = course.overrides.filter((o) => Number(o.stage_id) === stage.id);
    const override = mine.find((o) => o.user_id !== null && Number(o.user_id) === actor.id) ?? mine.find((o) => o.team_id !== null && team !== undefined && Number(o.team_id) === team);
    if (!override) return stage;
    const cutoff = stage.cutoffDate ? Date.parse(stage.cutoffDate) : null;
    const w = windowOf({ startDate: Date.parse(stage.startDate), endDate: Date.parse(stage.endDate), cutoffDate: cutoff, status: stage.status as StageStatus }, override);
    return { id: stage.id, status: w.status, startDate: toIso(w.startDate), endDate: toIso(w.endDate), cutoffDate: w.cutoffDate === null ? null : toIso(w.cutoffDate) };
  });
}


/** The course's overrides and who is in which team; null when none of `viewers` is a student (they see the stage's windows). */
export async function courseOverrides(db: Knex, courseId: number, viewers: Iterable<Actor>): Promise<CourseOverrides | null> {
  if (![...viewers].some((actor) => actor.role === 'student')) return null;
  const overrides = await db('stage_overrides as o').join('stages as s', 's.id', 'o.stage_id').where('s.course_id', courseId).orderBy('o.id').select<StageOverrideRow[]>('o.*');
  if (overrides.length === 0) return { overrides, teamOf: new Map() };
  const members = await db('team_members').where({ course_id: courseId }).select<{ user_id: number; team_id: number }[]>('user_id', 'team_id');
  return { overrides, teamOf: new Map(members.map((m) => [Number(m.user_id), Number(m.team_id)])) };
}
