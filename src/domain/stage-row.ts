// A stage as the domain sees it, and its row: the mapping in both directions
// and the rules every window obeys (end after start, cut-off not before end).
import { ValidationError } from '../errors.js';
import { numberFromDb } from '../db/rows.js';
import type { StageRow } from '../db/tables.js';
import { toIso } from '../time.js';
import type { StageStatus } from './stage-status.js';
import { parseReminders } from './reminder-offsets.js';
import { effectiveMaxFileBytes, parseExtensions, type FilePolicy, type StageMode } from './file-policy.js';

export interface Stage {
  id: number;
  courseId: number;
  name: string;
  description: string;
  startDate: number;
  endDate: number;
  /** Null: nothing is taken after endDate; else work is taken, marked late, until then. */
  cutoffDate: number | null;
  status: StageStatus;
  mode: StageMode;
  /** Null: UPLOAD_MAX_BYTES. */
  maxFileBytes: number | null;
  allowedExtensions: string[];
  /** ISO-8601 durations before each student's effective end, longest first (reminder-offsets.ts). */
  reminders: string[];
}

export interface StageInput {
  name: string;
  description?: string;
  startDate: number;
  endDate: number;
  cutoffDate?: number | null;
  mode?: StageMode;
  maxFileBytes?: number | null;
  allowedExtensions?: string[];
  /** Not given on create: the course's default reminders. */
  reminders?: string[];
}

const isoOrNull = (ms: number | null) => (ms === null ? null : toIso(ms));

/** `uploadMaxBytes` (UPLOAD_MAX_BYTES) is what a stage without a limit of its own takes. */
export function stageJson(stage: Stage, uploadMaxBytes: number) {
  return {
    ...stage,
    startDate: toIso(stage.startDate),
    endDate: toIso(stage.endDate),
    cutoffDate: isoOrNull(stage.cutoffDate),
    maxFileBytes: effectiveMaxFileBytes(stage, uploadMaxBytes),
  };
}

/** The stage's columns for its late window, file policy, mode and reminders. */
export function policyColumns(stage: Pick<Stage, 'mode' | 'cutoffDate' | 'reminders'> & FilePolicy) {
  return {
    cutoff_date: stage.cutoffDate,
    mode: stage.mode,
    max_file_bytes: stage.maxFileBytes,
    allowed_extensions: JSON.stringify(stage.allowedExtensions),
    reminders: JSON.stringify(stage.reminders),
  };
}

export const nullableMs = (value: unknown): number | null => (value === null || value === undefined ? null : numberFromDb(value));

export function toStage(row: StageRow): Stage {
  return {
    id: Number(row.id),
    courseId: Number(row.course_id),
    name: String(row.name),
    description: String(row.description ?? ''),
    startDate: numberFromDb(row.start_date),
    endDate: numberFromDb(row.end_date),
    cutoffDate: nullableMs(row.cutoff_date),
    status: row.status as StageStatus,
    mode: row.mode === 'team' ? 'team' : 'individual',
    maxFileBytes: nullableMs(row.max_file_bytes),
    allowedExtensions: parseExtensions(row.allowed_extensions),
    reminders: parseReminders(row.reminders),
  };
}

export const END_NOT_AFTER_START = 'end_not_after_start';

/** End after start; a cut-off, if any, at or after the end. */
export function checkWindow(startDate: number, endDate: number, cutoffDate: number | null = null): void {
  if (endDate <= startDate) throw ValidationError.field('endDate', 'must be after startDate', END_NOT_AFTER_START);
  if (cutoffDate !== null && cutoffDate < endDate) throw ValidationError.field('cutoffDate', 'must be at or after endDate');
}

export const STAGE_COLUMNS =
  's.id, s.course_id, s.name, s.description, s.start_date, s.end_date, s.cutoff_date, s.status, s.mode, s.max_file_bytes, s.allowed_extensions, s.reminders';
