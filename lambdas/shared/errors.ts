/**
 * The one error hierarchy of Caretaker's domain code. Handlers map it to HTTP in one place;
 * anything that is not a `CaretakerError` is an internal error and is never shown to a client.
 */
export interface ErrorDetail {
  /** Dotted path of the offending field, e.g. `body.reason` or `models[0].name`. */
  readonly field?: string;
  readonly message: string;
}

export abstract class CaretakerError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  constructor(
    message: string,
    readonly details?: readonly ErrorDetail[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request or input is malformed or breaks a rule (400). */
export class Invalid extends CaretakerError {
  readonly status = 400;
  readonly code = 'Invalid';
}

/** The caller is known but may not do this (403). */
export class Forbidden extends CaretakerError {
  readonly status = 403;
  readonly code = 'Forbidden';
}

/** The named thing does not exist (404). */
export class NotFound extends CaretakerError {
  readonly status = 404;
  readonly code = 'NotFound';
}

/** The thing exists but is not in a state that allows this (409). */
export class Conflict extends CaretakerError {
  readonly status = 409;
  readonly code = 'Conflict';
}

/** The request body is larger than accepted (413). */
export class PayloadTooLarge extends CaretakerError {
  readonly status = 413;
  readonly code = 'PayloadTooLarge';
}

/** A dependency failed in a way a retry may fix (503). Nothing was changed. */
export class Unavailable extends CaretakerError {
  readonly status = 503;
  readonly code = 'Unavailable';
}
