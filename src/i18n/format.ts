// Dates and durations for people, through Intl, in the course's zone and the
// reader's language. The browser's countdown (views/static/live.js) words its
// durations with the same catalogue entries.
import { intlLocale, type Language } from './languages.js';
import type { Translate } from './i18n.js';

const formats = new Map<string, Intl.DateTimeFormat>();

function dateTimeFormat(zone: string, language: Language): Intl.DateTimeFormat {
  const key = `${language} ${zone}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(intlLocale(language), { timeZone: zone, day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(key, format);
  }
  return format;
}

/** "12 Mar 2027, 09:00 (Europe/Berlin)" / "2027年3月12日 09:00（Europe/Berlin）". */
export function formatDateTime(ms: number, zone: string, language: Language): string {
  const text = dateTimeFormat(zone, language).format(new Date(ms));
  return language === 'zh-CN' ? `${text}（${zone}）` : `${text} (${zone})`;
}

/** "2 h 13 min", "3 d 4 h", "40 s": the two largest units of a duration. */
export function formatDuration(ms: number, t: Translate): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const units: [string, number][] = [
    ['days', Math.floor(seconds / 86_400)],
    ['hours', Math.floor(seconds / 3600) % 24],
    ['minutes', Math.floor(seconds / 60) % 60],
    ['seconds', seconds % 60],
  ];
  const first = units.findIndex(([, n]) => n > 0);
  if (first === -1) return t('duration.seconds', { count: 0 });
  return units
    .slice(first, first + 2)
    .filter(([, n]) => n > 0)
    .map(([unit, n]) => t(`duration.${unit}`, { count: n }))
    .join(' ');
}
