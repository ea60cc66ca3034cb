// The scheduler's commands: status, run-now (on the running leader, or here
// with --local), pause and resume.
import os from 'node:os';
import type { Config } from '../config.js';
import { createElection } from '../leadership/create-election.js';
import { jobJson, schedulerStatus } from '../scheduler/status.js';
import { describeCatchUp, pauseJob, resumeJob } from '../scheduler/pause.js';
import { jobDefinitions } from '../jobs/registry.js';
import { findJob, type JobDefinition } from '../jobs/job.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { createAlerter } from '../scheduler/alerts.js';
import { createLogger } from '../log.js';
import { executionJson, getExecution, type Execution } from '../scheduler/executions.js';
import { requestRun, waitForExecutionEnd, waitForRunStart } from '../scheduler/run-requests.js';
import { SECOND } from '../time.js';
import { UsageError, type Command } from './command.js';

/** The job named by the first positional, or a usage error naming the known ones. */
function jobArgument(config: Config, positionals: string[]): JobDefinition {
  const [jobId] = positionals;
  if (!jobId) throw new UsageError('Missing <jobId>');
  const jobs = jobDefinitions(config);
  const job = findJob(jobs, jobId);
  if (!job) throw new UsageError(`Unknown job "${jobId}"; known jobs: ${jobs.map((j) => j.id).join(', ')}`);
  return job;
}

export const schedulerCommands: Record<string, Command> = {
  'scheduler:status': {
    usage: '',
    summary: 'the leader, the jobs and recent executions (JSON)',
    async run({ db, config, out }) {
      // Reading who leads never takes part in the election.
      const leadership = await createElection(config, { db, workerId: null }).currentOwner();
      out(JSON.stringify(await schedulerStatus(db, leadership), null, 2));
    },
  },

  'scheduler:run': {
    usage: '<jobId> [--local]',
    summary: 'run a job now on the running leader, wait, print the execution (JSON); --local runs it in this process',
    options: { local: { type: 'boolean' } },
    async run({ db, config, args, positionals, out }) {
      const [jobId] = positionals;
      if (!jobId) throw new UsageError('Missing <jobId>');
      const jobs = jobDefinitions(config);
      const job = findJob(jobs, jobId);
      if (!job) throw new UsageError(`Unknown job "${jobId}"; known jobs: ${jobs.map((j) => j.id).join(', ')}`);
      const election = createElection(config, { db, workerId: null });
      let execution: Execution | undefined;
      if (args.local) {
        // For debugging: the job body runs here, recorded like any run, but
        // this process never takes the lock nor schedules anything.
        const log = createLogger('silent');
        const scheduler = new Scheduler({ db, log, config, jobs, election, alert: createAlerter({ log: createLogger('error', {}, 2), webhookUrl: config.alertWebhookUrl, webhookSecret: config.alertWebhookSecret }) });
        const { executionId, done } = await scheduler.runNow(job.id);
        await done;
        execution = await getExecution(db, executionId);
      } else {
        if ((await election.currentOwner()).state !== 'held') {
          process.stderr.write('No scheduler leader is running. Start the app (npm start), or run the job here with --local.\n');
          return 1;
        }
        const requestId = await requestRun(db, job.id, `cli pid ${process.pid} on ${os.hostname()}`);
        const started = await waitForRunStart(db, requestId, 30 * SECOND);
        if (!started.ok) {
          process.stderr.write(`${job.id} did not start: ${started.message}\n`);
          return 1;
        }
        execution = await waitForExecutionEnd(db, started.executionId, job.timeoutMs + 10 * SECOND);
      }
      if (!execution) throw new Error('the execution row is missing');
      out(JSON.stringify(executionJson(execution)));
      return execution.status === 'success' ? 0 : 1;
    },
  },

  'scheduler:pause': {
    usage: '<jobId>',
    summary: "pause a job on every host: its triggers stay, each fire is recorded as skipped (reason paused); prints the job (JSON)",
    async run({ db, config, positionals, out }) {
      const job = jobArgument(config, positionals);
      const leadership = await createElection(config, { db, workerId: null }).currentOwner();
      out(JSON.stringify(jobJson(await pauseJob(db, job.id), { leaderElected: leadership.state === 'held' })));
    },
  },

  'scheduler:resume': {
    usage: '<jobId>',
    summary: 'resume a paused job; the running leader runs it once at once to catch up; prints the job (JSON)',
    async run({ db, config, positionals, out }) {
      const job = jobArgument(config, positionals);
      const election = createElection(config, { db, workerId: null });
      const leaderElected = async () => (await election.currentOwner()).state === 'held';
      // The catch-up goes through the run-request queue, which the leader polls (either election mode).
      const runJob = async (jobId: string) => waitForRunStart(db, await requestRun(db, jobId, `cli resume, pid ${process.pid} on ${os.hostname()}`), 30 * SECOND);
      const { job: resumed, catchUp } = await resumeJob({ db, leaderElected, runJob }, job.id);
      process.stderr.write(`${describeCatchUp(job.id, catchUp)}\n`);
      out(JSON.stringify(jobJson(resumed, { leaderElected: await leaderElected() })));
    },
  },
};
