/** WaitForApproval's task-token step: stores the token on the version and asks for a decision. */
import * as z from '../../shared/zod';
import { Conflict } from '../../shared/errors';
import { metricComparison, RUN_VERSION_FIELDS, type StepPorts } from './ports';

// ---------------------------------------------------------------------------------------------
// WaitForApproval (the task-token Lambda)

export const requestApprovalInput = z.object({
  step: z.literal('requestApproval'),
  taskToken: z.string().check(z.minLength(1)),
  ...RUN_VERSION_FIELDS,
  comparison: metricComparison,
  metrics: z.record(z.string(), z.number()),
  requestedBy: z.string().check(z.minLength(1)),
  timeoutSeconds: z.int().check(z.positive()),
});

export async function requestApproval(input: z.infer<typeof requestApprovalInput>, ports: StepPorts): Promise<void> {
  const now = ports.now();
  const at = now.toISOString();
  const stored = await ports.store.transitionVersion(input.model, input.version, ['PENDING_APPROVAL'], 'PENDING_APPROVAL', {
    at,
    set: { taskToken: input.taskToken, approvalRequestedAt: at, approvalExpiresAt: new Date(now.getTime() + input.timeoutSeconds * 1000).toISOString() },
  });
  if (!stored) throw new Conflict(`version ${input.version} of ${input.model} is no longer waiting for approval`);
  await ports.store.updateRun(input.runId, { currentState: 'WaitForApproval' });
  await ports.publishApproval(approvalMessage(input, new Date(now.getTime() + input.timeoutSeconds * 1000)));
}

function approvalMessage(input: z.infer<typeof requestApprovalInput>, expiresAt: Date) {
  const { model, version, comparison: c } = input;
  const versus =
    c.champion !== undefined
      ? `${c.candidate} vs champion v${c.championVersion ?? '?'} ${c.champion} (${c.direction})`
      : `${c.candidate} (no champion yet; thresholds met)`;
  const body = [
    `Model ${model} version ${version} passed the gate and waits for a decision.`,
    '',
    `${c.metricName}: ${versus}`,
    ...Object.entries(input.metrics).map(([name, value]) => `  ${name} = ${value}`),
    '',
    `Run: ${input.runId} (requested by ${input.requestedBy}; they may not approve it)`,
    `Expires: ${expiresAt.toISOString()}`,
    '',
    `Approve: npx caretaker approve ${model} ${version} --reason "<why>"`,
    `Reject:  npx caretaker reject ${model} ${version} --reason "<why>"`,
  ].join('\n');
  return { subject: `Caretaker: approve ${model} v${version}?`.slice(0, 100), body };
}
