// What a stage takes as files: its own limit under the operator's ceiling
// (UPLOAD_MAX_BYTES), and its extensions. A file's name is what its author
// called it, kept to show and to name the download; it never becomes a path
// (the bytes are stored under their hash), so it is judged as text only.
import path from 'node:path';
import { ValidationError } from '../errors.js';

export type StageMode = 'individual' | 'team';
export const STAGE_MODES = ['individual', 'team'] as const;

/** Files one submission may carry. */
export const MAX_FILES_PER_SUBMISSION = 10;
/** A stored name's length in characters (the column holds 255). */
export const MAX_FILE_NAME_LENGTH = 255;

export interface FilePolicy {
  /** Null: the ceiling. */
  maxFileBytes: number | null;
  /** Lower-case, with the dot; empty: any. */
  allowedExtensions: string[];
}

/** ".PDF", "pdf" -> ".pdf". */
export function normaliseExtension(extension: string): string {
  const lower = extension.trim().toLowerCase();
  return lower.startsWith('.') ? lower : `.${lower}`;
}

/** 400 naming maxFileBytes when a stage asks for more than the operator allows. */
export function checkMaxFileBytes(maxFileBytes: number | null | undefined, ceiling: number): void {
  if (maxFileBytes !== undefined && maxFileBytes !== null && maxFileBytes > ceiling) {
    throw ValidationError.field('maxFileBytes', `must be at most ${ceiling} (UPLOAD_MAX_BYTES)`);
  }
}

/** The most one file may have for the stage: its own limit, never above the ceiling (which may have been lowered since). */
export function effectiveMaxFileBytes(policy: FilePolicy, ceiling: number): number {
  return Math.min(policy.maxFileBytes ?? ceiling, ceiling);
}

export function parseExtensions(stored: string | null | undefined): string[] {
  if (!stored) return [];
  const parsed: unknown = JSON.parse(stored);
  return Array.isArray(parsed) ? parsed.filter((e): e is string => typeof e === 'string') : [];
}

const files = (message: string) => ValidationError.field('files', message);

// C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and bidi overrides that make a name read as another.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * The name a file is kept under, or a 400 naming `files`. A browser may send a
 * whole client path (C:\Users\...\report.pdf): only its last part is kept, so
 * "../../x.pdf" is stored as "x.pdf". NUL and other control characters are
 * refused rather than stripped (the author would not recognise the name), as
 * are names longer than MAX_FILE_NAME_LENGTH and names that are only dots.
 */
export function storedFileName(given: string): string {
  if (UNSAFE_CHARACTERS.test(given)) throw files(`"${given.replace(UNSAFE_CHARACTERS, '?')}": a file name must not contain control characters`);
  const name = given.split(/[/\\]/).pop()!.normalize('NFC').trim();
  if (name === '' || /^\.+$/.test(name)) throw files(`"${given}" is not a file name`);
  if (name.length > MAX_FILE_NAME_LENGTH) throw files(`a file name must be at most ${MAX_FILE_NAME_LENGTH} characters (one has ${name.length})`);
  return name;
}

/** 400 naming `files` when the stage does not take this file's extension. */
export function checkExtension(name: string, allowed: readonly string[]): void {
  if (allowed.length === 0) return;
  const extension = path.extname(name).toLowerCase();
  if (!allowed.includes(extension)) throw files(`"${name}": this stage takes only ${allowed.join(', ')} files`);
}

export function tooManyFiles(): ValidationError {
  return files(`at most ${MAX_FILES_PER_SUBMISSION} files per submission`);
}
