import { Router } from 'express';
import type { Knex } from 'knex';
import { actorOf } from '../auth.js';
import { getManagedStage } from '../../domain/stages.js';
import { bulkOverrides, createOverride, deleteOverride, getManagedOverride, listOverrides, overrideJson, updateOverride } from '../../domain/overrides.js';
import { overrideBulkSchema, overrideSchema, overrideUpdateSchema } from '../schemas.js';
import { parseId, parseInput } from '../../validation.js';
import { readableBody } from '../body.js';

// Teachers of the course and admins; as elsewhere, who may call is decided before the body is validated.
export function overrideRoutes({ db }: { db: Knex }): Router {
  const router = Router();

  router.get('/stages/:id/overrides', async (req, res) => {
    const managed = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    res.json({ items: (await listOverrides(db, managed)).map(overrideJson) });
  });

  router.post('/stages/:id/overrides', async (req, res) => {
    const managed = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    const override = await createOverride(db, managed, parseInput(overrideSchema, readableBody(req.body)));
    res.status(201).location(`/api/overrides/${override.id}`).json(overrideJson(override));
  });

  router.post('/stages/:id/overrides/bulk', async (req, res) => {
    const managed = await getManagedStage(db, actorOf(req), parseId(req.params.id));
    const { items } = parseInput(overrideBulkSchema, readableBody(req.body));
    res.status(201).json({ items: (await bulkOverrides(db, managed, items)).map(overrideJson) });
  });

  router.patch('/overrides/:id', async (req, res) => {
    const found = await getManagedOverride(db, actorOf(req), parseId(req.params.id));
    res.json(overrideJson(await updateOverride(db, found, parseInput(overrideUpdateSchema, readableBody(req.body)))));
  });

  router.delete('/overrides/:id', async (req, res) => {
    await deleteOverride(db, await getManagedOverride(db, actorOf(req), parseId(req.params.id)));
    res.status(204).end();
  });

  return router;
}
