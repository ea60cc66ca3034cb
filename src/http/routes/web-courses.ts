// Pages: the course list, a course with its stage timeline and its members.
import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { addMember, canManage, createCourse, getManagedCourse, getVisibleCourse, listMembers, listVisibleCourses, removeMember } from '../../domain/courses.js';
import { listStages } from '../../domain/stages.js';
import { findUserByEmail, type Actor } from '../../domain/users.js';
import { dbNowMs } from '../../db/clock.js';
import { ValidationError } from '../../errors.js';
import { toIso } from '../../time.js';
import { courseSchema } from '../schemas.js';
import { parseId, parseInput } from '../../validation.js';
import { flash, formValues, renderFormError, withoutBlanks } from '../forms.js';
import { formatLocal } from '../local-time.js';

const PAGE_SIZE = 100;
const COURSE_FIELDS = ['title', 'code', 'timezone'] as const;
// Suggestions only (the zone is validated by luxon); Intl's list leaves out UTC.
const TIMEZONES = ['UTC', ...Intl.supportedValuesOf('timeZone')];

export function webCourseRoutes({ db }: { db: Knex }): Router {
  const router = Router();

  async function coursesPage(actor: Actor, after: number | undefined, values: Record<string, string>) {
    const { items, nextCursor } = await listVisibleCourses(db, actor, { limit: PAGE_SIZE, after });
    return { title: 'Courses', courses: items, nextCursor, canCreate: actor.role !== 'student', values, timezones: TIMEZONES, errors: {} };
  }

  async function coursePage(actor: Actor, courseId: number, values = { email: '' }) {
    const course = await getVisibleCourse(db, actor, courseId);
    const manage = canManage(actor, course);
    const [stages, members, now] = await Promise.all([listStages(db, actor, courseId), manage ? listMembers(db, actor, courseId) : [], dbNowMs(db)]);
    // Stages come ordered by start; "now" goes before the first one not yet started.
    const timeline: object[] = stages.map((stage) => ({
      kind: 'stage',
      stage,
      start: formatLocal(stage.startDate, course.timezone),
      end: formatLocal(stage.endDate, course.timezone),
      startIso: toIso(stage.startDate),
      endIso: toIso(stage.endDate),
    }));
    const nowAt = stages.findIndex((stage) => stage.startDate > now);
    timeline.splice(nowAt === -1 ? stages.length : nowAt, 0, { kind: 'now', label: formatLocal(now, course.timezone) });
    return { title: course.title, course, canManage: manage, timeline, members, values, errors: {} };
  }

  router.get('/courses', async (req, res) => {
    const after = typeof req.query.after === 'string' ? parseId(req.query.after, 'after') : undefined;
    res.render('courses', await coursesPage(actorOf(req), after, { title: '', code: '', timezone: 'UTC' }));
  });

  router.post('/courses', async (req, res) => {
    const actor = actorOf(req);
    const values = formValues(req.body, COURSE_FIELDS);
    try {
      const course = await createCourse(db, actor, parseInput(courseSchema, withoutBlanks(values)));
      flash(req, `Course ${course.code} created`);
      res.redirect(303, `/courses/${course.id}`);
    } catch (err) {
      await renderFormError(res, err, 'courses', () => coursesPage(actor, undefined, values));
    }
  });

  router.get('/courses/:id', async (req, res) => {
    res.render('course', await coursePage(actorOf(req), parseId(req.params.id)));
  });

  router.post('/courses/:id/members', async (req, res) => {
    const actor = actorOf(req);
    const courseId = parseId(req.params.id);
    const values = formValues(req.body, ['email']);
    // Permission first, so only managers learn whether an email is signed up.
    await getManagedCourse(db, actor, courseId);
    try {
      const user = values.email.trim() && (await findUserByEmail(db, values.email));
      if (!user) throw ValidationError.field('email', values.email.trim() ? 'does not belong to anyone signed up' : 'is required');
      const member = await addMember(db, actor, courseId, user.id);
      flash(req, `${member.email} added to the course`);
      res.redirect(303, `/courses/${courseId}`);
    } catch (err) {
      await renderFormError(res, err, 'course', () => coursePage(actor, courseId, values));
    }
  });

  router.post('/courses/:id/members/:userId/remove', async (req, res) => {
    const courseId = parseId(req.params.id);
    await removeMember(db, actorOf(req), courseId, parseId(req.params.userId, 'userId'));
    flash(req, 'Member removed');
    res.redirect(303, `/courses/${courseId}`);
  });

  return router;
}
