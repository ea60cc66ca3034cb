// Builds dist/ when it is missing or older than any source, so `npm start`
// and `npm test` always run what is in the tree.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const sources = ['src', 'migrations'];
const stamp = path.join(root, 'dist', 'main.js');

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

// A production image ships dist/ without the sources: nothing to build from.
if (!fs.existsSync(path.join(root, 'src'))) process.exit(0);

const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
const inputs = [...sources.map((s) => newestMtime(path.join(root, s))), ...['tsconfig.json', 'tsconfig.base.json', 'package-lock.json'].map((f) => fs.statSync(path.join(root, f)).mtimeMs)];
if (built < Math.max(...inputs)) {
  process.stderr.write('Building dist/ ...\n');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  fs.utimesSync(stamp, new Date(), new Date());
}
