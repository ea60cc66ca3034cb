// The rows of each table as the database hands them back, declared once and
// named where a query reads them (`db<StageRow>('stages')`), so rows are typed
// instead of `any`. They follow the migrations in migrations/*.ts; change both
// together.
//
// Not (yet) knex's global `declare module 'knex/types/tables'` augmentation:
// that would also type every query in test/ and bench/, and `.first()` there
// would become `Row | undefined` where the tests read it unchecked. Once those
// are ready, a `Tables` interface mapping names to these rows can switch it on.
//
// Instants are BIGINT epoch ms: better-sqlite3 returns a number, mysql2 a
// number or (beyond 2^53, with supportBigNumbers) a string, so they are read
// through numberFromDb()/numberFromDbOrNull() from rows.ts. BIGINT ids (bigIncrements) likewise.
// Status and role columns are plain strings here: the types that narrow them
// live in the layers above, which cast at their boundary converters.

/** A BIGINT column: epoch ms or a bigIncrements id. */
export type BigIntColumn = number | string;

export interface UserRow {
  id: number;
  email: string;
  name: string;
  password_hash: string;
  role: string;
  language: string | null;
  created_at: BigIntColumn;
}

export interface ApiTokenRow {
  id: number;
  user_id: number;
  token_hash: string;
  label: string;
  created_at: BigIntColumn;
  last_used_at: BigIntColumn | null;
  expires_at: BigIntColumn | null;
}

export interface CourseRow {
  id: number;
  title: string;
  code: string;
  timezone: string;
  teacher_id: number;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
  /** A JSON array of ISO-8601 durations new stages start with; null: none. */
  default_reminders?: string | null;
}

export interface CourseMemberRow {
  course_id: number;
  user_id: number;
  created_at: BigIntColumn;
}

export interface StageRow {
  id: number;
  course_id: number;
  name: string;
  description: string;
  start_date: BigIntColumn;
  end_date: BigIntColumn;
  status: string;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
  /** 'individual' or 'team'. */
  mode: string;
  /** Null: UPLOAD_MAX_BYTES. */
  max_file_bytes: BigIntColumn | null;
  /** A JSON array of lower-case extensions (".pdf"); null or [] takes any. */
  allowed_extensions: string | null;
  /** Generated, never written: the start of a pending stage, the end of an active one, NULL once completed. */
  next_boundary?: BigIntColumn | null;
  /** Null: no late window; else work is taken (marked late) until then. */
  cutoff_date?: BigIntColumn | null;
  /** A JSON array of ISO-8601 durations before the (effective) end; null: none. */
  reminders?: string | null;
}

export interface StageOverrideRow {
  id: number;
  stage_id: number;
  team_id: number | null;
  user_id: number | null;
  /** Null: the stage's. */
  start_date: BigIntColumn | null;
  end_date: BigIntColumn;
  /** Null: the stage's. */
  cutoff_date: BigIntColumn | null;
  reason: string;
  created_by: number | null;
  /** The override's own status, moved by the leader at its boundaries. */
  status: string;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
  next_boundary?: BigIntColumn | null;
}

export interface StageTransitionRow {
  id: BigIntColumn;
  stage_id: number;
  from_status: string;
  to_status: string;
  at: BigIntColumn;
  cause: string;
  /** The leader's term for transitions the scheduler made; null for edits. */
  term: BigIntColumn | null;
  /** The override whose boundary this records; null for the stage's own. */
  override_id?: number | null;
  /** Written with an override's transition: how late after its boundary. */
  lag_ms?: BigIntColumn | null;
}

export interface SubmissionRow {
  id: number;
  stage_id: number;
  student_id: number;
  body: string | null;
  link: string | null;
  created_at: BigIntColumn;
  /** The team it belongs to in a team stage; null in an individual one. */
  team_id: number | null;
  /** 1, 2, ... per owner. */
  version: number;
  /** "user:<id>" or "team:<id>": whose versions these are. */
  owner: string;
  /** 1: handed in after the (effective) end, before the cut-off. */
  late?: number | boolean;
}

export interface SubmissionFileRow {
  id: number;
  submission_id: number;
  name: string;
  size: BigIntColumn;
  sha256: string;
  content_type: string;
  /** Relative to UPLOAD_DIR. */
  storage_key: string;
}

export interface TeamRow {
  id: number;
  course_id: number;
  name: string;
  created_at: BigIntColumn;
  updated_at: BigIntColumn;
}

export interface TeamMemberRow {
  team_id: number;
  course_id: number;
  user_id: number;
  created_at: BigIntColumn;
}

/** Owned by connect-session-knex; created by the first migration. */
export interface SessionRow {
  sid: string;
  sess: string;
  expired: Date | string | number;
}

export interface SchedulerJobRow {
  id: string;
  name: string;
  trigger: string;
  next_run_at: BigIntColumn | null;
  last_run_at: BigIntColumn | null;
  last_status: string | null;
  /** A boolean column: SQLite and MySQL store it as 0/1. */
  paused: boolean | number;
  updated_at: BigIntColumn;
  term: BigIntColumn | null;
  /** The instant the leader's due-time trigger is armed for; null when none. */
  next_due_at: BigIntColumn | null;
}

export interface JobExecutionRow {
  id: BigIntColumn;
  job_id: string;
  scheduled_for: BigIntColumn;
  claim_key: string | null;
  status: string;
  started_at: BigIntColumn | null;
  finished_at: BigIntColumn | null;
  duration_ms: number | null;
  error: string | null;
  error_stack: string | null;
  pid: number | null;
  hostname: string | null;
  created_at: BigIntColumn;
  /** The term of the leader that wrote it; null for a local CLI run. */
  term: BigIntColumn | null;
}

export interface JobRunRequestRow {
  id: BigIntColumn;
  job_id: string;
  requested_by: string;
  requested_at: BigIntColumn;
  claimed_at: BigIntColumn | null;
  execution_id: BigIntColumn | null;
  error_code: string | null;
  error: string | null;
  term: BigIntColumn | null;
}

export interface SchedulerLeaseRow {
  name: string;
  term: BigIntColumn;
  pid: number;
  hostname: string;
  worker_id: number | null;
  acquired_at: BigIntColumn;
  expires_at: BigIntColumn;
}

export interface SchedulerTermRow {
  name: string;
  term: BigIntColumn;
}

export interface LeaderTermRow {
  term: BigIntColumn;
  pid: number;
  hostname: string;
  worker_id: number | null;
  election: string;
  started_at: BigIntColumn;
  ended_at: BigIntColumn | null;
  end_reason: string | null;
  gap_ms: BigIntColumn | null;
}
