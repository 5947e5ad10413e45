/**
 * SageMaker API errors as Step Functions raises them to a Task's Retry/Catch, so that local
 * executions and the tests' scripted SageMaker fail tasks with the names and Causes the service
 * uses (not the SDK's error names, which Step Functions never raises).
 *
 * - Optimized integrations (`arn:aws:states:::sagemaker:<op>[.sync]`) call SageMaker through the
 *   AWS SDK for Java v1: an error the service model declares for SageMaker (botocore
 *   `sagemaker` service model, shapes with `"exception": true`: ResourceInUse,
 *   ResourceLimitExceeded, ResourceNotFound, ConflictException) is raised under its Java class
 *   name, `SageMaker.ResourceLimitExceededException`; every other code (ThrottlingException,
 *   ValidationException, InternalFailure, ServiceUnavailable, AccessDeniedException …) is the
 *   base class, `SageMaker.AmazonSageMakerException`. AWS's Step Functions/SageMaker examples
 *   retry on exactly these two names. The Cause is the Java SDK v1 `AmazonServiceException`
 *   message: `<message> (Service: AmazonSageMaker; Status Code: 400; Error Code: <code>;
 *   Request ID: <id>; Proxy: null)` (the format AWS documentation quotes for its services, e.g.
 *   the AWS KMS developer guide's ThrottlingException).
 * - AWS SDK integrations (`arn:aws:states:::aws-sdk:sagemaker:<op>`): `ServiceName.ErrorName`
 *   in PascalCase with the `Exception` suffix always added (Step Functions developer guide,
 *   "AWS SDK service integrations"): `SageMaker.ResourceNotFoundException`,
 *   `SageMaker.ThrottlingException`.
 */
import { randomUUID } from 'node:crypto';
import { TaskError } from './runner';

/** The error shapes botocore's SageMaker service model marks as exceptions (modeled errors). */
export const MODELED_SAGEMAKER_ERRORS: ReadonlySet<string> = new Set(['ConflictException', 'ResourceInUse', 'ResourceLimitExceeded', 'ResourceNotFound']);

const withSuffix = (code: string) => (code.endsWith('Exception') ? code : `${code}Exception`);

export interface SageMakerErrorDetails {
  /** HTTP status SageMaker answered with. @default 400 */
  readonly status?: number;
  readonly requestId?: string;
}

/** The Cause Step Functions gives a SageMaker API error of an optimized integration. */
export function optimizedIntegrationCause(code: string, message: string, details: SageMakerErrorDetails = {}): string {
  return `${message} (Service: AmazonSageMaker; Status Code: ${details.status ?? 400}; Error Code: ${code}; Request ID: ${details.requestId ?? randomUUID()}; Proxy: null)`;
}

/** A SageMaker API error of an optimized integration (`arn:aws:states:::sagemaker:…`). */
export function optimizedIntegrationError(code: string, message: string, details: SageMakerErrorDetails = {}): TaskError {
  const name = MODELED_SAGEMAKER_ERRORS.has(code) ? `SageMaker.${withSuffix(code)}` : 'SageMaker.AmazonSageMakerException';
  return new TaskError(name, optimizedIntegrationCause(code, message, details));
}

/** A SageMaker API error of the AWS SDK integration (`arn:aws:states:::aws-sdk:sagemaker:…`). */
export function sdkIntegrationError(code: string, message: string, details: SageMakerErrorDetails = {}): TaskError {
  return new TaskError(`SageMaker.${withSuffix(code)}`, `${message} (Service: SageMaker, Status Code: ${details.status ?? 400}, Request ID: ${details.requestId ?? randomUUID()})`);
}
