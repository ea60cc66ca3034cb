// Who may open one more live stream on this worker. Each stream holds a
// socket (a file descriptor) for as long as it lasts, so without a cap one
// signed-in user could open thousands and leave the worker no descriptors for
// anyone else. Two caps: a few per user (a person has a few tabs open), and
// one for the whole worker sized from its open-file limit, leaving headroom
// for the database, the upload files and ordinary requests.
import fs from 'node:fs';

/** At most this many streams per user on one worker: the contract's promise. */
export const STREAMS_PER_USER = 10;
/** Descriptors kept free for everything that is not a live stream. */
export const DESCRIPTOR_HEADROOM = 256;
/** When the limit cannot be read, the cap a default `ulimit -n` of 1024 would give. */
export const FALLBACK_OPEN_FILES = 1024;
/** How long a refused page should wait before it tries again (seconds). */
export const RETRY_AFTER_SECONDS = 30;

/** The soft "Max open files" of this process, from /proc/self/limits (Linux); null elsewhere. */
export function openFilesSoftLimit(limitsText?: string): number | null {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return null;
    }
  }
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!match || match[1] === 'unlimited') return null;
  return Number(match[1]);
}

/** The per-worker stream cap for a soft open-file limit: half of what is left after the headroom (half the connection cap, connection-cap.ts), at least one user's worth. */
export function workerStreamCap(softLimit: number | null = openFilesSoftLimit()): number {
  const limit = softLimit ?? FALLBACK_OPEN_FILES;
  return Math.max(STREAMS_PER_USER, Math.floor((limit - DESCRIPTOR_HEADROOM) / 2));
}

export type Refusal = { status: 429 | 503; message: string };

/** Counts the open streams per user and in all; `admit` says why not, or takes a place that `release` gives back. */
export class StreamAdmission {
  private readonly perUser = new Map<number, number>();
  private total = 0;

  constructor(private readonly caps: { perUser: number; worker: number } = { perUser: STREAMS_PER_USER, worker: workerStreamCap() }) {}

  admit(userId: number): Refusal | null {
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= this.caps.perUser) return { status: 429, message: `At most ${this.caps.perUser} live streams per user are open at once; close a tab` };
    if (this.total >= this.caps.worker) return { status: 503, message: 'This server holds as many live streams as it can; the page polls instead' };
    this.perUser.set(userId, mine + 1);
    this.total += 1;
    return null;
  }

  release(userId: number): void {
    const mine = (this.perUser.get(userId) ?? 1) - 1;
    if (mine <= 0) this.perUser.delete(userId);
    else this.perUser.set(userId, mine);
    this.total = Math.max(0, this.total - 1);
  }

  get open(): number {
    return this.total;
  }
}
