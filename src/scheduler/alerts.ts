// A failed or missed job is said loudly: an error log line naming the job and
// the execution, and, when ALERT_WEBHOOK_URL is set, a JSON POST there. The
// POST is retried a few times in the background and never holds up the job.
import type { Logger } from '../log.js';
import { SECOND, sleep } from '../time.js';

export interface JobAlert {
  jobId: string;
  executionId: number | null;
  status: 'error' | 'missed';
  message: string;
  scheduledFor: string;
  pid: number;
  hostname: string;
}

export type Alerter = (alert: JobAlert) => void;

const ATTEMPTS = 3;
const ATTEMPT_TIMEOUT_MS = 5 * SECOND;

export function createAlerter({ log, webhookUrl, retryDelayMs = SECOND }: { log: Logger; webhookUrl?: string; retryDelayMs?: number }): Alerter {
  return (alert) => {
    log.error({ alert: true, jobId: alert.jobId, executionId: alert.executionId, status: alert.status }, `job ${alert.jobId} ${alert.status}: ${alert.message}`);
    if (webhookUrl) void deliver(webhookUrl, alert, log, retryDelayMs);
  };
}

async function deliver(url: string, alert: JobAlert, log: Logger, retryDelayMs: number): Promise<void> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'coursework.job.' + alert.status, ...alert }),
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      if (res.ok) return;
      throw new Error(`webhook answered ${res.status}`);
    } catch (err) {
      if (attempt === ATTEMPTS) {
        log.warn({ err, jobId: alert.jobId, executionId: alert.executionId }, `alert webhook failed after ${ATTEMPTS} attempts`);
        return;
      }
      await sleep(retryDelayMs * 2 ** (attempt - 1));
    }
  }
}
