// "P1D" as its reader says it: "1 day" / "1 天".
import { Duration } from 'luxon';
import type { Translate } from '../i18n/i18n.js';

const UNITS = ['weeks', 'days', 'hours', 'minutes', 'seconds'] as const;

export function reminderLead(reminder: string, t: Translate): string {
  const d = Duration.fromISO(reminder).shiftTo(...UNITS).normalize();
  const parts = UNITS.filter((unit) => d.get(unit) > 0).map((unit) => t(`lead.${unit}`, { count: d.get(unit) }));
  return parts.join(' ') || reminder;
}
