// Every job the scheduler knows, declared once, each with everything about
// when it runs. A job body is a plain async function of narrow dependencies:
// it knows nothing of clusters, locks or node-schedule, so the CLI can run it
// locally and tests can call it directly.
import type { Config } from '../config.js';
import { MINUTE } from '../time.js';
import type { JobDefinition } from './job.js';
import { nextBoundary, sweepStageStatuses } from './stage-status-sweep.js';
import { cleanupJobExecutions } from './cleanup-job-executions.js';
import { cleanupOrphanUploads } from './cleanup-orphan-uploads.js';
import { nextReminderDue, runDeadlineReminders } from './deadline-reminders.js';

export function jobDefinitions(config: Config): JobDefinition[] {
  return [
    {
      id: 'stage-status-sweep',
      name: 'Stage status sweep',
      // The cron is the safety net; the stage boundaries are the real trigger.
      cron: config.stageSweepCron,
      timezone: 'UTC',
      // The next start or end of any stage or override.
      nextDue: nextBoundary,
      // Stages whose dates passed while no leader ran are caught up at once.
      runOnLeaderStart: true,
      // The sweep catches up by itself: one run after downtime is enough.
      misfire: 'run-once',
      timeoutMs: 5 * MINUTE,
      // Also observes the lag of each transition it records (/metrics).
      run: sweepStageStatuses,
    },
    {
      id: 'deadline-reminders',
      name: 'Deadline reminders',
      // The safety net; the reminder instants (and email retries) are the real trigger.
      cron: '* * * * *',
      timezone: 'UTC',
      // The next reminder instant of any stage or override, or the next email retry.
      nextDue: nextReminderDue,
      // Reminders due while no leader ran, and emails an earlier leader took but never marked.
      runOnLeaderStart: true,
      misfire: 'run-once',
      timeoutMs: 30 * MINUTE,
      run: runDeadlineReminders,
    },
    {
      id: 'cleanup-job-executions',
      name: 'Delete old job executions',
      cron: '0 2 * * *',
      timezone: config.appTimezone,
      misfire: 'skip',
      timeoutMs: 30 * MINUTE,
      run: cleanupJobExecutions,
    },
    {
      id: 'cleanup-orphan-uploads',
      name: 'Remove uploaded files no submission names',
      cron: '30 2 * * *',
      timezone: config.appTimezone,
      misfire: 'skip',
      timeoutMs: 30 * MINUTE,
      run: cleanupOrphanUploads,
    },
  ];
}
