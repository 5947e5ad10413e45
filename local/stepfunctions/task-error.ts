/** An error as Step Functions sees it: `Error` is `name`, `Cause` is `message`. */
export class TaskError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}
