// Input validation with zod; every failure becomes a 400 that names the field.
import { z } from 'zod';
import { IANAZone } from 'luxon';
import { ValidationError } from './errors.js';

export { z };

export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input ?? {}, {
    error: (issue) => (issue.input === undefined ? 'is required' : undefined),
  });
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.flatMap((issue) =>
      // A strict object names each field it does not know, one problem per field.
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ field: [...issue.path, key].join('.'), message: 'is not a known field' }))
        : [{ field: issue.path.length ? issue.path.join('.') : 'body', message: issue.message }],
    ),
  );
}

/** An instant with an explicit offset (`Z` or `+02:00`), returned as epoch ms. */
export const instant = z
  .string()
  .refine((value) => z.iso.datetime({ offset: true }).safeParse(value).success, {
    message: 'must be an ISO-8601 date-time with an explicit offset, e.g. 2026-03-01T09:00:00Z or 2026-03-01T10:00:00+01:00',
  })
  .transform((value) => Date.parse(value));

export const timezone = z
  .string()
  .refine((value) => IANAZone.isValidZone(value), { message: 'must be an IANA time zone name such as Europe/Berlin' });

export const id = z.coerce.number().int().positive();

export const nonEmpty = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const email = z.string().trim().toLowerCase().pipe(z.email({ message: 'must be an email address' })).pipe(z.string().max(254));

export const password = z.string().min(8, 'must be at least 8 characters').max(1024, 'must be at most 1024 characters');

export const ROLES = ['admin', 'teacher', 'student'] as const;
export type Role = (typeof ROLES)[number];
export const role = z.enum(ROLES, { message: `must be one of ${ROLES.join(', ')}` });

/** Parses a route parameter that must be a positive whole number. */
export function parseId(value: unknown, field = 'id'): number {
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw ValidationError.field(field, 'must be a positive whole number');
  }
  return n;
}
