// Live course and stage pages: each open page holds a server-sent event
// stream for its course. When stages may have changed (a stage was edited on
// any worker, the leader's sweep moved some: the leader link says so), this
// worker reads the statuses of the courses it has open streams for and sends
// each page what changed. Server-sent events need no dependency and fit
// Express; the page falls back to polling the JSON snapshot when a stream
// cannot be held (views/static/live.js).
import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import { numberFromDb } from '../db/rows.js';
import type { StageRow } from '../db/tables.js';
import { SECOND, toIso } from '../time.js';

/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15 * SECOND;
/** Browsers reconnect after this long when a stream ends (a worker drains). */
const RECONNECT_MS = 2 * SECOND;
/** A course page shows at most this many stages. */
const MAX_STAGES = 500;

export interface LiveStage {
  id: number;
  status: string;
  startDate: string;
  endDate: string;
}

export class LiveStages {
  private readonly streams = new Map<number, Set<Response>>();
  private readonly lastSent = new Map<number, string>();
  private heartbeat: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private checkAgain = false;
  private closed = false;
  /**
   * Reads of the stages are numbered as they start, and a stream is sent a
   * read only if it is newer than the last one it was sent: a read that
   * started later sees at least what an earlier one saw, but on MySQL's
   * pool it may finish first, and the older one must not follow it.
   */
  private reads = 0;
  private readonly sentRead = new WeakMap<Response, number>();

  constructor(private readonly deps: { db: Knex; log: Logger }) {}

  /** The course's stages as the pages need them. */
  async snapshot(courseId: number): Promise<LiveStage[]> {
    const rows = await this.deps
      .db<StageRow>('stages')
      .where({ course_id: courseId })
      .orderBy([{ column: 'start_date' }, { column: 'id' }])
      .limit(MAX_STAGES)
      .select('id', 'status', 'start_date', 'end_date');
    return rows.map((r) => ({ id: Number(r.id), status: r.status, startDate: toIso(numberFromDb(r.start_date)), endDate: toIso(numberFromDb(r.end_date)) }));
  }

  /** Holds `res` open as the course's event stream, starting with its stages now. */
  async attach(courseId: number, req: Request, res: Response): Promise<void> {
    if (this.closed) {
      res.status(503).end();
      return;
    }
    res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    const set = this.streams.get(courseId) ?? new Set<Response>();
    this.streams.set(courseId, set);
    set.add(res);
    req.on('close', () => {
      set.delete(res);
      if (set.size === 0) {
        this.streams.delete(courseId);
        this.lastSent.delete(courseId);
      }
    });
    this.heartbeat ??= setInterval(() => this.broadcastComment(), HEARTBEAT_MS);
    const read = ++this.reads;
    const stages = await this.snapshot(courseId);
    this.sendIfNewer(res, read, stages);
    if (!this.lastSent.has(courseId)) this.lastSent.set(courseId, JSON.stringify(stages));
  }

  /** Stages may have changed: look, and tell the open pages. Calls in a burst share one look. */
  check(): void {
    if (this.streams.size === 0 || this.closed) return;
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = this.lookAndSend()
      .catch((err) => this.deps.log.warn({ err }, 'live pages: could not read the stages'))
      .finally(() => {
        this.checking = null;
        if (this.checkAgain) {
          this.checkAgain = false;
          this.check();
        }
      });
  }

  /** Ends every stream (the worker drains: browsers reconnect to another worker). */
  close(): void {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const set of this.streams.values()) for (const res of set) res.end();
    this.streams.clear();
  }

  private async lookAndSend(): Promise<void> {
    for (const [courseId, set] of this.streams) {
      const read = ++this.reads;
      const stages = await this.snapshot(courseId);
      const json = JSON.stringify(stages);
      if (json === this.lastSent.get(courseId)) continue;
      this.lastSent.set(courseId, json);
      for (const res of set) this.sendIfNewer(res, read, stages);
    }
  }

  private sendIfNewer(res: Response, read: number, stages: LiveStage[]): void {
    if ((this.sentRead.get(res) ?? 0) > read) return;
    this.sentRead.set(res, read);
    send(res, stages);
  }

  private broadcastComment(): void {
    for (const set of this.streams.values()) for (const res of set) res.write(': keep-alive\n\n');
  }
}

function send(res: Response, stages: LiveStage[]): void {
  res.write(`event: stages\ndata: ${JSON.stringify(stages)}\n\n`);
}
