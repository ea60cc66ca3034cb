// The language of the request being served, for the view helpers that format
// dates deep inside page builders (http/local-time.ts). Set once per request
// by the language middleware (http/i18n.ts); outside a request it is English.
// Passing it down every page builder by hand would thread one argument
// through a dozen signatures that have no other use for it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { DEFAULT_LANGUAGE, type Language } from './languages.js';
import { translator } from './i18n.js';

const storage = new AsyncLocalStorage<Language>();

export function runInLanguage<T>(language: Language, work: () => T): T {
  return storage.run(language, work);
}

export function requestLanguage(): Language {
  return storage.getStore() ?? DEFAULT_LANGUAGE;
}

/** A catalogue entry in the language of the request being served. */
export function say(key: string, values?: Record<string, unknown>): string {
  return translator(requestLanguage())(key, values);
}
