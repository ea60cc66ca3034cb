// A stage's status history: every transition, who or what caused it.
import type { Knex } from 'knex';
import { numberFromDb } from '../db/rows.js';
import type { StageTransitionRow } from '../db/tables.js';
import { toIso } from '../time.js';
import { getVisibleStage } from './stages.js';
import type { StageStatus } from './stage-status.js';
import type { Actor } from './users.js';
import { pageOf, type Page, type PageRequest } from './paging.js';

export interface Transition {
  from: StageStatus;
  to: StageStatus;
  at: number;
  cause: string;
  /** The override whose boundary this was (its students' window); null for the stage's own. */
  overrideId: number | null;
  /** Recorded with an override's transition; a stage's own is worked out from its dates. */
  lagMs: number | null;
}

export function transitionJson({ from, to, at, cause, overrideId }: Transition) {
  return { from, to, at: toIso(at), cause, overrideId };
}

/** The stage's status history, oldest first (`after`: the last transition id of the previous page). */
export async function listTransitions(db: Knex, actor: Actor, stageId: number, { limit, after }: PageRequest<number>): Promise<Page<Transition & { id: number }, number>> {
  await getVisibleStage(db, actor, stageId);
  const query = db<StageTransitionRow>('stage_transitions').where({ stage_id: stageId }).orderBy('id').limit(limit + 1);
  if (after !== undefined) query.andWhere('id', '>', after);
  const rows = (await query).map((r) => ({ id: numberFromDb(r.id), from: r.from_status as StageStatus, to: r.to_status as StageStatus, at: numberFromDb(r.at), cause: String(r.cause), overrideId: r.override_id == null ? null : Number(r.override_id), lagMs: r.lag_ms == null ? null : numberFromDb(r.lag_ms) }));
  return pageOf(rows, limit, (t) => t.id);
}
