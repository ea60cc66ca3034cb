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
}

export function transitionJson({ from, to, at, cause }: Transition) {
  return { from, to, at: toIso(at), cause };
}

/** The stage's status history, oldest first (`after`: the last transition id of the previous page). */
export async function listTransitions(db: Knex, actor: Actor, stageId: number, { limit, after }: PageRequest<number>): Promise<Page<Transition & { id: number }, number>> {
  await getVisibleStage(db, actor, stageId);
  const query = db<StageTransitionRow>('stage_transitions').where({ stage_id: stageId }).orderBy('id').limit(limit + 1);
  if (after !== undefined) query.andWhere('id', '>', after);
  const rows = (await query).map((r) => ({ id: numberFromDb(r.id), from: r.from_status as StageStatus, to: r.to_status as StageStatus, at: numberFromDb(r.at), cause: String(r.cause) }));
  return pageOf(rows, limit, (t) => t.id);
}
