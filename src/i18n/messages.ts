// Messages the domain words in English (errors, refusals) put into the
// reader's language at the edge, where the reader is known. The domain stays
// free of languages: the `messages` section of the English catalogue holds
// each message as the code words it, with {{placeholders}} for what varies,
// and the same key in another catalogue holds its translation. A message no
// entry matches stays English: the catalogue test lists the domain's messages
// so that none is missed.
import { i18n } from './i18n.js';
import { DEFAULT_LANGUAGE, type Language } from './languages.js';

interface Pattern {
  key: string;
  regex: RegExp;
  names: string[];
}

const PLACEHOLDER = /\{\{(\w+)\}\}/g;
// Placeholders that hold a message or a thing's kind, translated in turn; the
// others (names, dates, numbers) are what a person typed or the clock said.
const NESTED = new Set(['what', 'problem']);

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function patternOf(key: string, template: string): Pattern {
  const names: string[] = [];
  let source = '';
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    source += escapeRegex(template.slice(last, match.index)) + '(.+?)';
    names.push(match[1]);
    last = match.index + match[0].length;
  }
  source += escapeRegex(template.slice(last));
  return { key, regex: new RegExp(`^${source}$`, 's'), names };
}

let patterns: Pattern[] | undefined;

/** The English templates, longest first, so that a specific wording beats a general one. */
function englishPatterns(): Pattern[] {
  if (!patterns) {
    const section = (i18n.getResourceBundle(DEFAULT_LANGUAGE, 'translation') as { messages: Record<string, string> }).messages;
    patterns = Object.entries(section)
      .map(([key, template]) => patternOf(key, template))
      .sort((a, b) => b.regex.source.length - a.regex.source.length);
  }
  return patterns;
}

/** The message in `language`, its varying parts translated too where they are messages themselves. */
export function translateMessage(message: string, language: Language): string {
  if (language === DEFAULT_LANGUAGE) return message;
  return translateIn(message, language, 0);
}

function translateIn(message: string, language: Language, depth: number): string {
  // "field: problem; field: problem", as ValidationError words its summary.
  if (depth === 0 && message.includes('; ')) return message.split('; ').map((part) => translateIn(part, language, 1)).join('；');
  const fieldProblem = /^([\w.]+): (.+)$/s.exec(message);
  if (fieldProblem && !matchOf(message)) return `${fieldProblem[1]}: ${translateIn(fieldProblem[2], language, depth + 1)}`;
  const found = matchOf(message);
  if (!found || depth > 3) return message;
  const values = Object.fromEntries(found.pattern.names.map((name, i) => [name, NESTED.has(name) ? translateIn(found.values[i], language, depth + 1) : found.values[i]]));
  return i18n.t(`messages.${found.pattern.key}`, { lng: language, ...values });
}

function matchOf(message: string): { pattern: Pattern; values: string[] } | undefined {
  for (const pattern of englishPatterns()) {
    const match = pattern.regex.exec(message);
    if (match) return { pattern, values: match.slice(1) };
  }
  return undefined;
}
