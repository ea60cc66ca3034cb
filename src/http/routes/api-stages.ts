import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { deleteStage, getManagedStage, getVisibleStage, stageJson, updateStage } from '../../domain/stages.js';
import { listTransitions, transitionJson } from '../../domain/stage-transitions.js';
import { getStageToSubmitTo, listSubmissions, submissionJson } from '../../domain/submissions.js';
import { deleteSchema, stageUpdateSchema } from '../schemas.js';
import { handIn } from '../hand-in.js';
import { pageJson, pageQuery } from '../paging.js';
import { parseId, parseInput } from '../../validation.js';
import { transitionLagMs } from '../../domain/stage-boundaries.js';
import { readableBody } from '../body.js';
import { effectiveJson, effectiveWindow } from '../../domain/effective-window.js';
import { checkMaxFileBytes } from '../../domain/file-policy.js';
import type { UploadSettings } from '../../config.js';

// As in api-courses.ts: who may call a route is decided before its body is validated.
export function stageRoutes({ db, uploads }: { db: Knex; uploads: UploadSettings }): Router {
  const router = Router();

  router.get('/stages/:id', async (req, res) => {
    const actor = actorOf(req);
    const { stage, member } = await getVisibleStage(db, actor, parseId(req.params.id));
    // A student of the course reads their own window beside the class's.
    const effective = actor.role === 'student' && member ? effectiveJson(await effectiveWindow(db, stage, actor.id)) : undefined;
    res.json({ ...stageJson(stage, uploads.maxBytes), ...(effective ? { effective } : {}) });
  });

  router.patch('/stages/:id', async (req, res) => {
    const managed = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    const input = parseInput(stageUpdateSchema, readableBody(req.body));
    checkMaxFileBytes(input.maxFileBytes, uploads.maxBytes);
    const stage = await updateStage(db, managed, input);
    res.json(stageJson(stage, uploads.maxBytes));
  });

  router.delete('/stages/:id', async (req, res) => {
    const managed = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    await deleteStage(db, managed, parseInput(deleteSchema, req.query));
    res.status(204).end();
  });

  router.get('/stages/:id/transitions', async (req, res) => {
    const id = parseId(req.params.id);
    const { limit, cursor } = pageQuery(req, 1);
    const page = await listTransitions(db, actorOf(req), id, { limit, after: cursor?.[0] });
    // Lag: how long after the boundary it crossed (the stage's dates) each scheduled transition came.
    const { stage } = await getVisibleStage(db, actorOf(req), id);
    res.json(pageJson(page, (t) => ({ ...transitionJson(t), lagMs: t.overrideId === null ? transitionLagMs(t, stage) : t.lagMs }), (key) => [key]));
  });

  router.get('/stages/:id/submissions', async (req, res) => {
    const id = parseId(req.params.id);
    const { limit, cursor } = pageQuery(req, 2);
    const after = cursor && { createdAt: cursor[0], id: cursor[1] };
    const page = await listSubmissions(db, actorOf(req), id, { limit, after });
    res.json(pageJson(page, submissionJson, (key) => [key.createdAt, key.id]));
  });

  router.post('/stages/:id/submissions', async (req, res) => {
    const actor = actorOf(req);
    const id = parseId(req.params.id);
    const target = await getStageToSubmitTo(db, actor, id);
    const submission = await handIn({ db, uploads }, req, actor, target);
    res.status(201).json(submissionJson(submission));
  });

  return router;
}
