// The live part of course and stage pages: an event stream per course, and
// the same snapshot as JSON for pages that cannot hold a stream.
import { Router, type RequestHandler } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { getVisibleCourse } from '../../domain/courses.js';
import { parseId } from '../../validation.js';
import type { LiveStages } from '../live-stages.js';

const signedIn: RequestHandler = (req, res, next) => {
  if (!req.actor) {
    res.status(401).json({ error: { code: 'unauthorized', message: 'Sign in to follow this course' } });
    return;
  }
  next();
};

export function webLiveRoutes({ db, live }: { db: Knex; live: LiveStages }): Router {
  const router = Router();

  router.get('/courses/:id/live', signedIn, async (req, res) => {
    const course = await getVisibleCourse(db, actorOf(req), parseId(req.params.id));
    await live.attach(course.id, actorOf(req), req, res);
  });

  router.get('/courses/:id/live.json', signedIn, async (req, res) => {
    const course = await getVisibleCourse(db, actorOf(req), parseId(req.params.id));
    res.set('cache-control', 'no-store').json({ items: await live.snapshotFor(course.id, actorOf(req)) });
  });

  return router;
}
