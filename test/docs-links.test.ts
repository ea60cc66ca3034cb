// Every relative link in the README, CONTRIBUTING.md and docs/*.md resolves:
// the file exists and, when the link names an anchor, a heading of that file
// makes it (GitHub's slugs). The README stays short enough to read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const README_MAX_LINES = 250;

function docFiles(): string[] {
  const docsDir = path.join(root, 'docs');
  const docs = existsSync(docsDir) ? readdirSync(docsDir).filter((name) => name.endsWith('.md')).map((name) => path.join('docs', name)) : [];
  return ['README.md', 'CONTRIBUTING.md', ...docs.sort()];
}

/** The text outside fenced code blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower-case, markup and punctuation other than '-' and '_' dropped, spaces to '-'. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a file's headings make, numbered as GitHub numbers repeated ones (`-1`, `-2`). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const base = slug(match[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

interface Link {
  from: string;
  target: string;
}

function relativeLinks(file: string): Link[] {
  const text = prose(readFileSync(path.join(root, file), 'utf8'));
  const links: Link[] = [];
  for (const match of text.matchAll(/\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = match[1];
    // Absolute URLs (http:, mailto:) and site-absolute paths are not files of this repository.
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('/')) continue;
    links.push({ from: file, target });
  }
  return links;
}

/** Why a link does not resolve, or null when it does. */
function brokenBecause({ from, target }: Link): string | null {
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  const file = pathPart === '' ? path.join(root, from) : path.resolve(root, path.dirname(from), decodeURIComponent(pathPart));
  if (!existsSync(file)) return `${from}: ${target}: no file ${path.relative(root, file)}`;
  if (anchor === undefined || anchor === '') return null;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return `${from}: ${target}: an anchor into something that is not a markdown file`;
  const anchors = anchorsOf(readFileSync(file, 'utf8'));
  return anchors.has(decodeURIComponent(anchor)) ? null : `${from}: ${target}: no heading in ${path.relative(root, file)} makes #${anchor}`;
}

test('slugs follow GitHub: lower-case, punctuation dropped, spaces to dashes', () => {
  assert.equal(slug('Deploying new code: SIGHUP, a rolling restart'), 'deploying-new-code-sighup-a-rolling-restart');
  assert.equal(slug("From a stage's `start_date` to the UPDATE"), 'from-a-stages-start_date-to-the-update');
  assert.equal(slug('The database away for 30 s'), 'the-database-away-for-30-s');
  assert.equal(slug('Terms: the database decides'), 'terms-the-database-decides');
});

test('a link to a missing file or heading is reported', () => {
  assert.match(brokenBecause({ from: 'README.md', target: 'docs/no-such-file.md' }) ?? '', /no file/);
  assert.match(brokenBecause({ from: 'README.md', target: 'README.md#no-such-heading' }) ?? '', /no heading/);
  assert.equal(brokenBecause({ from: 'README.md', target: '#quick-start' }), null);
});

test('every relative link in the README, CONTRIBUTING.md and docs/ resolves', () => {
  const files = docFiles();
  for (const file of files) assert.ok(existsSync(path.join(root, file)), `${file} exists`);
  const links = files.flatMap(relativeLinks);
  assert.ok(links.length > 0, 'the docs link to each other');
  const broken = links.map(brokenBecause).filter((reason): reason is string => reason !== null);
  assert.deepEqual(broken, []);
});

test(`the README has at most ${README_MAX_LINES} lines`, () => {
  const lines = readFileSync(path.join(root, 'README.md'), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  assert.ok(lines.length <= README_MAX_LINES, `README.md has ${lines.length} lines`);
});
