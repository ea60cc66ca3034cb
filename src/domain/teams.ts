// Teams of a course. The course's teacher and admins make and change them; a
// student sees the team they are in. Members are students of the course,
// each in at most one team of it: the database holds that too (unique
// course and user in team_members), so two managers moving the same student
// at once cannot both win. A team with submissions is not deleted, as a
// stage is not: students' work is never removed as a side effect.
import type { Knex } from 'knex';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { isUniqueViolation } from '../db/errors.js';
import type { TeamRow } from '../db/tables.js';
import { canManage, getManagedCourse, getVisibleCourse, MANAGERS_ONLY, type Course } from './courses.js';
import type { Actor } from './users.js';

export interface Team {
  id: number;
  courseId: number;
  name: string;
  memberIds: number[];
}

export interface TeamInput {
  name: string;
  memberIds?: number[];
}

type TeamHead = Pick<TeamRow, 'id' | 'course_id' | 'name'>;

async function withMembers(db: Knex, rows: TeamHead[]): Promise<Team[]> {
  const ids = rows.map((r) => Number(r.id));
  const members = ids.length ? await db('team_members').whereIn('team_id', ids).orderBy('user_id').select<{ team_id: number; user_id: number }[]>('team_id', 'user_id') : [];
  return rows.map((r) => ({
    id: Number(r.id),
    courseId: Number(r.course_id),
    name: String(r.name),
    memberIds: members.filter((m) => Number(m.team_id) === Number(r.id)).map((m) => Number(m.user_id)),
  }));
}

/** The team a student is in within a course, or null. */
export async function teamOfStudent(db: Knex, courseId: number, userId: number): Promise<TeamHead | null> {
  const row = await db('team_members as m').join('teams as t', 't.id', 'm.team_id').where({ 'm.course_id': courseId, 'm.user_id': userId }).first<TeamHead | undefined>('t.id', 't.course_id', 't.name');
  return row ?? null;
}

/** Managers see every team of the course, by name; a student the one they are in, if any. */
export async function listTeams(db: Knex, actor: Actor, courseId: number): Promise<Team[]> {
  const course = await getVisibleCourse(db, actor, courseId);
  if (canManage(actor, course)) return withMembers(db, await db<TeamRow>('teams').where({ course_id: courseId }).orderBy(['name', 'id']).select('id', 'course_id', 'name'));
  const own = await teamOfStudent(db, courseId, actor.id);
  return own ? withMembers(db, [own]) : [];
}

/** The team and its course if the actor may see it (a manager, a member), else 404. */
export async function getVisibleTeam(db: Knex, actor: Actor, id: number): Promise<{ team: Team; course: Course }> {
  const row = await db<TeamRow>('teams').where({ id }).first('id', 'course_id', 'name');
  if (!row) throw new NotFoundError('Team');
  const course = await getVisibleCourse(db, actor, Number(row.course_id)).catch(() => {
    throw new NotFoundError('Team');
  });
  const [team] = await withMembers(db, [row]);
  if (!canManage(actor, course) && !team.memberIds.includes(actor.id)) throw new NotFoundError('Team');
  return { team, course };
}

/** The team if the actor may change it: 404 if invisible, 403 if only visible (a member). */
export async function getManagedTeam(db: Knex, actor: Actor, id: number): Promise<{ team: Team; course: Course }> {
  const found = await getVisibleTeam(db, actor, id);
  if (!canManage(actor, found.course)) throw new ForbiddenError(MANAGERS_ONLY);
  return found;
}

/** 400 naming memberIds unless every id is a student of the course; 409 if one is in another team. */
async function checkMembers(trx: Knex.Transaction, courseId: number, teamId: number, memberIds: number[]): Promise<void> {
  if (memberIds.length === 0) return;
  const enrolled = (await trx('course_members').where({ course_id: courseId }).whereIn('user_id', memberIds).pluck('user_id')).map(Number);
  const strangers = memberIds.filter((id) => !enrolled.includes(id));
  if (strangers.length) throw ValidationError.field('memberIds', `must be students of the course (not: ${strangers.join(', ')})`);
  const elsewhere = await trx('team_members as m')
    .join('teams as t', 't.id', 'm.team_id')
    .where('m.course_id', courseId)
    .whereIn('m.user_id', memberIds)
    .whereNot('m.team_id', teamId)
    .select<{ user_id: number; name: string }[]>('m.user_id', 't.name');
  if (elsewhere.length) throw inAnotherTeam(elsewhere.map((e) => `${e.user_id} (in "${e.name}")`).join(', '));
}

const inAnotherTeam = (who: string) => new ConflictError(`A student is in at most one team of a course: ${who}`, [{ field: 'memberIds', message: `already in another team: ${who}` }]);
const nameTaken = (name: string) => new ConflictError(`The course has a team named "${name}" already`, [{ field: 'name', message: 'is taken' }]);

async function replaceMembers(trx: Knex.Transaction, courseId: number, teamId: number, memberIds: number[], now: number): Promise<void> {
  const ids = [...new Set(memberIds)];
  await checkMembers(trx, courseId, teamId, ids);
  await trx('team_members').where({ team_id: teamId }).delete();
  if (ids.length === 0) return;
  try {
    await trx('team_members').insert(ids.map((user_id) => ({ team_id: teamId, course_id: courseId, user_id, created_at: now })));
  } catch (err) {
    // Another manager put one of them in a team meanwhile.
    if (isUniqueViolation(err)) throw inAnotherTeam(ids.join(', '));
    throw err;
  }
}

export async function createTeam(db: Knex, actor: Actor, courseId: number, input: TeamInput, now = Date.now()): Promise<Team> {
  await getManagedCourse(db, actor, courseId);
  const id = await db.transaction(async (trx) => {
    // The insert first: on SQLite it takes the write lock before anything is read.
    let teamId: number;
    try {
      [teamId] = await trx('teams').insert({ course_id: courseId, name: input.name, created_at: now, updated_at: now });
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name);
      throw err;
    }
    await replaceMembers(trx, courseId, Number(teamId), input.memberIds ?? [], now);
    return Number(teamId);
  });
  return (await getVisibleTeam(db, actor, id)).team;
}

export async function updateTeam(db: Knex, actor: Actor, id: number, input: Partial<TeamInput>, now = Date.now()): Promise<Team> {
  const { course } = await getManagedTeam(db, actor, id);
  await db.transaction(async (trx) => {
    const changes: Record<string, unknown> = { updated_at: now };
    if (input.name !== undefined) changes.name = input.name;
    try {
      if (!(await trx('teams').where({ id }).update(changes))) throw new NotFoundError('Team');
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name ?? '');
      throw err;
    }
    if (input.memberIds !== undefined) await replaceMembers(trx, course.id, id, input.memberIds, now);
  });
  return (await getVisibleTeam(db, actor, id)).team;
}

export async function deleteTeam(db: Knex, actor: Actor, id: number): Promise<void> {
  await getManagedTeam(db, actor, id);
  await db.transaction(async (trx) => {
    if (!(await trx('teams').where({ id }).update({ updated_at: trx.ref('updated_at') }))) throw new NotFoundError('Team');
    const row = await trx('submissions').where({ team_id: id }).count({ n: '*' }).first();
    const submissions = Number(row?.n ?? 0);
    if (submissions > 0) {
      throw new ConflictError(`Team has ${submissions} submission${submissions === 1 ? '' : 's'}; it is not deleted`, { submissions });
    }
    await trx('teams').where({ id }).delete();
  });
}

/** Moves a student of the course into a team, or out of every team (null): the course page's one-step move. */
export async function assignStudent(db: Knex, actor: Actor, courseId: number, userId: number, teamId: number | null, now = Date.now()): Promise<void> {
  await getManagedCourse(db, actor, courseId);
  await db.transaction(async (trx) => {
    await trx('team_members').where({ course_id: courseId, user_id: userId }).delete();
    if (teamId === null) return;
    if (!(await trx('teams').where({ id: teamId, course_id: courseId }).update({ updated_at: now }))) throw ValidationError.field('teamId', 'is not a team of this course');
    await checkMembers(trx, courseId, teamId, [userId]);
    await trx('team_members').insert({ team_id: teamId, course_id: courseId, user_id: userId, created_at: now });
  });
}
