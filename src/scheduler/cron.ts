// A job's cron trigger, registered with node-schedule.
import schedule from 'node-schedule';
import type { JobDefinition } from '../jobs/job.js';
import type { Logger } from '../log.js';

/**
 * A job's cron as node-schedule reads it: in the job's own zone, so "02:00"
 * means 02:00 there across DST changes (test/cron-dst.test.ts pins what that
 * does on the days the clocks move).
 */
export function cronTrigger(job: Pick<JobDefinition, 'cron' | 'timezone'>): { rule: string; tz: string } {
  return { rule: job.cron, tz: job.timezone };
}

/** Registers the job's cron; `onFire` gets each fire's scheduled instant. */
export function scheduleCron(job: JobDefinition, log: Logger, onFire: (scheduledFor: number) => Promise<void>): schedule.Job {
  const scheduled = schedule.scheduleJob(job.id, cronTrigger(job), (fireDate: Date) => onFire(fireDate.getTime()));
  // scheduleJob returns null instead of throwing for a spec it cannot use.
  if (!scheduled) throw new Error(`Job ${job.id}: node-schedule rejected the trigger "${job.cron}"`);
  // Without a listener a rejected fire would be an uncaught exception.
  scheduled.on('error', (err) => log.error({ err, jobId: job.id }, 'job fire failed'));
  return scheduled;
}

/** The next fire of a registered cron, epoch ms. */
export function nextCronRun(scheduled: schedule.Job | undefined): number | null {
  // A CronDate for cron rules, but getTime() is on both it and Date.
  return scheduled?.nextInvocation()?.getTime() ?? null;
}
