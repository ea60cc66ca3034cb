// The scheduler console for admins: who leads, each job with its next and
// last run and missed fires, run-now, the last 50 executions and a chart of
// runs per hour. /scheduler/live is the part the page re-fetches by itself.
import { Router, type Request, type RequestHandler } from 'express';
import type { Knex } from 'knex';
import { ForbiddenError } from '../../errors.js';
import { schedulerStatus } from '../../scheduler/status.js';
import { CHART_STATUSES, executionHistory } from '../../scheduler/history.js';
import { stagesAtBoundary } from '../../domain/stage-boundaries.js';
import { leaderRequests, type LeaderPort } from '../../scheduler/leader-link.js';
import type { RunJobResult } from '../../scheduler/run-now.js';
import { describeCatchUp } from '../../scheduler/pause.js';
import { flash } from '../forms.js';
import { requestLanguage, say } from '../../i18n/request-language.js';
import { translateMessage } from '../../i18n/messages.js';

/** The job whose due timer follows the stage boundaries. */
const STAGE_SWEEP = 'stage-status-sweep';

/** What a run-now came to, for the console's flash. */
function describeRun(jobId: string, result: RunJobResult): string {
  if (result.ok) return `${jobId} started on the leader as execution ${result.executionId}`;
  if (result.code === 'unknown_job') return `There is no job "${jobId}"`;
  if (result.code === 'not_elected') return 'No scheduler leader is elected right now; try again in a few seconds';
  return `${jobId} did not start: ${result.message}`;
}

const adminPage: RequestHandler = (req, res, next) => {
  if (!req.actor) return res.redirect(303, '/login');
  if (req.actor.role !== 'admin') throw new ForbiddenError('The scheduler console is for admins');
  next();
};

/** A flash in the reader's language: the console's notices are worded as the CLI words them. */
function note(req: Request, text: string): void {
  flash(req, translateMessage(text, requestLanguage()));
}

export function webSchedulerRoutes({ db, scheduler, lockPath }: { db: Knex; scheduler: LeaderPort; lockPath: string }): Router {
  const router = Router();

  async function consoleLocals(req: Request) {
    const leadership = await scheduler.leadership();
    const [status, history] = await Promise.all([schedulerStatus(db, leadership), executionHistory(db)]);
    const busiest = Math.max(1, ...history.hours.map((h) => h.total));
    // The next stage boundary the leader's due timer is armed for, and the stages at it.
    const armedAt = status.jobs.find((j) => j.id === STAGE_SWEEP)?.nextDueAt ?? null;
    const armed = armedAt ? { at: armedAt, ...(await stagesAtBoundary(db, Date.parse(armedAt))) } : null;
    return { title: say('titles.scheduler'), ...status, armed, lockState: leadership.state, lockPath, ...history, busiest, chartStatuses: CHART_STATUSES, csrfToken: req.csrfToken?.() };
  }

  router.get('/scheduler', adminPage, async (req, res) => {
    res.render('scheduler', await consoleLocals(req));
  });

  router.get('/scheduler/live', adminPage, async (req, res) => {
    res.set('cache-control', 'no-store').render('partials/scheduler-live', await consoleLocals(req));
  });

  const controls = leaderRequests(db, scheduler);

  router.post('/scheduler/jobs/:id/run', adminPage, async (req, res) => {
    const jobId = String(req.params.id);
    note(req, describeRun(jobId, await controls.run(jobId)));
    res.redirect(303, '/scheduler');
  });

  router.post('/scheduler/jobs/:id/pause', adminPage, async (req, res) => {
    const jobId = String(req.params.id);
    if (!controls.knows(jobId)) {
      note(req, `There is no job "${jobId}"`);
    } else {
      await controls.pause(jobId);
      note(req, `${jobId} is paused: its fires are recorded as skipped until it is resumed`);
    }
    res.redirect(303, '/scheduler');
  });

  router.post('/scheduler/jobs/:id/resume', adminPage, async (req, res) => {
    const jobId = String(req.params.id);
    if (!controls.knows(jobId)) {
      note(req, `There is no job "${jobId}"`);
    } else {
      const { catchUp } = await controls.resume(jobId);
      note(req, `${jobId} is resumed; ${describeCatchUp(jobId, catchUp)}`);
    }
    res.redirect(303, '/scheduler');
  });

  return router;
}
