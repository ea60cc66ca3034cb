// A failed or missed job is said loudly: an error log line naming the job and
// the execution, and, when ALERT_WEBHOOK_URL is set, a JSON POST there. The
// POST is retried a few times in the background and never holds up the job.
// It follows no redirect (a redirect could carry the alert somewhere else),
// and with ALERT_WEBHOOK_SECRET it is signed: `x-coursework-timestamp: <unix
// seconds>` and `x-coursework-signature: sha256=<hex HMAC-SHA256 of
// "<timestamp>.<body>">`, so the receiver can tell it is ours and, refusing
// old timestamps, that it is not a captured alert sent again.
import { createHmac } from 'node:crypto';
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

export const SIGNATURE_HEADER = 'x-coursework-signature';
export const TIMESTAMP_HEADER = 'x-coursework-timestamp';

/** The signature of `<timestamp>.<body>`: the timestamp is signed with the body, so it cannot be changed to replay one. */
export function signBody(body: string, secret: string, timestamp: number): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface AlerterOptions {
  log: Logger;
  webhookUrl?: string;
  webhookSecret?: string;
  retryDelayMs?: number;
}

export function createAlerter({ log, webhookUrl, webhookSecret, retryDelayMs = SECOND }: AlerterOptions): Alerter {
  return (alert) => {
    log.error({ alert: true, jobId: alert.jobId, executionId: alert.executionId, status: alert.status }, `job ${alert.jobId} ${alert.status}: ${alert.message}`);
    if (webhookUrl) void deliver(webhookUrl, webhookSecret, alert, log, retryDelayMs);
  };
}

async function deliver(url: string, secret: string | undefined, alert: JobAlert, log: Logger, retryDelayMs: number): Promise<void> {
  const body = JSON.stringify({ type: 'coursework.job.' + alert.status, ...alert });
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    // Signed afresh for each attempt: a retry is sent now, with the time of now.
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (secret) {
      const timestamp = Math.floor(Date.now() / 1000);
      headers[TIMESTAMP_HEADER] = String(timestamp);
      headers[SIGNATURE_HEADER] = signBody(body, secret, timestamp);
    }
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
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
