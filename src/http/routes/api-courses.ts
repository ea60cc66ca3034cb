import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import {
  addMemberByEmail,
  assertMayCreateCourse,
  createCourse,
  deleteCourse,
  getManagedCourse,
  getVisibleCourse,
  listMembers,
  listVisibleCourses,
  removeMember,
  updateCourse,
} from '../../domain/courses.js';
import { createStage, listStages, stageJson } from '../../domain/stages.js';
import { effectiveJson, effectiveWindows } from '../../domain/effective-window.js';
import { courseSchema, courseUpdateSchema, deleteSchema, memberSchema, stageSchema } from '../schemas.js';
import { pageJson, pageQuery } from '../paging.js';
import { parseId, parseInput } from '../../validation.js';
import { readableBody } from '../body.js';
import { checkMaxFileBytes } from '../../domain/file-policy.js';
import type { UploadSettings } from '../../config.js';

// Every route that takes a body decides who may call it first, so a caller
// without the right gets 403 (or 404) whatever they sent, and only then the
// body is validated (400).
export function courseRoutes({ db, uploads }: { db: Knex; uploads: UploadSettings }): Router {
  const router = Router();

  router.get('/courses', async (req, res) => {
    const { limit, cursor } = pageQuery(req, 1);
    const page = await listVisibleCourses(db, actorOf(req), { limit, after: cursor?.[0] });
    res.json(pageJson(page, (course) => course, (id) => [id]));
  });

  router.post('/courses', async (req, res) => {
    const actor = actorOf(req);
    assertMayCreateCourse(actor);
    const course = await createCourse(db, actor, parseInput(courseSchema, readableBody(req.body)));
    res.status(201).location(`/api/courses/${course.id}`).json(course);
  });

  router.get('/courses/:id', async (req, res) => {
    res.json(await getVisibleCourse(db, actorOf(req), parseId(req.params.id)));
  });

  router.patch('/courses/:id', async (req, res) => {
    const actor = actorOf(req);
    const id = parseId(req.params.id);
    await getManagedCourse(db, actor, id);
    res.json(await updateCourse(db, actor, id, parseInput(courseUpdateSchema, readableBody(req.body))));
  });

  router.delete('/courses/:id', async (req, res) => {
    const actor = actorOf(req);
    const id = parseId(req.params.id);
    await getManagedCourse(db, actor, id);
    await deleteCourse(db, actor, id, parseInput(deleteSchema, req.query));
    res.status(204).end();
  });

  courseStageRoutes(router, db, uploads);
  courseMemberRoutes(router, db);
  return router;
}

function courseStageRoutes(router: Router, db: Knex, uploads: UploadSettings): void {
  router.get('/courses/:id/stages', async (req, res) => {
    const id = parseId(req.params.id);
    const { limit, cursor } = pageQuery(req, 2);
    const after = cursor && { startDate: cursor[0], id: cursor[1] };
    const actor = actorOf(req);
    const page = await listStages(db, actor, id, { limit, after });
    // A student reads their own window beside each stage's, as GET /api/stages/:id gives it.
    const windows = actor.role === 'student' ? await effectiveWindows(db, page.items, actor.id) : null;
    const effective = new Map(windows?.map((w, i) => [page.items[i].id, effectiveJson(w)]));
    res.json(pageJson(page, (stage) => ({ ...stageJson(stage, uploads.maxBytes), ...(effective.has(stage.id) ? { effective: effective.get(stage.id) } : {}) }), (key) => [key.startDate, key.id]));
  });

  router.post('/courses/:id/stages', async (req, res) => {
    const actor = actorOf(req);
    const id = parseId(req.params.id);
    await getManagedCourse(db, actor, id);
    const input = parseInput(stageSchema, readableBody(req.body));
    checkMaxFileBytes(input.maxFileBytes, uploads.maxBytes);
    const stage = await createStage(db, actor, id, input);
    res.status(201).location(`/api/stages/${stage.id}`).json(stageJson(stage, uploads.maxBytes));
  });
}

function courseMemberRoutes(router: Router, db: Knex): void {
  router.get('/courses/:id/members', async (req, res) => {
    const id = parseId(req.params.id);
    const { limit, cursor } = pageQuery(req, 1);
    const page = await listMembers(db, actorOf(req), id, { limit, after: cursor?.[0] });
    res.json(pageJson(page, (member) => member, (key) => [key]));
  });

  router.post('/courses/:id/members', async (req, res) => {
    const actor = actorOf(req);
    const id = parseId(req.params.id);
    await getManagedCourse(db, actor, id);
    const { email } = parseInput(memberSchema, readableBody(req.body));
    res.status(201).json(await addMemberByEmail(db, actor, id, email));
  });

  router.delete('/courses/:id/members/:userId', async (req, res) => {
    await removeMember(db, actorOf(req), parseId(req.params.id), parseId(req.params.userId, 'userId'));
    res.status(204).end();
  });
}
