// A page's event stream never goes back in time: when a newer read of the
// stages reaches a stream before the older read made as it opened (two reads
// on two of MySQL's pooled connections can finish in either order), the older
// one is not sent after it. Here the stream's opening read is held back on
// purpose until a broadcast of newer stages has gone out.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import knex from 'knex';
import { createLogger } from '../src/log.js';
import { LiveStages, type LiveStage } from '../src/http/live-stages.js';
import { waitUntil } from './helpers/wait.js';

const stage = (status: string): LiveStage[] => [{ id: 1, status, startDate: '2026-01-01T09:00:00.000Z', endDate: '2026-01-02T09:00:00.000Z' }];

/** The real LiveStages, with its reads answered in an order the test chooses. */
class HeldReads extends LiveStages {
  readonly pending: Array<{ stages: LiveStage[]; release: () => void }> = [];
  private nextAnswer: LiveStage[] = stage('pending');
  answerWith(stages: LiveStage[]): void {
    this.nextAnswer = stages;
  }
  override snapshot(): Promise<LiveStage[]> {
    const stages = this.nextAnswer;
    return new Promise((resolve) => this.pending.push({ stages, release: () => resolve(stages) }));
  }
}

// Never queried: the reads above answer instead.
const db = knex({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
after(() => db.destroy());

test('an older read of the stages is not sent to a stream after a newer one', async () => {
  const live = new HeldReads({ db, log: createLogger('silent') });
  const app = express();
  app.get('/live', (req, res) => void live.attach(1, { id: 1, role: 'admin', email: 'admin@example.test', name: 'Admin', language: null }, req, res));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const events: string[] = [];
  const request = http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/live`, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      for (const m of chunk.matchAll(/^data: (.*)$/gm)) events.push((JSON.parse(m[1]) as LiveStage[])[0].status);
    });
  });
  try {
    // The stream opens: its read of the stages (still pending) is under way.
    await waitUntil(() => live.pending.length === 1, 5000, 'the opening read');
    const opening = live.pending[0];

    // The stage opens meanwhile; a newer read sees it and is sent first.
    live.answerWith(stage('active'));
    live.check();
    await waitUntil(() => live.pending.length === 2, 5000, 'the broadcast read');
    live.pending[1].release();
    await waitUntil(() => events.length === 1, 5000, 'the newer stages sent');

    // The opening read finishes last: the stream keeps the newer state.
    opening.release();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(events, ['active']);
  } finally {
    request.destroy();
    live.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
