import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { addMember, createCourse, deleteCourse, getVisibleCourse, listMembers, listVisibleCourses, removeMember, updateCourse } from '../../domain/courses.js';
import { createStage, listStages, stageJson } from '../../domain/stages.js';
import { courseSchema, courseUpdateSchema, memberSchema, pageSchema, stageSchema } from '../schemas.js';
import { parseId, parseInput } from '../../validation.js';

export function courseRoutes({ db }: { db: Knex }): Router {
  const router = Router();

  router.get('/courses', async (req, res) => {
    const page = parseInput(pageSchema, req.query);
    const { items, nextCursor } = await listVisibleCourses(db, actorOf(req), { limit: page.limit, after: page.cursor });
    res.json({ items, nextCursor: nextCursor === null ? null : String(nextCursor) });
  });

  router.post('/courses', async (req, res) => {
    const course = await createCourse(db, actorOf(req), parseInput(courseSchema, req.body));
    res.status(201).location(`/api/courses/${course.id}`).json(course);
  });

  router.get('/courses/:id', async (req, res) => {
    res.json(await getVisibleCourse(db, actorOf(req), parseId(req.params.id)));
  });

  router.patch('/courses/:id', async (req, res) => {
    res.json(await updateCourse(db, actorOf(req), parseId(req.params.id), parseInput(courseUpdateSchema, req.body)));
  });

  router.delete('/courses/:id', async (req, res) => {
    await deleteCourse(db, actorOf(req), parseId(req.params.id));
    res.status(204).end();
  });

  router.get('/courses/:id/stages', async (req, res) => {
    const stages = await listStages(db, actorOf(req), parseId(req.params.id));
    res.json({ items: stages.map(stageJson) });
  });

  router.post('/courses/:id/stages', async (req, res) => {
    const stage = await createStage(db, actorOf(req), parseId(req.params.id), parseInput(stageSchema, req.body));
    res.status(201).location(`/api/stages/${stage.id}`).json(stageJson(stage));
  });

  router.get('/courses/:id/members', async (req, res) => {
    res.json({ items: await listMembers(db, actorOf(req), parseId(req.params.id)) });
  });

  router.post('/courses/:id/members', async (req, res) => {
    const { userId } = parseInput(memberSchema, req.body);
    res.status(201).json(await addMember(db, actorOf(req), parseId(req.params.id), userId));
  });

  router.delete('/courses/:id/members/:userId', async (req, res) => {
    await removeMember(db, actorOf(req), parseId(req.params.id), parseId(req.params.userId, 'userId'));
    res.status(204).end();
  });

  return router;
}
