// HTML forms: a refused form comes back with the entered values and a message
// beside each field, with the status the API would have answered.
import type { Request, Response } from 'express';
import { ConflictError, PayloadTooLargeError, ValidationError, type AppError, type FieldProblem } from '../errors.js';
import { readableBody } from './body.js';
import { END_NOT_AFTER_START } from '../domain/stages.js';
import { translateMessage } from '../i18n/messages.js';
import { requestLanguage } from '../i18n/request-language.js';

export type FieldErrors = Record<string, string>;

// The domain names other fields by their JSON names; a page names them as its
// labels do. Keyed by the problem's code, so a reworded message still matches.
const PAGE_WORDING: Record<string, string> = { [END_NOT_AFTER_START]: 'must be after the start date' };

/** Messages per field of a validation error, or of a conflict naming fields (a taken code); else undefined. */
export function fieldErrorsOf(err: unknown): FieldErrors | undefined {
  let problems: FieldProblem[] | undefined;
  if (err instanceof ValidationError) problems = err.problems;
  else if ((err instanceof ConflictError || err instanceof PayloadTooLargeError) && Array.isArray(err.details)) problems = err.details as FieldProblem[];
  if (!problems) return undefined;
  const errors: FieldErrors = {};
  const language = requestLanguage();
  for (const { field, message, code } of problems) errors[field] ??= translateMessage((code && PAGE_WORDING[code]) || message, language);
  return errors;
}

/** Renders `view` again for a form error; any other error is rethrown for the error page. */
export async function renderFormError(res: Response, err: unknown, view: string, locals: () => Promise<object> | object): Promise<void> {
  const errors = fieldErrorsOf(err);
  if (!errors) throw err;
  res.status((err as AppError).status).render(view, { ...(await locals()), errors });
}

/** The named fields of a form body as strings, to show back to the user. */
export function formValues<K extends string>(body: unknown, names: readonly K[]): Record<K, string> {
  const source = (readableBody(body) ?? {}) as Record<string, unknown>;
  return Object.fromEntries(names.map((name) => [name, typeof source[name] === 'string' ? source[name] : ''])) as Record<K, string>;
}

/** A form's blank fields count as not given, so "required" and defaults apply. */
export function withoutBlanks<T extends Record<string, string>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== '')) as Partial<T>;
}

/** A one-time message for the next page (after a redirect). */
export function flash(req: Request, message: string): void {
  req.session.flash = message;
}
