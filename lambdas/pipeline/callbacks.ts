/**
 * The contract between the approval API and the pipeline's `WaitForApproval` task.
 *
 * The API first moves the version, conditionally, from PENDING_APPROVAL to APPROVED or REJECTED
 * (so exactly one decision wins), then answers the token stored on the version:
 * - approve: `SendTaskSuccess({ taskToken, output: JSON.stringify(ApprovalOutput) })`
 * - reject:  `SendTaskFailure({ taskToken, error: APPROVAL_REJECTED_ERROR, cause: JSON.stringify(RejectionCause) })`
 * A decision whose callback fails with `TaskTimedOut` / `TaskDoesNotExist` arrived too late:
 * the pipeline has already expired the version (EXPIRED), so the API answers 409.
 */
import * as z from 'zod';

/** `SendTaskFailure.error` for a rejection; the ASL catches exactly this name. */
export const APPROVAL_REJECTED_ERROR = 'Caretaker.Rejected';

/** `SendTaskSuccess.output` (JSON): lands in `$.approval`; `IsApproved` checks `decision`. */
export const approvalOutputSchema = z.object({
  decision: z.literal('APPROVED'),
  by: z.string().min(1),
  reason: z.string(),
  at: z.iso.datetime(),
});
export type ApprovalOutput = z.infer<typeof approvalOutputSchema>;

/** `SendTaskFailure.cause` (JSON) for a rejection; recorded as the run's reason. */
export const rejectionCauseSchema = z.object({
  by: z.string().min(1),
  reason: z.string(),
  at: z.iso.datetime(),
});
export type RejectionCause = z.infer<typeof rejectionCauseSchema>;
