// Cursors of the paged lists. A cursor is the sort key of the last item of a
// page, written as integers joined by dots ("12", or "1767225600000.12" for a
// list ordered by a date and then the id). Clients pass it back unchanged; a
// cursor this list could not have handed out is a 400 naming `cursor`.
import type { Request } from 'express';
import { ValidationError } from '../errors.js';
import { parseInput } from '../validation.js';
import { pageSchema } from './schemas.js';

const PART = /^-?\d{1,16}$/;

export function encodeCursor(parts: readonly number[]): string {
  return parts.join('.');
}

/** The cursor's `arity` integers; undefined for the first page. */
export function decodeCursor(cursor: string | undefined, arity: number): number[] | undefined {
  if (cursor === undefined) return undefined;
  const parts = cursor.split('.');
  if (parts.length !== arity || !parts.every((part) => PART.test(part) && Number.isSafeInteger(Number(part)))) {
    throw ValidationError.field('cursor', 'is not a cursor this list gave out');
  }
  return parts.map(Number);
}

/** `?limit=&cursor=` of a list whose cursor has `arity` parts. */
export function pageQuery(req: Request, arity: number): { limit: number; cursor: number[] | undefined } {
  const { limit, cursor } = parseInput(pageSchema, req.query);
  return { limit, cursor: decodeCursor(cursor, arity) };
}

/** The JSON of one page: `{"items","nextCursor"}`, the cursor null on the last page. */
export function pageJson<T, K>(page: { items: T[]; nextCursor: K | null }, toJson: (item: T) => unknown, keyParts: (key: K) => readonly number[]) {
  return { items: page.items.map(toJson), nextCursor: page.nextCursor === null ? null : encodeCursor(keyParts(page.nextCursor)) };
}
