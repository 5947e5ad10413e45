/**
 * What `caretaker retrain` and `caretaker runs show [--watch]` say about a run: every state as
 * it changes, with the time the run has taken, and — when it waits for approval — which version,
 * who may approve it, and the exact command to do so. A retraining request that started no run
 * is shown as what it is: `QUEUED` (the starter has not decided yet) or `SUPPRESSED` and why.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CaretakerClient, ModelSummary, RunRecord, RunRequestView } from '../lib/client';

export type RunView = RunRecord | RunRequestView;

/** The state the pipeline waits in for a person's decision (`state-machines/training-pipeline.asl.json`). */
export const APPROVAL_STATE = 'WaitForApproval';

/** Statuses a watch keeps following: the request is queued, or the run is under way. */
export const isUnderway = (run: RunView): boolean => run.status === 'QUEUED' || run.status === 'RUNNING';

const isRun = (run: RunView): run is RunRecord => 'startedAt' in run;

/** `3h 4m`, `4m 05s`, `12s`. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** One line for a run or a request, with how long it has taken (or took). */
export function describeRun(run: RunView, now: Date): string {
  if (!isRun(run)) {
    if (run.status === 'SUPPRESSED') {
      return `${run.runId}: SUPPRESSED — ${run.reason ?? 'suppressed by the retraining policy'}; no run was started`;
    }
    const since = run.requestedAt ? ` for ${formatElapsed(now.getTime() - Date.parse(run.requestedAt))}` : '';
    return `${run.runId}: QUEUED${since} (the retraining starter has not started it yet)`;
  }
  const end = run.endedAt ? Date.parse(run.endedAt) : now.getTime();
  const elapsed = formatElapsed(end - Date.parse(run.startedAt));
  const failure = run.failure ? ` — failed in ${run.failure.state}: ${run.failure.error} ${run.failure.cause}` : '';
  const why = run.reason && run.status !== 'RUNNING' && !run.failure ? ` — ${run.reason}` : '';
  return `${run.runId}: ${run.status}${run.currentState ? ` at ${run.currentState}` : ''}${failure}${why} (${run.endedAt ? `took ${elapsed}, ended ${run.endedAt}` : `${elapsed} since start`})`;
}

/** Who may approve a version of this model, in the API's own rules (`lambdas/api/domain.ts`). */
export function eligibleApprovers(model: ModelSummary, requestedBy: string): string {
  const who = model.approvers?.length
    ? model.approvers.map((entry) => (typeof entry === 'string' ? entry : `${entry.roleArn} (Cognito group ${entry.cognitoGroup})`)).join(', ')
    : 'anyone granted approve on this API (approval.approvers is not set)';
  const distinctRole = model.requireDistinctRole ? ', nor anyone acting through the requester\'s role' : '';
  return `${who} — but not the requester, ${requestedBy}${distinctRole}`;
}

/** The lines under a run that waits for approval: version, deadline, who may approve, the commands. */
export async function approvalHint(client: CaretakerClient, run: RunRecord): Promise<string[]> {
  if (run.version === undefined) return ['  waiting for approval (the run has not recorded its version yet)'];
  const [{ model }, check, version] = await Promise.all([
    client.getModel(run.model),
    client.checkDecision(run.model, run.version),
    client.getVersion(run.model, run.version),
  ]);
  const { comparison } = version;
  const metric = `${comparison.metricName} ${comparison.candidate} vs champion ${comparison.champion ?? '- (none)'}`;
  return [
    `  version ${run.version} of ${run.model} waits for approval${check.expiresAt ? ` until ${check.expiresAt}` : ''} (${metric})`,
    `  may approve: ${eligibleApprovers(model, version.requestedBy)}`,
    check.allowed ? `  you (${check.caller}) may approve it` : `  you (${check.caller}) may not: ${check.reason ?? 'refused'}`,
    `  approve: npx caretaker approve ${run.model} ${run.version} --reason "<why>"`,
    `  reject:  npx caretaker reject ${run.model} ${run.version} --reason "<why>"`,
  ];
}

export interface WatchOptions {
  /** Seconds between polls. */
  readonly interval: number;
  /** Keep polling while the run is under way; without it, one look. */
  readonly watch: boolean;
  readonly print: (run: RunView, lines: readonly string[]) => void;
  readonly now?: () => Date;
  readonly wait?: (ms: number) => Promise<unknown>;
}

/**
 * Shows a run, and with `watch` every change of status or state until it ends. At the approval
 * wait the hint is printed once per version. Returns the last view.
 */
export async function followRun(client: CaretakerClient, runId: string, options: WatchOptions): Promise<RunView> {
  const now = options.now ?? (() => new Date());
  const wait = options.wait ?? ((ms: number) => sleep(ms));
  let shownKey: string | undefined;
  let hinted: number | undefined;
  for (;;) {
    const run = await client.getRun(runId);
    const key = `${run.status}|${isRun(run) ? (run.currentState ?? '') : ''}|${isRun(run) ? String(run.version ?? '') : ''}`;
    if (key !== shownKey) {
      const lines = [describeRun(run, now())];
      if (isRun(run) && run.status === 'RUNNING' && run.currentState === APPROVAL_STATE && run.version !== hinted) {
        lines.push(...(await approvalHint(client, run)));
        hinted = run.version;
      }
      options.print(run, lines);
      shownKey = key;
    }
    if (!options.watch || !isUnderway(run)) return run;
    await wait(options.interval * 1000);
  }
}

/** After `POST /retrain`: waits up to `seconds` for the starter's decision (started or suppressed). */
export async function awaitDecision(
  client: CaretakerClient,
  runId: string,
  seconds: number,
  wait: (ms: number) => Promise<unknown> = (ms) => sleep(ms),
): Promise<RunView> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const run = await client.getRun(runId);
    if (run.status !== 'QUEUED' || Date.now() >= deadline) return run;
    await wait(Math.min(1000, Math.max(0, deadline - Date.now())));
  }
}
