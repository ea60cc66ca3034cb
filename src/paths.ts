// Where the project's files are at run time: src/ under tsx, dist/ when built;
// both sit one level below the project root.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** True when running the TypeScript sources (tests, tsx), false when built. */
export const runningFromSource = import.meta.url.endsWith('.ts');

export const projectRoot = path.resolve(here, '..');
