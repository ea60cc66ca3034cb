import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { getManagedCourse } from '../../domain/courses.js';
import { createTeam, deleteTeam, getManagedTeam, getVisibleTeam, listTeams, updateTeam } from '../../domain/teams.js';
import { teamSchema, teamUpdateSchema } from '../schemas.js';
import { parseId, parseInput } from '../../validation.js';
import { readableBody } from '../body.js';

// As in api-courses.ts: who may call a route is decided before its body is validated.
export function teamRoutes({ db }: { db: Knex }): Router {
  const router = Router();

  router.get('/courses/:id/teams', async (req, res) => {
    res.json({ items: await listTeams(db, actorOf(req), parseId(req.params.id)) });
  });

  router.post('/courses/:id/teams', async (req, res) => {
    const actor = actorOf(req);
    const id = parseId(req.params.id);
    await getManagedCourse(db, actor, id);
    const team = await createTeam(db, actor, id, parseInput(teamSchema, readableBody(req.body)));
    res.status(201).location(`/api/teams/${team.id}`).json(team);
  });

  router.get('/teams/:id', async (req, res) => {
    res.json((await getVisibleTeam(db, actorOf(req), parseId(req.params.id))).team);
  });

  router.patch('/teams/:id', async (req, res) => {
    const actor = actorOf(req);
    const id = parseId(req.params.id);
    await getManagedTeam(db, actor, id);
    res.json(await updateTeam(db, actor, id, parseInput(teamUpdateSchema, readableBody(req.body))));
  });

  router.delete('/teams/:id', async (req, res) => {
    await deleteTeam(db, actorOf(req), parseId(req.params.id));
    res.status(204).end();
  });

  return router;
}
