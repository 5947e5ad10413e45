/**
 * The contract between the approval API (`lambdas/api`) and the pipeline's `WaitForApproval`
 * task (`lambdas/pipeline`, `state-machines/training-pipeline.asl.json`). Both sides import it;
 * nothing else spells these names or shapes.
 *
 * The API first moves the version, conditionally, from PENDING_APPROVAL to APPROVED or REJECTED
 * (so exactly one decision wins), then answers the token stored on the version:
 * - approve: `SendTaskSuccess({ taskToken, output: JSON.stringify(ApprovalOutput) })`
 * - reject:  `SendTaskFailure({ taskToken, error: APPROVAL_REJECTED_ERROR, cause: JSON.stringify(RejectionCause) })`
 * A decision whose callback fails with `TaskTimedOut` / `TaskDoesNotExist` arrived too late:
 * the pipeline has already expired the version (EXPIRED), so the API answers 409.
 */
import * as z from './zod';
import { PIPELINE_ERRORS } from './errors';

/** `SendTaskFailure.error` for a rejection; the ASL's `WaitForApproval` Catch matches exactly this name. */
export const APPROVAL_REJECTED_ERROR = PIPELINE_ERRORS.rejected;

/** `SendTaskSuccess.output` (JSON): lands in `$.approval`; `IsApproved` checks `decision`. */
export const approvalOutputSchema = z.object({
  decision: z.literal('APPROVED'),
  by: z.string().check(z.minLength(1)),
  reason: z.string(),
  at: z.iso.datetime(),
});
export type ApprovalOutput = z.infer<typeof approvalOutputSchema>;

/** `SendTaskFailure.cause` (JSON) for a rejection; the run records it (`RunRecord.rejection`). */
export const rejectionCauseSchema = z.object({
  by: z.string().check(z.minLength(1)),
  reason: z.string(),
  at: z.iso.datetime(),
});
export type RejectionCause = z.infer<typeof rejectionCauseSchema>;

/** Step Functions caps `SendTaskFailure.cause` at 32,768 characters. */
const MAX_CAUSE_LENGTH = 32_768;

/** What `SendTaskSuccess` sends for an approval: the validated output, as JSON. */
export function approvalOutput(decision: ApprovalOutput): string {
  return JSON.stringify(approvalOutputSchema.parse(decision));
}

/**
 * What `SendTaskFailure` sends for a rejection: the error the ASL catches and the validated
 * cause as JSON. A reason too long for the cause is shortened so the JSON stays whole.
 */
export function rejectionFailure(cause: RejectionCause): { error: typeof APPROVAL_REJECTED_ERROR; cause: string } {
  const parsed = rejectionCauseSchema.parse(cause);
  let json = JSON.stringify(parsed);
  if (json.length > MAX_CAUSE_LENGTH) {
    const excess = json.length - MAX_CAUSE_LENGTH;
    json = JSON.stringify({ ...parsed, reason: parsed.reason.slice(0, Math.max(0, parsed.reason.length - excess - 16)) });
  }
  return { error: APPROVAL_REJECTED_ERROR, cause: json };
}

/** The rejection cause of a `SendTaskFailure` (the `Cause` the ASL's Catch stores), or undefined if it is not one. */
export function parseRejectionCause(cause: unknown): RejectionCause | undefined {
  if (typeof cause !== 'string') return undefined;
  try {
    const parsed = rejectionCauseSchema.safeParse(JSON.parse(cause));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
