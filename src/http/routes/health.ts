import { Router } from 'express';
import type { Knex } from 'knex';
import { migrationsCurrent } from '../../db/migrations.js';

export function healthRoutes({ db }: { db: Knex }): Router {
  const router = Router();
  // Asking knex for pending migrations reads the migrations folder and table
  // on every probe; once they are current this worker's code is satisfied, so
  // from then on a probe only checks that the database answers.
  let migrationsKnownCurrent = false;

  // Liveness only: answers while the event loop does, touches nothing else.
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', pid: process.pid });
  });

  router.get('/readyz', async (req, res) => {
    try {
      await db.raw('select 1');
      if (!migrationsKnownCurrent) migrationsKnownCurrent = await migrationsCurrent(db);
      if (!migrationsKnownCurrent) {
        res.status(503).json({ status: 'migrations pending', pid: process.pid });
        return;
      }
      res.json({ status: 'ready', pid: process.pid });
    } catch (err) {
      req.log?.warn({ err }, 'readiness check failed');
      res.status(503).json({ status: 'database unavailable', pid: process.pid });
    }
  });

  return router;
}
