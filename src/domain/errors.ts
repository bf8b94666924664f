/**
 * Typed domain errors. Domain code throws these and never thinks about HTTP;
 * `http/errors.ts` is the one place that maps them to status codes and the error envelope.
 */
/** One problem with the input: which field, why, and for multi-line content the line. */
export type FieldIssue = { field: string; message: string; line?: number };

export abstract class DomainError extends Error {
  abstract readonly kind: 'invalid' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'rate_limited';
  constructor(
    /** Stable, machine-readable code (`invalid_input`, `workspace_not_found`, …). */
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class Invalid extends DomainError {
  readonly kind = 'invalid';
  constructor(code: string, message: string, readonly issues: FieldIssue[] = []) {
    super(code, message, issues.length ? { issues } : undefined);
  }
}

export class Unauthorized extends DomainError {
  readonly kind = 'unauthorized';
}

export class Forbidden extends DomainError {
  readonly kind = 'forbidden';
}

export class NotFound extends DomainError {
  readonly kind = 'not_found';
}

export class Conflict extends DomainError {
  readonly kind = 'conflict';
}

export class RateLimited extends DomainError {
  readonly kind = 'rate_limited';
  constructor(code: string, message: string, readonly retryAfterSeconds: number) {
    super(code, message, { retryAfterSeconds });
  }
}
