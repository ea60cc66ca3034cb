// The scheduler's API for admins: who leads, the jobs, recent executions,
// run-now, pause and resume. Run-now never runs the job here: it is handed to
// the leader (so is the catch-up run of a resume).
import { Router } from 'express';
import type { Knex } from 'knex';
import { requireRole } from '../auth.js';
import { ConflictError, NotFoundError, UnavailableError } from '../../errors.js';
import type { LeadershipSnapshot } from '../../leadership/election.js';
import { jobJson, schedulerStatus } from '../../scheduler/status.js';
import type { RunJobResult } from '../../scheduler/run-now.js';
import { pauseJob, resumeJob } from '../../scheduler/pause.js';

export interface SchedulerPort {
  jobIds: string[];
  leadership(): Promise<LeadershipSnapshot>;
  /** Hands the job to the leader; resolves once it has started there. */
  runJob(jobId: string): Promise<RunJobResult>;
}

/** Pause and resume for the API and the console alike: the flag in the database, and the catch-up run on the leader. */
export function pauseControls(db: Knex, scheduler: SchedulerPort) {
  const leaderElected = async () => (await scheduler.leadership()).state === 'held';
  return {
    leaderElected,
    pause: (jobId: string) => pauseJob(db, jobId),
    resume: (jobId: string) => resumeJob({ db, leaderElected, runJob: (id) => scheduler.runJob(id) }, jobId),
  };
}

export function schedulerApiRoutes({ db, scheduler }: { db: Knex; scheduler: SchedulerPort }): Router {
  const router = Router();
  const admin = requireRole('admin');
  const controls = pauseControls(db, scheduler);

  router.get('/api/scheduler', admin, async (_req, res) => {
    res.json(await schedulerStatus(db, await scheduler.leadership()));
  });

  router.post('/api/scheduler/jobs/:id/run', admin, async (req, res) => {
    const jobId = req.params.id as string;
    if (!scheduler.jobIds.includes(jobId)) throw new NotFoundError(`Job "${jobId}"`);
    if ((await scheduler.leadership()).state !== 'held') throw new UnavailableError('No scheduler leader is elected; try again shortly');
    const result = await scheduler.runJob(jobId);
    if (result.ok) {
      res.status(202).json({ executionId: result.executionId });
      return;
    }
    if (result.code === 'unknown_job') throw new NotFoundError(result.message);
    if (result.code === 'job_running') throw new ConflictError(result.message);
    throw new UnavailableError(result.message);
  });

  router.post('/api/scheduler/jobs/:id/pause', admin, async (req, res) => {
    const jobId = req.params.id as string;
    if (!scheduler.jobIds.includes(jobId)) throw new NotFoundError(`Job "${jobId}"`);
    const job = await controls.pause(jobId);
    res.json(jobJson(job, { leaderElected: await controls.leaderElected() }));
  });

  // 200 once the flag is cleared, whatever became of the catch-up run: already
  // running is a catch-up too, and without a leader the next one runs the job on its triggers.
  router.post('/api/scheduler/jobs/:id/resume', admin, async (req, res) => {
    const jobId = req.params.id as string;
    if (!scheduler.jobIds.includes(jobId)) throw new NotFoundError(`Job "${jobId}"`);
    const { job } = await controls.resume(jobId);
    res.json(jobJson(job, { leaderElected: await controls.leaderElected() }));
  });

  return router;
}
