// One i18next instance for the whole process, loaded synchronously from the
// catalogues in locales/ (one JSON file per language). Pages, mail and feeds
// all take a translator fixed to their reader's language from here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import i18next, { type TFunction } from 'i18next';
import { LanguageDetector } from 'i18next-http-middleware';
import { projectRoot } from '../paths.js';
import { DEFAULT_LANGUAGE, LANGUAGES, languageFromTag, type Language } from './languages.js';

export type Translate = TFunction;

/** The cookie the language switch sets for visitors who are not signed in. */
export const LANGUAGE_COOKIE = 'lang';

/** A language's catalogue as written, nested by page. */
export function readCatalogue(language: Language): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(projectRoot, 'locales', `${language}.json`), 'utf8')) as Record<string, unknown>;
}

export const i18n = i18next.createInstance();
// A request's language before anyone is known: the switch's cookie, else the
// browser's Accept-Language (http/i18n.ts puts a signed-in person's saved
// choice above both). Nothing is written back: the switch sets the cookie.
i18n.use(LanguageDetector);
void i18n.init({
  detection: {
    order: ['cookie', 'header'],
    lookupCookie: LANGUAGE_COOKIE,
    caches: false,
    convertDetectedLanguage: (tag: string) => languageFromTag(tag) ?? tag,
  },
  resources: Object.fromEntries(LANGUAGES.map((language) => [language, { translation: readCatalogue(language) }])),
  lng: DEFAULT_LANGUAGE,
  fallbackLng: DEFAULT_LANGUAGE,
  supportedLngs: [...LANGUAGES],
  // EJS escapes what a page prints; escaping here too would print &amp;.
  interpolation: { escapeValue: false },
  initAsync: false,
  // A key missing from a catalogue is a bug the catalogue test catches; at
  // run time the English text is the better thing to show than the key.
  returnNull: false,
});

/** The language a request asks for before anyone is known (the detector's order above), else English. */
export function detectedLanguage(req: unknown, res: unknown): Language {
  const found = (i18n.services.languageDetector as { detect(req: unknown, res: unknown): string | string[] | undefined }).detect(req, res);
  const tag = Array.isArray(found) ? found[0] : found;
  return (tag && languageFromTag(tag)) || DEFAULT_LANGUAGE;
}

const translators = new Map<Language, Translate>();

export function translator(language: Language): Translate {
  let t = translators.get(language);
  if (!t) translators.set(language, (t = i18n.getFixedT(language)));
  return t;
}
