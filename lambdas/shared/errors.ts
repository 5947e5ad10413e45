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

/**
 * The error names that cross into the training pipeline's state machine, matched by its Retry and
 * Catch (`ErrorEquals` in state-machines/training-pipeline.asl.json) or recorded as a run's failure.
 * The steps Lambda throws errors with these `name`s (Lambda reports the name as the task's
 * error); the approval API sends `rejected` with SendTaskFailure. Nothing else spells them:
 * test/structure/pipeline-errors.test.ts checks that every name a Retry or Catch matches is one
 * of these (and that a handler raises it), a `States.*` name, or its Task's service integration's.
 */
export const PIPELINE_ERRORS = {
  /** A transient AWS error in a step, nothing half-written: retried with backoff. */
  unavailable: 'Caretaker.Unavailable',
  /** The dataset version is unknown or did not pass validation: training never starts on it. */
  datasetNotValidated: 'Caretaker.DatasetNotValidated',
  /** Another deployment holds the endpoint's lease: StartDeployment retries, a rollback is refused. */
  deploymentInFlight: 'Caretaker.DeploymentInFlight',
  /** The endpoint is being changed by something else. */
  endpointBusy: 'Caretaker.EndpointBusy',
  /** The endpoint exists but SageMaker cannot update it. */
  endpointUnusable: 'Caretaker.EndpointUnusable',
  /** An approver rejected the version (`SendTaskFailure.error`, lambdas/shared/approval.ts). */
  rejected: 'Caretaker.Rejected',
} as const;
export type PipelineErrorName = (typeof PIPELINE_ERRORS)[keyof typeof PIPELINE_ERRORS];
