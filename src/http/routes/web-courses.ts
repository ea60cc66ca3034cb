// Pages: the course list, a course with its stage timeline and its members,
// and deleting a course.
import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import {
  addMemberByEmail,
  assertMayCreateCourse,
  canManage,
  countCourseSubmissions,
  createCourse,
  deleteCourse,
  getManagedCourse,
  getVisibleCourse,
  listMembers,
  listVisibleCourses,
  removeMember,
} from '../../domain/courses.js';
import { listStages } from '../../domain/stages.js';
import { effectiveWindows, windowOf } from '../../domain/effective-window.js';
import { listTeams } from '../../domain/teams.js';
import type { Actor } from '../../domain/users.js';
import { dbNowMs } from '../../db/clock.js';
import { ConflictError, ValidationError } from '../../errors.js';
import { toIso } from '../../time.js';
import { courseSchema } from '../schemas.js';
import { parseId, parseInput } from '../../validation.js';
import { flash, formValues, renderFormError, withoutBlanks } from '../forms.js';
import { formatLocal } from '../local-time.js';
import { requestLanguage, say } from '../../i18n/request-language.js';
import { translateMessage } from '../../i18n/messages.js';

const PAGE_SIZE = 100;
/** Stages on a course's timeline; a course has a handful, so more only get a note. */
const TIMELINE_STAGES = 200;
const COURSE_FIELDS = ['title', 'code', 'timezone'] as const;
// Suggestions only (the zone is validated by luxon); Intl's list leaves out UTC.
const TIMEZONES = ['UTC', ...Intl.supportedValuesOf('timeZone')];

export function webCourseRoutes({ db }: { db: Knex }): Router {
  const router = Router();
  courseListRoutes(router, db);
  courseMemberRoutes(router, db);
  courseDeleteRoutes(router, db);
  return router;
}

async function coursesPage(db: Knex, actor: Actor, after: number | undefined, values: Record<string, string>) {
  const { items, nextCursor } = await listVisibleCourses(db, actor, { limit: PAGE_SIZE, after });
  return { title: say('titles.courses'), courses: items, nextCursor, canCreate: actor.role !== 'student', values, timezones: TIMEZONES, errors: {} };
}

async function coursePage(db: Knex, actor: Actor, courseId: number, values = { email: '' }, membersAfter?: number) {
  const course = await getVisibleCourse(db, actor, courseId);
  const manage = canManage(actor, course);
  const [stagePage, memberPage, now, teams] = await Promise.all([
    listStages(db, actor, courseId, { limit: TIMELINE_STAGES }),
    manage ? listMembers(db, actor, courseId, { limit: PAGE_SIZE, after: membersAfter }) : { items: [], nextCursor: null },
    dbNowMs(db),
    manage ? listTeams(db, actor, courseId) : [],
  ]);
  const stages = stagePage.items;
  // A student's timeline shows their own windows (an extension, their team's).
  const windows = actor.role === 'student' ? await effectiveWindows(db, stages, actor.id) : stages.map((stage) => windowOf(stage, null));
  // Stages come ordered by start; "now" goes before the first one not yet started.
  const timeline: object[] = stages.map((stage, i) => ({
    kind: 'stage',
    stage,
    status: windows[i].status,
    extension: windows[i].source === 'stage' ? null : windows[i].source,
    start: formatLocal(windows[i].startDate, course.timezone),
    end: formatLocal(windows[i].endDate, course.timezone),
    startIso: toIso(windows[i].startDate),
    endIso: toIso(windows[i].endDate),
    cutoff: windows[i].cutoffDate === null ? null : formatLocal(windows[i].cutoffDate, course.timezone),
  }));
  const nowAt = stages.findIndex((stage) => stage.startDate > now);
  timeline.splice(nowAt === -1 ? stages.length : nowAt, 0, { kind: 'now', label: formatLocal(now, course.timezone) });
  return {
    title: course.title,
    course,
    canManage: manage,
    timeline,
    moreStages: stagePage.nextCursor !== null,
    members: memberPage.items,
    // The members list pages by id: "More members" starts after the last one shown.
    membersAfter: membersAfter ?? null,
    nextMembers: memberPage.nextCursor,
    teams,
    teamOf: Object.fromEntries(teams.flatMap((team) => team.memberIds.map((id) => [id, team.id]))),
    emails: Object.fromEntries(memberPage.items.map((m) => [m.id, m.email])),
    values,
    errors: {},
  };
}

/** The course list with its new-course form, and a course's page. */
function courseListRoutes(router: Router, db: Knex): void {
  router.get('/courses', async (req, res) => {
    const after = typeof req.query.after === 'string' ? parseId(req.query.after, 'after') : undefined;
    res.render('courses', await coursesPage(db, actorOf(req), after, { title: '', code: '', timezone: 'UTC' }));
  });

  router.post('/courses', async (req, res) => {
    const actor = actorOf(req);
    assertMayCreateCourse(actor);
    const values = formValues(req.body, COURSE_FIELDS);
    try {
      const course = await createCourse(db, actor, parseInput(courseSchema, withoutBlanks(values)));
      flash(req, say('flash.courseCreated', { code: course.code }));
      res.redirect(303, `/courses/${course.id}`);
    } catch (err) {
      await renderFormError(res, err, 'courses', () => coursesPage(db, actor, undefined, values));
    }
  });

  router.get('/courses/:id', async (req, res) => {
    const membersAfter = typeof req.query.members === 'string' ? parseId(req.query.members, 'members') : undefined;
    res.render('course', await coursePage(db, actorOf(req), parseId(req.params.id), undefined, membersAfter));
  });
}

/** Adding and removing a course's students. */
function courseMemberRoutes(router: Router, db: Knex): void {
  router.post('/courses/:id/members', async (req, res) => {
    const actor = actorOf(req);
    const courseId = parseId(req.params.id);
    const values = formValues(req.body, ['email']);
    // Permission first, so only managers learn whether an email is signed up.
    await getManagedCourse(db, actor, courseId);
    try {
      if (!values.email.trim()) throw ValidationError.field('email', 'is required');
      const member = await addMemberByEmail(db, actor, courseId, values.email);
      flash(req, say('flash.memberAdded', { email: member.email }));
      res.redirect(303, `/courses/${courseId}`);
    } catch (err) {
      await renderFormError(res, err, 'course', () => coursePage(db, actor, courseId, values));
    }
  });

  router.post('/courses/:id/members/:userId/remove', async (req, res) => {
    const courseId = parseId(req.params.id);
    await removeMember(db, actorOf(req), courseId, parseId(req.params.userId, 'userId'));
    flash(req, say('flash.memberRemoved'));
    res.redirect(303, `/courses/${courseId}`);
  });
}

/** Deleting a course, with the submissions it would take along. */
function courseDeleteRoutes(router: Router, db: Knex): void {
  async function deletePage(actor: Actor, courseId: number, refusal: string | null = null) {
    const course = await getManagedCourse(db, actor, courseId);
    const submissions = await countCourseSubmissions(db, courseId);
    return { title: say('titles.deleteCourse', { code: course.code }), course, submissions, isAdmin: actor.role === 'admin', refusal };
  }

  router.get('/courses/:id/delete', async (req, res) => {
    res.render('course-delete', await deletePage(actorOf(req), parseId(req.params.id)));
  });

  router.post('/courses/:id/delete', async (req, res) => {
    const actor = actorOf(req);
    const course = await getManagedCourse(db, actor, parseId(req.params.id));
    // The checkbox an admin ticks to delete students' submissions with the course.
    const force = formValues(req.body, ['force']).force === 'true';
    try {
      await deleteCourse(db, actor, course.id, { force });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      res.status(409).render('course-delete', await deletePage(actor, course.id, translateMessage(err.message, requestLanguage())));
      return;
    }
    flash(req, say('flash.courseDeleted', { code: course.code }));
    res.redirect(303, '/courses');
  });
}
