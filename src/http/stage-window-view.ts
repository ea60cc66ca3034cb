// The window a stage page shows its reader: a student's own (their extension,
// their team's) or the stage's, judged like createSubmission judges a hand-in:
// by the dates against the database clock, not the status column, which
// follows a moment later.
import type { Knex } from 'knex';
import type { Stage } from '../domain/stage-row.js';
import { effectiveWindow, openness, windowOf } from '../domain/effective-window.js';
import { toIso } from '../time.js';
import { formatLocal } from './local-time.js';

const OPENNESS_STATUS = { pending: 'pending', open: 'active', late: 'active', closed: 'completed' } as const;

export async function stageWindowView(db: Knex, stage: Stage, zone: string, reader: { studentId: number | null; now: number }) {
  const window = reader.studentId === null ? windowOf(stage, null) : await effectiveWindow(db, stage, reader.studentId);
  const state = openness(window, reader.now);
  return {
    openness: OPENNESS_STATUS[state],
    /** Work handed in now is taken and marked late. */
    late: state === 'late',
    cutoff: window.cutoffDate === null ? null : formatLocal(window.cutoffDate, zone),
    extension: window.source === 'stage' ? null : window.source,
    shownStatus: window.status,
    start: formatLocal(window.startDate, zone),
    end: formatLocal(window.endDate, zone),
    startIso: toIso(window.startDate),
    endIso: toIso(window.endDate),
    cutoffIso: window.cutoffDate === null ? '' : toIso(window.cutoffDate),
  };
}
