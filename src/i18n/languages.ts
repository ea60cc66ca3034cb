// The languages pages, emails and feeds are written in, and how a language tag
// from a browser, a cookie or the database maps onto one of them.

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';

/** Each language named in itself, for the switch in the page footer. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', 'zh-CN': '简体中文' };

/**
 * `en-GB` reads English; `zh`, `zh-CN`, `zh-Hans` (and any other Chinese tag:
 * a reader of traditional script reads simplified better than English) read
 * Simplified Chinese; anything else is no language of ours.
 */
export function languageFromTag(tag: string | null | undefined): Language | undefined {
  const primary = tag?.trim().toLowerCase().split(/[-_]/)[0];
  if (primary === 'en') return 'en';
  if (primary === 'zh') return 'zh-CN';
  return undefined;
}

/** The locale `Intl` formats with for a language. */
export function intlLocale(language: Language): string {
  return language === 'zh-CN' ? 'zh-CN' : 'en-GB';
}
