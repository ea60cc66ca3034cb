// Durations are written as `10 * SECOND` so their unit is never in doubt.
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

// A list of stages formats the same few instants on every request (two per
// stage), so a bounded memo of recent instants answers the repeats; it starts
// over when full, so it never grows without bound.
const ISO_MEMO_SIZE = 4096;
const isoMemo = new Map<number, string>();

/** The API's one output format for instants: ISO-8601 UTC with milliseconds. */
export function toIso(ms: number): string {
  let iso = isoMemo.get(ms);
  if (iso === undefined) {
    iso = new Date(ms).toISOString();
    if (isoMemo.size >= ISO_MEMO_SIZE) isoMemo.clear();
    isoMemo.set(ms, iso);
  }
  return iso;
}

export function toIsoOrNull(ms: number | null): string | null {
  return ms === null ? null : toIso(ms);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
