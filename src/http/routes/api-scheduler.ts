// The scheduler's API for admins: who leads, the jobs, recent executions,
// run-now, pause and resume. Run-now never runs the job here: it is handed to
// the leader through the seam (so is the catch-up run of a resume).
import { Router } from 'express';
import type { Knex } from 'knex';
import { requireRole } from '../auth.js';
import { NotFoundError } from '../../errors.js';
import { jobJson, schedulerStatus } from '../../scheduler/status.js';
import { leaderRefusal, leaderRequests, type LeaderPort } from '../../scheduler/leader-link.js';

export function schedulerApiRoutes({ db, scheduler }: { db: Knex; scheduler: LeaderPort }): Router {
  const router = Router();
  const admin = requireRole('admin');
  const leader = leaderRequests(db, scheduler);
  const knownJob = (jobId: string) => {
    if (!leader.knows(jobId)) throw new NotFoundError(`Job "${jobId}"`);
    return jobId;
  };

  router.get('/api/scheduler', admin, async (_req, res) => {
    res.json(await schedulerStatus(db, await scheduler.leadership()));
  });

  router.post('/api/scheduler/jobs/:id/run', admin, async (req, res) => {
    const result = await leader.run(req.params.id as string);
    if (!result.ok) throw leaderRefusal(result);
    res.status(202).json({ executionId: result.executionId });
  });

  router.post('/api/scheduler/jobs/:id/pause', admin, async (req, res) => {
    const job = await leader.pause(knownJob(req.params.id as string));
    res.json(jobJson(job, { leaderElected: await leader.leaderElected() }));
  });

  // 200 once the flag is cleared, whatever became of the catch-up run: already
  // running is a catch-up too, and without a leader the next one runs the job on its triggers.
  router.post('/api/scheduler/jobs/:id/resume', admin, async (req, res) => {
    const { job } = await leader.resume(knownJob(req.params.id as string));
    res.json(jobJson(job, { leaderElected: await leader.leaderElected() }));
  });

  return router;
}
