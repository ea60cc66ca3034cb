// Errors the HTTP layer turns into `{"error":{"code","message","details"?}}`.
// Only the kinds that callers branch on get a class.

export interface FieldProblem {
  field: string;
  message: string;
  /** For code that words the problem its own way (a form page); not part of the JSON answer. */
  code?: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(readonly problems: FieldProblem[]) {
    super(
      400,
      'validation_failed',
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      problems.map(({ field, message }) => ({ field, message })),
    );
  }

  static field(field: string, message: string, code?: string): ValidationError {
    return new ValidationError([{ field, message, ...(code ? { code } : {}) }]);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Sign in or send a valid bearer token') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'You are not allowed to do this') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string) {
    super(404, 'not_found', `${what} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: unknown) {
    super(409, 'conflict', message, details);
  }
}

export class UnavailableError extends AppError {
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}

/** 413 naming the field whose value was too large (a file beyond its stage's limit). */
export class PayloadTooLargeError extends AppError {
  constructor(field: string, message: string) {
    super(413, 'payload_too_large', `${field}: ${message}`, [{ field, message }]);
  }
}
