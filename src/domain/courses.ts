// Courses and who may see or manage them. Teachers manage their own courses,
// students see the courses they belong to, admins see and manage everything.
import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { isUniqueViolation } from '../db/errors.js';
import { lockRows } from '../db/locks.js';
import { readRows } from '../db/read-cache.js';
import type { CourseRow, UserRow } from '../db/tables.js';
import type { Actor } from './users.js';
import { announceStagesChanged } from './stage-events.js';
import { pageOf, type Page, type PageRequest } from './paging.js';

export interface Course {
  id: number;
  title: string;
  code: string;
  timezone: string;
  teacherId: number;
}

export interface CourseInput {
  title: string;
  code: string;
  timezone?: string;
  teacherId?: number;
}

export function toCourse(row: Pick<CourseRow, 'id' | 'title' | 'code' | 'timezone' | 'teacher_id'>): Course {
  return {
    id: Number(row.id),
    title: String(row.title),
    code: String(row.code),
    timezone: String(row.timezone),
    teacherId: Number(row.teacher_id),
  };
}

function translateWriteError(err: unknown, code: string | undefined): never {
  if (isUniqueViolation(err)) throw new ConflictError(`A course with code ${code} already exists`, [{ field: 'code', message: 'is taken' }]);
  throw err;
}

export const MANAGERS_ONLY = 'Only the course teacher or an admin may change this course';

export function canManage(actor: Actor, course: Course): boolean {
  return actor.role === 'admin' || (actor.role === 'teacher' && course.teacherId === actor.id);
}

/**
 * Who may see a course, as SQL over the course aliased `c`, for reads that
 * decide visibility and fetch in one query: admins see every course, a
 * teacher the courses they teach or belong to, a student the ones they
 * belong to.
 */
export function visibleToSql(actor: Actor): { sql: string; params: number[] } {
  const member = 'EXISTS (SELECT 1 FROM course_members m WHERE m.course_id = c.id AND m.user_id = ?)';
  if (actor.role === 'admin') return { sql: '1 = 1', params: [] };
  if (actor.role === 'teacher') return { sql: `(c.teacher_id = ? OR ${member})`, params: [actor.id, actor.id] };
  return { sql: member, params: [actor.id] };
}

/** The course if the actor may see it, in one read. Unknown and invisible look alike: 404. */
export async function getVisibleCourse(db: Knex, actor: Actor, id: number): Promise<Course> {
  const visible = visibleToSql(actor);
  const [row] = await readRows<CourseRow>(db, `SELECT c.id, c.title, c.code, c.timezone, c.teacher_id FROM courses c WHERE c.id = ? AND ${visible.sql}`, [id, ...visible.params]);
  if (!row) throw new NotFoundError('Course');
  return toCourse(row);
}

/** The course if the actor may change it: 404 if invisible, 403 if only visible. */
export async function getManagedCourse(db: Knex, actor: Actor, id: number): Promise<Course> {
  const course = await getVisibleCourse(db, actor, id);
  if (!canManage(actor, course)) throw new ForbiddenError(MANAGERS_ONLY);
  return course;
}

export async function listVisibleCourses(
  db: Knex,
  actor: Actor,
  { limit, after }: { limit: number; after?: number },
): Promise<{ items: Course[]; nextCursor: number | null }> {
  const query = db<CourseRow>('courses').select('courses.*').orderBy('courses.id').limit(limit + 1);
  if (after) query.where('courses.id', '>', after);
  if (actor.role === 'teacher') {
    query.where((q) => {
      q.where('courses.teacher_id', actor.id).orWhereIn('courses.id', db('course_members').select('course_id').where('user_id', actor.id));
    });
  } else if (actor.role === 'student') {
    query.whereIn('courses.id', db('course_members').select('course_id').where('user_id', actor.id));
  }
  const rows = await query;
  const items = rows.slice(0, limit).map(toCourse);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1].id : null };
}

/** Who may create courses at all; checked before the request body is read. */
export function assertMayCreateCourse(actor: Actor): void {
  if (actor.role === 'student') throw new ForbiddenError('Only teachers and admins create courses');
}

export async function createCourse(db: Knex, actor: Actor, input: CourseInput, now = Date.now()): Promise<Course> {
  assertMayCreateCourse(actor);
  let teacherId = actor.id;
  if (input.teacherId !== undefined && input.teacherId !== actor.id) {
    if (actor.role !== 'admin') throw new ForbiddenError('Only an admin may create a course for another teacher');
    teacherId = await requireTeacher(db, input.teacherId);
  }
  const row = { title: input.title, code: input.code, timezone: input.timezone ?? 'UTC', teacher_id: teacherId, created_at: now, updated_at: now };
  try {
    const [id] = await db('courses').insert(row);
    return toCourse({ id, ...row });
  } catch (err) {
    translateWriteError(err, input.code);
  }
}

async function requireTeacher(db: Knex, userId: number): Promise<number> {
  const user = await db<UserRow>('users').where({ id: userId }).first('role');
  if (!user || (user.role !== 'teacher' && user.role !== 'admin')) {
    throw ValidationError.field('teacherId', 'must be the id of a teacher or admin');
  }
  return userId;
}

export async function updateCourse(db: Knex, actor: Actor, id: number, input: Partial<CourseInput>, now = Date.now()): Promise<Course> {
  const course = await getManagedCourse(db, actor, id);
  const changes: Record<string, unknown> = { updated_at: now };
  if (input.title !== undefined) changes.title = input.title;
  if (input.code !== undefined) changes.code = input.code;
  if (input.timezone !== undefined) changes.timezone = input.timezone;
  if (input.teacherId !== undefined && input.teacherId !== course.teacherId) {
    if (actor.role !== 'admin') throw new ForbiddenError('Only an admin may move a course to another teacher');
    changes.teacher_id = await requireTeacher(db, input.teacherId);
  }
  try {
    await db('courses').where({ id }).update(changes);
  } catch (err) {
    translateWriteError(err, input.code);
  }
  return getVisibleCourse(db, actor, id);
}

/** Submissions handed in for the course's stages. */
export async function countCourseSubmissions(db: Knex, courseId: number): Promise<number> {
  const row = await db('submissions')
    .join('stages', 'stages.id', 'submissions.stage_id')
    .where('stages.course_id', courseId)
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

/**
 * Deletes the course with its stages. Students' work is never deleted as a side
 * effect: while the course has submissions this is a 409, unless an admin
 * passes `force`. The course's memberships are locked first, as a submission
 * locks its author's (createSubmission), so no work can be handed in between
 * the count and the delete.
 */
export async function deleteCourse(db: Knex, actor: Actor, id: number, { force = false }: { force?: boolean } = {}): Promise<void> {
  await getManagedCourse(db, actor, id);
  if (force && actor.role !== 'admin') throw new ForbiddenError('Only an admin may delete a course together with its submissions');
  await db.transaction(async (trx) => {
    if (!(await lockRows(trx, 'courses', { id }, 'updated_at'))) throw new NotFoundError('Course');
    await lockRows(trx, 'course_members', { course_id: id }, 'created_at');
    const submissions = await countCourseSubmissions(trx, id);
    if (submissions > 0 && !force) {
      throw new ConflictError(
        `Course has ${submissions} submission${submissions === 1 ? '' : 's'} from its students; it is not deleted. ` +
          'An admin may delete it with its submissions (?force=true).',
        { submissions },
      );
    }
    await trx('courses').where({ id }).delete();
  });
  // Its stages went with it (cascade): the leader may be armed for one of them.
  announceStagesChanged();
}

/** What a course's teacher sees of a member: never the role, a hash or anything else. */
export interface Member {
  id: number;
  name: string;
  email: string;
}

type MemberRow = Pick<UserRow, 'id' | 'email' | 'name'>;

function toMember(row: MemberRow): Member {
  return { id: Number(row.id), name: String(row.name), email: String(row.email) };
}

/** The course's members by user id, a page at a time (`after`: the last id of the previous page). */
export async function listMembers(db: Knex, actor: Actor, courseId: number, { limit, after }: PageRequest<number>): Promise<Page<Member, number>> {
  await getManagedCourse(db, actor, courseId);
  const query = db('course_members')
    .join('users', 'users.id', 'course_members.user_id')
    .where('course_members.course_id', courseId)
    .orderBy('users.id')
    .limit(limit + 1)
    .select<MemberRow[]>('users.id', 'users.email', 'users.name');
  if (after !== undefined) query.andWhere('users.id', '>', after);
  return pageOf((await query).map(toMember), limit, (member) => member.id);
}

/** The emails of those of `userIds` who are members, for a page that names them. */
export async function memberEmails(db: Knex, actor: Actor, courseId: number, userIds: number[]): Promise<Map<number, string>> {
  await getManagedCourse(db, actor, courseId);
  if (userIds.length === 0) return new Map();
  const rows = await db('course_members')
    .join('users', 'users.id', 'course_members.user_id')
    .where('course_members.course_id', courseId)
    .whereIn('users.id', [...new Set(userIds)])
    .select<MemberRow[]>('users.id', 'users.email', 'users.name');
  return new Map(rows.map((row) => [Number(row.id), String(row.email)]));
}

/** Why an email cannot be added, the same whoever has it (nobody, a teacher, an admin): the form tells no one who is signed up. */
export const NOT_ADDABLE = 'must belong to a student who has signed up: only students are members of a course';

async function enrol(db: Knex, courseId: number, user: (MemberRow & Pick<UserRow, 'role'>) | undefined, field: string, now: number): Promise<Member> {
  if (!user || user.role !== 'student') throw ValidationError.field(field, NOT_ADDABLE);
  try {
    await db('course_members').insert({ course_id: courseId, user_id: user.id, created_at: now });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err; // already a member: adding again is a no-op
  }
  return toMember(user);
}

/** Adds a student by email (the API and the course page). Permission first, so only managers learn who is signed up. */
export async function addMemberByEmail(db: Knex, actor: Actor, courseId: number, email: string, now = Date.now()): Promise<Member> {
  await getManagedCourse(db, actor, courseId);
  const user = await db<UserRow>('users').where({ email: email.trim().toLowerCase() }).first('id', 'email', 'name', 'role');
  return enrol(db, courseId, user, 'email', now);
}

/** Adds a student by user id (the demo seed). */
export async function addMember(db: Knex, actor: Actor, courseId: number, userId: number, now = Date.now()): Promise<Member> {
  await getManagedCourse(db, actor, courseId);
  const user = await db<UserRow>('users').where({ id: userId }).first('id', 'email', 'name', 'role');
  return enrol(db, courseId, user, 'userId', now);
}

export async function removeMember(db: Knex, actor: Actor, courseId: number, userId: number): Promise<void> {
  await getManagedCourse(db, actor, courseId);
  const removed = await db('course_members').where({ course_id: courseId, user_id: userId }).delete();
  if (!removed) throw new NotFoundError('Member');
  announceStagesChanged('members'); // their open live pages end, on every worker
}
