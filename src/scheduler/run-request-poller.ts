// The leader's side of the database queue for run-now requests (the CLI, and
// workers on other hosts): claim what waits, start it, write back the
// execution id or why not. Polled, because the requester may be anywhere.
import type { Logger } from '../log.js';
import type { Knex } from 'knex';
import { answerRunRequest, claimRunRequests } from './run-requests.js';
import { runNowFailure, type RunJobResult } from './run-now.js';
import { SupersededError, type LeaderWrite } from './leader-writes.js';

/** How often the leader looks for run-now requests from outside the cluster. */
const RUN_REQUEST_POLL_MS = 1000;

export interface RunRequestPollerDeps {
  db: Knex;
  log: Logger;
  /** Checked before each poll: only a leader may claim requests. */
  stillLeading(): Promise<boolean>;
  /** Claims and answers are the leader's writes: fenced with its term. */
  write: LeaderWrite;
  term: number | null;
  /** A write was refused for a newer term. */
  onSuperseded(err: SupersededError): void;
  runNow(jobId: string): Promise<{ executionId: number }>;
}

export class RunRequestPoller {
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(private readonly deps: RunRequestPollerDeps) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), RUN_REQUEST_POLL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.timer) return;
    this.polling = true;
    const { log } = this.deps;
    try {
      if (!(await this.deps.stillLeading())) return;
      for (const request of await this.deps.write((trx) => claimRunRequests(trx))) {
        let result: RunJobResult;
        try {
          result = { ok: true, executionId: (await this.deps.runNow(request.jobId)).executionId };
        } catch (err) {
          result = runNowFailure(err);
        }
        await this.deps.write((trx) => answerRunRequest(trx, request.id, result, this.deps.term));
      }
    } catch (err) {
      if (err instanceof SupersededError) return this.deps.onSuperseded(err);
      log.error({ err }, 'polling run-now requests failed');
    } finally {
      this.polling = false;
    }
  }
}
