import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { deleteStage, getVisibleStage, listTransitions, stageJson, transitionJson, updateStage } from '../../domain/stages.js';
import { createSubmission, listSubmissions, submissionJson } from '../../domain/submissions.js';
import { stageUpdateSchema, submissionSchema } from '../schemas.js';
import { parseId, parseInput } from '../../validation.js';

export function stageRoutes({ db }: { db: Knex }): Router {
  const router = Router();

  router.get('/stages/:id', async (req, res) => {
    const { stage } = await getVisibleStage(db, actorOf(req), parseId(req.params.id));
    res.json(stageJson(stage));
  });

  router.patch('/stages/:id', async (req, res) => {
    const stage = await updateStage(db, actorOf(req), parseId(req.params.id), parseInput(stageUpdateSchema, req.body));
    res.json(stageJson(stage));
  });

  router.delete('/stages/:id', async (req, res) => {
    await deleteStage(db, actorOf(req), parseId(req.params.id));
    res.status(204).end();
  });

  router.get('/stages/:id/transitions', async (req, res) => {
    const transitions = await listTransitions(db, actorOf(req), parseId(req.params.id));
    res.json({ items: transitions.map(transitionJson) });
  });

  router.get('/stages/:id/submissions', async (req, res) => {
    const submissions = await listSubmissions(db, actorOf(req), parseId(req.params.id));
    res.json({ items: submissions.map(submissionJson) });
  });

  router.post('/stages/:id/submissions', async (req, res) => {
    const submission = await createSubmission(db, actorOf(req), parseId(req.params.id), parseInput(submissionSchema, req.body));
    res.status(201).json(submissionJson(submission));
  });

  return router;
}
