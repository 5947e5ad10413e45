/**
 * Errors as SageMaker's JSON 1.1 protocol sends them: HTTP 400 with `{"__type", "message"}`.
 * The SDK turns `__type` into the error's `name` (`ResourceNotFound`, `ValidationException` …).
 */
export class SageMakerFault extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    /** More members of the error body (the runtime's ModelError carries the model's answer). */
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

export const validationError = (message: string) => new SageMakerFault('ValidationException', message);
export const notFound = (message: string) => new SageMakerFault('ResourceNotFound', message);
export const inUse = (message: string) => new SageMakerFault('ResourceInUse', message);

/** SageMaker's rule for job, model, config and endpoint names. */
export const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export function checkName(kind: string, name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw validationError(`1 validation error detected: Value '${name}' at '${kind}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`);
  }
}
