// Leadership lost while its duty is still starting (a lease that could not be
// renewed in time, as after a database outage, when the new leader's start-up
// writes are slow; here its event loop is held past the lease's trust): the
// starting duty is halted, it is never reported as leading, and the next bid
// starts a fresh one. Before, the duty went on to run without a lease, beside
// the one started by the next bid.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createTestDatabase, testDialect, type TestDatabase } from './helpers/database.js';
import { waitUntil } from './helpers/wait.js';
import { LeaseElection } from '../src/leadership/lease-election.js';
import { Leadership, type LeaderWork } from '../src/leadership/leadership.js';

// Trusted for 1,200 ms without a renewal, renewed every 500 ms: long enough that a slow renewal
// on a loaded machine does not also cost the next leadership its lease.
const LEASE_MS = 1500;
let database: TestDatabase;

before(async () => {
  database = await createTestDatabase();
});
after(() => database.cleanup());

/** A duty whose start() holds the event loop for `blockMs`, then lasts until `startsIn`; it records what happened to it. */
class RecordingDuty implements LeaderWork {
  halted = false;
  constructor(
    private readonly blockMs: number,
    private readonly startsIn: Promise<void>,
  ) {}
  async start(): Promise<void> {
    const until = Date.now() + this.blockMs;
    while (Date.now() < until); // no renewal can be sent meanwhile
    await this.startsIn;
  }
  halt(): void {
    this.halted = true;
  }
  stop(): Promise<void> {
    this.halted = true;
    return Promise.resolve();
  }
}

test(`a lease lost while the duty starts halts that duty; it never leads, and the next bid leads with a new one (${testDialect})`, async () => {
  const messages: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (messages.push(String(JSON.parse(String(chunk)).msg)), done()) }));
  const election = new LeaseElection({ db: database.db, leaseMs: LEASE_MS, workerId: 1 });

  let finishSlowStart!: () => void;
  const slowStart = new Promise<void>((resolve) => (finishSlowStart = resolve));
  const duties: RecordingDuty[] = [];
  const leadership = new Leadership({
    election,
    log,
    retryMs: 100,
    lockDescription: 'test lease',
    // The first start outlasts the lease's trust; the ones after are quick.
    createLeaderWork: () => {
      const duty = duties.length === 0 ? new RecordingDuty(LEASE_MS, slowStart) : new RecordingDuty(0, Promise.resolve());
      duties.push(duty);
      return duty;
    },
  });
  try {
    void leadership.start();
    await waitUntil(() => messages.some((m) => m.includes('lost while the scheduler was starting')), 10_000, 'the lease lost during the start');
    assert.equal(duties[0].halted, true, 'the starting duty was halted');
    assert.equal(leadership.current, null);

    finishSlowStart();
    await waitUntil(() => leadership.current !== null, 10_000, 'a leader again');
    assert.notEqual(leadership.current, duties[0], 'the duty whose lease was lost never leads');
    assert.equal(duties.filter((d) => !d.halted).length, 1, 'one duty alive');
    const started = messages.filter((m) => m.startsWith('scheduler started'));
    assert.equal(started.length, 1, `started once: ${messages.join(' | ')}`);
    assert.match(started[0], /no leader was running/, 'not a first start: it had led before');
    assert.ok(election.term !== null, 'the leader holds a term');
  } finally {
    finishSlowStart();
    await leadership.stop(1000);
  }
});
