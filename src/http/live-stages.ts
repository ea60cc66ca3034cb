// Live course and stage pages: each open page holds a server-sent event
// stream for its course. When stages may have changed (a stage was edited on
// any worker, the leader's sweep moved some: the leader link says so), this
// worker reads the statuses of the courses it has open streams for and sends
// each page what changed. Server-sent events need no dependency and fit
// Express; the page falls back to polling the JSON snapshot when a stream
// cannot be held (views/static/live.js).
//
// A stream is a held socket, so streams are capped (live-admission.ts) and
// none lasts longer than `maxStreamMs` (15 minutes at most): the page
// reconnects, and the reconnect is a new request that passes sign-in and the
// course's access check again, so a revoked token or an ended session stops
// receiving then. A removed member stops at once: removing one announces a
// change (stage-events.ts) that reaches every worker like a stage change, and
// each look at the stages first ends the streams of those who may no longer
// see the course.
import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import { numberFromDb } from '../db/rows.js';
import type { StageRow } from '../db/tables.js';
import type { Actor } from '../domain/users.js';
import { MINUTE, SECOND, toIso } from '../time.js';
import { RETRY_AFTER_SECONDS, StreamAdmission } from './live-admission.js';
import { courseOverrides, stagesFor, type CourseOverrides, type LiveStage } from './live-windows.js';

/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15 * SECOND;
/** Browsers reconnect after this long when a stream ends (a worker drains). */
const RECONNECT_MS = 2 * SECOND;
/** A course page shows at most this many stages. */
const MAX_STAGES = 500;
/** The longest any stream lasts: the contract's bound on how long a revoked sign-in keeps receiving. */
export const MAX_STREAM_MS = 15 * MINUTE;

/** One open page: whose it is decides whether it may go on. */
interface Stream {
  res: Response;
  actor: Actor;
}

export interface LiveStagesDeps {
  db: Knex;
  log: Logger;
  /** How long a stream lasts before the page must reconnect (at most MAX_STREAM_MS). */
  maxStreamMs?: number;
  /** The caps on open streams; per user and per worker by default. */
  admission?: StreamAdmission;
}

export type { LiveStage } from './live-windows.js';

export class LiveStages {
  private readonly streams = new Map<number, Set<Stream>>();
  private readonly admission: StreamAdmission;
  private readonly maxStreamMs: number;
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
  /** What each stream was last sent: a student's own windows differ from the class's, so each is compared on its own. */
  private readonly sentJson = new WeakMap<Response, string>();

  constructor(private readonly deps: LiveStagesDeps) {
    this.admission = deps.admission ?? new StreamAdmission();
    this.maxStreamMs = Math.min(deps.maxStreamMs ?? MAX_STREAM_MS, MAX_STREAM_MS);
  }

  /** The course's stages as the pages need them. */
  async snapshot(courseId: number): Promise<LiveStage[]> {
    const rows = await this.deps
      .db<StageRow>('stages')
      .where({ course_id: courseId })
      .orderBy([{ column: 'start_date' }, { column: 'id' }])
      .limit(MAX_STAGES)
      .select('id', 'status', 'start_date', 'end_date', 'cutoff_date');
    return rows.map((r) => ({
      id: Number(r.id),
      status: r.status,
      startDate: toIso(numberFromDb(r.start_date)),
      endDate: toIso(numberFromDb(r.end_date)),
      cutoffDate: r.cutoff_date === null ? null : toIso(numberFromDb(r.cutoff_date)),
    }));
  }

  /** The course's overrides, for the pages of students among `viewers` (live-windows.ts). */
  overridesOf(courseId: number, viewers: Iterable<Actor>): Promise<CourseOverrides | null> {
    return courseOverrides(this.deps.db, courseId, viewers);
  }

  /** The course's stages as `actor`'s page shows them (the JSON snapshot for pages that poll). */
  async snapshotFor(courseId: number, actor: Actor): Promise<LiveStage[]> {
    const [stages, overrides] = await Promise.all([this.snapshot(courseId), this.overridesOf(courseId, [actor])]);
    return stagesFor(actor, stages, overrides);
  }

  /** Holds `res` open as the course's event stream for `actor`, starting with its stages now; 429/503 past the caps. */
  async attach(courseId: number, actor: Actor, req: Request, res: Response): Promise<void> {
    if (this.closed) {
      res.status(503).end();
      return;
    }
    const refusal = this.admission.admit(actor.id);
    if (refusal) {
      res.status(refusal.status).set('retry-after', String(RETRY_AFTER_SECONDS)).json({ error: { code: refusal.status === 429 ? 'too_many_requests' : 'unavailable', message: refusal.message } });
      return;
    }
    res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    const stream: Stream = { res, actor };
    const set = this.streams.get(courseId) ?? new Set<Stream>();
    this.streams.set(courseId, set);
    set.add(stream);
    // Ended by the server (lifetime, access lost, drain) or by the page: the place is given back once.
    const lifetime = setTimeout(() => res.end(), this.maxStreamMs);
    req.on('close', () => {
      clearTimeout(lifetime);
      this.admission.release(actor.id);
      set.delete(stream);
      if (set.size === 0 && this.streams.get(courseId) === set) {
        this.streams.delete(courseId);
        this.lastSent.delete(courseId);
      }
    });
    this.heartbeat ??= setInterval(() => this.broadcastComment(), HEARTBEAT_MS);
    const read = ++this.reads;
    const [stages, overrides] = await Promise.all([this.snapshot(courseId), this.overridesOf(courseId, [actor])]);
    this.sendIfNewer(res, read, stagesFor(actor, stages, overrides));
  }

  /** How many streams this worker holds open. */
  get openStreams(): number {
    return this.admission.open;
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
    for (const set of this.streams.values()) for (const { res } of set) res.end();
    this.streams.clear();
  }

  private async lookAndSend(): Promise<void> {
    for (const [courseId, set] of this.streams) {
      await this.endStreamsThatLostAccess(courseId, set);
      if (set.size === 0) continue;
      const read = ++this.reads;
      const viewers = [...set].map((stream) => stream.actor);
      const [stages, overrides] = await Promise.all([this.snapshot(courseId), this.overridesOf(courseId, viewers)]);
      // Nothing of the course moved (stages, overrides, teams): no page needs a word.
      const json = JSON.stringify([stages, overrides && [overrides.overrides.map((o) => [o.id, o.status, o.start_date, o.end_date, o.cutoff_date]), [...overrides.teamOf]]]);
      if (json === this.lastSent.get(courseId)) continue;
      this.lastSent.set(courseId, json);
      for (const { res, actor } of set) this.sendIfNewer(res, read, stagesFor(actor, stages, overrides));
    }
  }

  /** Ends the streams of those who may no longer see the course (a removed member, a course given to another teacher). */
  private async endStreamsThatLostAccess(courseId: number, set: Set<Stream>): Promise<void> {
    // Admins see every course: a course followed only by admins needs no look.
    if ([...set].every((stream) => stream.actor.role === 'admin')) return;
    const viewers = await courseViewers(this.deps.db, courseId);
    for (const stream of set) {
      if (stream.actor.role === 'admin' || viewers.has(stream.actor.id)) continue;
      set.delete(stream);
      stream.res.end();
    }
  }

  /** Sends what this page would now show, unless a newer read went out first or it shows that already. */
  private sendIfNewer(res: Response, read: number, stages: LiveStage[]): void {
    if ((this.sentRead.get(res) ?? 0) > read) return;
    this.sentRead.set(res, read);
    const json = JSON.stringify(stages);
    if (this.sentJson.get(res) === json) return;
    this.sentJson.set(res, json);
    res.write(`event: stages\ndata: ${json}\n\n`);
  }

  private broadcastComment(): void {
    for (const set of this.streams.values()) for (const { res } of set) res.write(': keep-alive\n\n');
  }
}

/** The ids of those besides admins who may see the course now: its teacher and its members (none when it is gone). */
async function courseViewers(db: Knex, courseId: number): Promise<Set<number>> {
  const course = await db<{ id: number; teacher_id: number }>('courses').where({ id: courseId }).first('teacher_id');
  if (!course) return new Set();
  const members = await db('course_members').where({ course_id: courseId }).select('user_id');
  return new Set([Number(course.teacher_id), ...members.map((m: { user_id: unknown }) => Number(m.user_id))]);
}
