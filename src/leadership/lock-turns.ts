// Removing a lock directory and making a new one are two steps, so two
// processes that both judged the same directory stale could each remove
// "the stale one" and make their own: the second removes the first's fresh
// directory, and both believe they hold the lock. Everyone on this host who
// removes the scheduler lock (a bidder's stale takeover, the primary clearing
// a dead leader's lock, a leader letting go) therefore does it inside a turn:
// a second, short-lived directory `<file>.break`, made by mkdir, which only
// one process can hold. A turn left behind by a process that died inside it
// blocks the others for at most TURN_STALE_MS.
import fs from 'node:fs';
import { SECOND, sleep } from '../time.js';

const TURN_STALE_MS = 5 * SECOND;
/** How long a bidder waits for a turn before giving up until its next retry. */
const TURN_WAIT_MS = 2 * SECOND;
const TURN_POLL_MS = 5;

/** Ends the turn. */
export type EndTurn = () => void;

function turnPath(file: string): string {
  return `${file}.break`;
}

/** Takes the turn if it is free (or left by a dead holder); null when someone else has it. */
export function tryTurn(file: string): EndTurn | null {
  const turn = turnPath(file);
  try {
    fs.mkdirSync(turn);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    try {
      if (Date.now() - fs.statSync(turn).mtimeMs < TURN_STALE_MS) return null;
      fs.rmdirSync(turn);
      fs.mkdirSync(turn);
    } catch {
      return null;
    }
  }
  return () => fs.rmSync(turn, { recursive: true, force: true });
}

/** Waits for the turn (a holder keeps it for milliseconds); null when it stayed taken for TURN_WAIT_MS. */
export async function waitForTurn(file: string): Promise<EndTurn | null> {
  const giveUpAt = Date.now() + TURN_WAIT_MS;
  for (;;) {
    const end = tryTurn(file);
    if (end || Date.now() >= giveUpAt) return end;
    await sleep(TURN_POLL_MS);
  }
}

/**
 * The same, without giving up the thread: for the primary, which must judge a
 * dead leader's lock in the same tick it sees the worker exit. Turns last
 * milliseconds, so the wait is short; it gives up after maxWaitMs.
 */
export function waitForTurnSync(file: string, maxWaitMs = 200): EndTurn | null {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const giveUpAt = Date.now() + maxWaitMs;
  for (;;) {
    const end = tryTurn(file);
    if (end || Date.now() >= giveUpAt) return end;
    Atomics.wait(pause, 0, 0, TURN_POLL_MS);
  }
}

/** Runs `body` inside a turn; `busy` answers when the turn could not be had. */
export async function inTurn<T>(file: string, busy: () => T, body: () => Promise<T>): Promise<T> {
  const end = await waitForTurn(file);
  if (!end) return busy();
  try {
    return await body();
  } finally {
    end();
  }
}
