// Wall-clock times in a course's time zone <-> UTC epoch ms. Forms take
// `<input type="datetime-local">` values, which carry no zone: they mean the
// course's zone, never the server's or the browser's.
import { DateTime, IANAZone } from 'luxon';
import { HOUR } from '../time.js';
import { formatDateTime } from '../i18n/format.js';
import { requestLanguage } from '../i18n/request-language.js';

export type LocalInput = { ok: true; ms: number } | { ok: false; message: string };

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/**
 * The instant a datetime-local value names in `zone`. A wall time skipped by a
 * spring-forward gap is refused: shifting it silently would move a deadline
 * the teacher never wrote down.
 */
export function localInputToUtcMs(value: string, zone: string): LocalInput {
  if (value.trim() === '') return { ok: false, message: 'is required' };
  const match = LOCAL_INPUT.exec(value.trim());
  if (!match) return { ok: false, message: 'must be a date and time such as 2027-03-12T09:00' };
  const [, year, month, day, hour, minute, second = '0', fraction = '0'] = match;
  const wall = DateTime.fromObject(
    { year: +year, month: +month, day: +day, hour: +hour, minute: +minute, second: +second, millisecond: +fraction.padEnd(3, '0') },
    { zone: 'UTC' },
  );
  if (!wall.isValid || +hour > 23) return { ok: false, message: 'is not a real date and time' };

  // The offsets in force a day either side cover every DST rule in the tz
  // database; an offset fits when the instant it gives reads back as this
  // wall time. None fits: a gap. Two fit: a fall-back overlap.
  const tz = IANAZone.create(zone);
  const wallMs = wall.toMillis();
  const fits = [...new Set([tz.offset(wallMs - 24 * HOUR), tz.offset(wallMs), tz.offset(wallMs + 24 * HOUR)])]
    .map((offsetMinutes) => wallMs - offsetMinutes * 60_000)
    .filter((utcMs) => utcMs + tz.offset(utcMs) * 60_000 === wallMs);
  if (fits.length === 0) {
    return { ok: false, message: `does not exist in ${zone}: the clocks skip this time when they move forward` };
  }
  // Overlap: take the earlier instant, the first moment the clock shows this
  // time. A deadline then never falls later than anyone reading the clock
  // could expect, and it matches what browsers and Temporal ("compatible") do.
  return { ok: true, ms: Math.min(...fits) };
}

/** The datetime-local value for an instant in `zone`; seconds only when set. */
export function utcMsToLocalInput(ms: number, zone: string): string {
  const local = DateTime.fromMillis(ms, { zone });
  if (local.millisecond) return local.toFormat("yyyy-MM-dd'T'HH:mm:ss.SSS");
  if (local.second) return local.toFormat("yyyy-MM-dd'T'HH:mm:ss");
  return local.toFormat("yyyy-MM-dd'T'HH:mm");
}

/** For people: "12 Mar 2027, 09:00 (Europe/Berlin)", in the language of the request being served. */
export function formatLocal(ms: number, zone: string): string {
  return formatDateTime(ms, zone, requestLanguage());
}
