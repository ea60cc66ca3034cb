// The language catalogues (locales/*.json) against each other and against
// what the code prints: the same keys and placeholders in every language,
// every key the code asks for present, no template text outside a catalogue,
// and the domain's messages all translatable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readCatalogue } from '../src/i18n/i18n.js';
import { LANGUAGES } from '../src/i18n/languages.js';
import { translateMessage } from '../src/i18n/messages.js';

const root = path.resolve(import.meta.dirname, '..');
const PLURAL = /_(zero|one|two|few|many|other)$/;

function flatten(tree: Record<string, unknown>, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object') for (const [k, v] of flatten(value as Record<string, unknown>, name)) out.set(k, v);
    else out.set(name, String(value));
  }
  return out;
}

/** Keys without their plural suffix: Chinese has one form where English has two. */
const baseKeys = (flat: Map<string, string>) => new Set([...flat.keys()].map((k) => k.replace(PLURAL, '')));
const placeholders = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => path.join(e.parentPath, e.name));
}

const catalogues = new Map(LANGUAGES.map((language) => [language, flatten(readCatalogue(language))]));
const english = catalogues.get('en')!;

test('every catalogue has the same keys, none empty, with the same placeholders', () => {
  const expected = baseKeys(english);
  for (const [language, flat] of catalogues) {
    const keys = baseKeys(flat);
    assert.deepEqual([...expected].filter((k) => !keys.has(k)), [], `keys missing from ${language}`);
    assert.deepEqual([...keys].filter((k) => !expected.has(k)), [], `keys in ${language} that English lacks`);
    for (const [key, text] of flat) {
      assert.notEqual(text.trim(), '', `${language} ${key} is empty`);
      const englishText = english.get(key) ?? english.get(key.replace(PLURAL, '_other')) ?? english.get(key.replace(PLURAL, ''));
      assert.deepEqual(placeholders(text), placeholders(englishText ?? ''), `${language} ${key}: placeholders differ from English`);
    }
  }
});

test('every key the code asks for is in the catalogue', () => {
  const sources = [...filesUnder(path.join(root, 'views'), '.ejs'), ...filesUnder(path.join(root, 'src'), '.ts')];
  const known = baseKeys(english);
  const missing: string[] = [];
  for (const file of sources) {
    for (const match of readFileSync(file, 'utf8').matchAll(/\b(?:t|say)\('([\w.]+)'/g)) {
      // A whole section (`t('live', { returnObjects: true })`) counts when it has keys.
      const key = match[1];
      // A prefix (`t('status.' + status)`) counts when its section has keys.
      const section = key.endsWith('.') ? key : `${key}.`;
      if (!known.has(key) && ![...known].some((k) => k.startsWith(section))) missing.push(`${path.relative(root, file)}: ${key}`);
    }
  }
  assert.deepEqual(missing, []);
  // live.js words its countdown from the page's copy of the `live` section.
  const live = readFileSync(path.join(root, 'views/static/live.js'), 'utf8');
  const liveKeys = [...live.matchAll(/say\('(\w+)'/g), ...live.matchAll(/announce\(el, '(\w+)'\)/g)].map((m) => m[1]);
  const verbs = [...live.matchAll(/phrase\('(\w+)'/g)].map((m) => m[1]).flatMap((verb) => ['In', 'Tomorrow', 'On'].map((suffix) => verb + suffix));
  assert.deepEqual([...liveKeys, ...verbs].filter((k) => !english.has(`live.${k}`)), []);
});

// What a template may print outside a catalogue: the brand, examples of input, technical names.
const NOT_WORDS = ['Coursework', 'Europe/Berlin', 'https://…', 'p50 / p99 / max', 'pid'];

test('no template prints text that is not in a catalogue', () => {
  const strays: string[] = [];
  // field-aria.ejs prints attributes into its caller's tag, not text.
  for (const file of filesUnder(path.join(root, 'views'), '.ejs').filter((f) => !f.endsWith('field-aria.ejs'))) {
    let text = readFileSync(file, 'utf8')
      .replace(/<%[\s\S]*?%>/g, ' ')
      .replace(/<script[\s\S]*?<\/script>/g, ' ')
      .replace(/<!--[\s\S]*?-->/g, ' ');
    // Attributes people read (aria-label, title, placeholder, alt) as well as text.
    const attributes = [...text.matchAll(/\b(?:aria-label|title|placeholder|alt)="([^"]*)"/g)].map((m) => m[1]);
    text = [text.replace(/<[^>]*>/g, ' '), ...attributes].join(' ');
    for (const allowed of NOT_WORDS) text = text.split(allowed).join(' ');
    const words = text.match(/\p{L}[\p{L}'’-]*/gu);
    if (words) strays.push(`${path.relative(root, file)}: ${words.join(' ')}`);
  }
  assert.deepEqual(strays, []);
});

test("the domain's messages are in the Chinese catalogue", () => {
  const dirs = ['src/domain', 'src/http', 'src/uploads'].map((d) => path.join(root, d));
  const files = [...dirs.flatMap((d) => filesUnder(d, '.ts')), path.join(root, 'src/validation.ts'), path.join(root, 'src/errors.ts')];
  const untranslated: string[] = [];
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    // A message as the code writes it: `message: '...'`, `Error('...')`, `ValidationError.field('x', '...')`.
    const literals = [
      ...source.matchAll(/message: '([^'\n]+)'/g),
      ...source.matchAll(/(?:Forbidden|Unauthorized|Conflict|Unavailable)Error\('([^'\n]+)'/g),
      ...source.matchAll(/(?:Validation|PayloadTooLarge)Error(?:\.field)?\('\w+', '([^'\n]+)'/g),
      ...source.matchAll(/NotFoundError\('([^'\n]+)'/g),
    ].map((m) => m[1]);
    for (const message of literals) {
      const sample = source.includes(`NotFoundError('${message}'`) ? `${message} not found` : message;
      if (translateMessage(sample, 'zh-CN') === sample) untranslated.push(`${path.relative(root, file)}: ${sample}`);
    }
  }
  assert.deepEqual(untranslated, []);
});

test('a message with varying parts is translated around them; an unknown one stays as it is', () => {
  assert.equal(translateMessage('Course 12 not found', 'zh-CN'), '未找到课程 12');
  assert.equal(translateMessage('name: must not be empty; code: must be at most 40 characters', 'zh-CN'), 'name: 不能为空；code: 最多 40 个字符');
  assert.equal(translateMessage('Stage "Report" is pending: submissions open at 2027-03-01T09:00:00.000Z (your extension)', 'zh-CN'), '阶段“Report”尚未开始：提交将于 2027-03-01T09:00:00.000Z 开放（你的延期）');
  assert.equal(translateMessage('something nobody wrote down', 'zh-CN'), 'something nobody wrote down');
  assert.equal(translateMessage('Course 12 not found', 'en'), 'Course 12 not found');
});
