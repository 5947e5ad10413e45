/**
 * Whether a retraining request may start a run now: a plain function of the model's lease
 * state, its retraining policy and the clock, so every rule is testable without AWS.
 */
import type { TriggerKind } from '../shared/contracts';

/** Per-model settings, from `models[].retraining` in the config. */
export interface RetrainingPolicy {
  /** Dataset the model trains on (`models[].dataset.name`). */
  readonly dataset: string;
  /** No automatic run starts within this long of the previous run's start or end. */
  readonly cooldownHours: number;
  /** At most this many runs start in any 24 hours (automatic triggers). */
  readonly maxRunsPerDay: number;
  /** A lease not released within this long is considered lost: the next trigger may take it. */
  readonly leaseSeconds: number;
}

/**
 * The per-model retraining state, one item per model (`keys.lease(model)`). `holder` is set
 * while a run is in flight. `revision` guards every write (optimistic concurrency).
 */
export interface LeaseState {
  readonly model: string;
  readonly revision: number;
  readonly holder?: string;
  readonly executionArn?: string;
  readonly acquiredAt?: string;
  /** Named so it is NOT the table's TTL attribute (`expiresAt`): DynamoDB must never delete this item. */
  readonly leaseExpiresAt?: string;
  readonly lastStartedAt?: string;
  readonly lastEndedAt?: string;
  /** Start times within the last 24 hours, oldest first. */
  readonly recentStarts: readonly string[];
}

export const SUPPRESSION_REASONS = ['in-progress', 'cooldown', 'daily-cap', 'duplicate', 'no-dataset'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export type Decision =
  | { readonly action: 'start'; readonly takesExpiredLeaseFrom?: string }
  | { readonly action: 'resume' }
  | { readonly action: 'suppress'; readonly reason: Exclude<SuppressionReason, 'duplicate' | 'no-dataset'>; readonly detail: string };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Triggers a person asked for (`api`) skip the cooldown and the daily cap — those exist to
 * stop automation from retraining in a loop, not to overrule a human. Nothing skips the lease:
 * two runs of one model at once would race to register and deploy.
 */
export const bypassesCooldownAndCap = (kind: TriggerKind) => kind === 'api';

export function startsWithinDay(state: LeaseState, now: Date): string[] {
  const since = now.getTime() - DAY_MS;
  return state.recentStarts.filter((at) => Date.parse(at) > since);
}

export function decide(state: LeaseState, runId: string, kind: TriggerKind, policy: RetrainingPolicy, now: Date): Decision {
  const nowMs = now.getTime();
  let takesExpiredLeaseFrom: string | undefined;
  if (state.holder !== undefined) {
    // A previous attempt of this very request took the lease and then failed to finish.
    if (state.holder === runId) return { action: 'resume' };
    const expires = state.leaseExpiresAt === undefined ? Number.POSITIVE_INFINITY : Date.parse(state.leaseExpiresAt);
    if (expires > nowMs) {
      return { action: 'suppress', reason: 'in-progress', detail: `run ${state.holder} is in flight (lease until ${state.leaseExpiresAt ?? 'never'})` };
    }
    takesExpiredLeaseFrom = state.holder;
  }

  if (!bypassesCooldownAndCap(kind)) {
    const last = Math.max(
      state.lastStartedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(state.lastStartedAt),
      state.lastEndedAt === undefined ? Number.NEGATIVE_INFINITY : Date.parse(state.lastEndedAt),
    );
    const until = last + policy.cooldownHours * HOUR_MS;
    if (until > nowMs) {
      return { action: 'suppress', reason: 'cooldown', detail: `cooling down until ${new Date(until).toISOString()}` };
    }
    const recent = startsWithinDay(state, now);
    if (recent.length >= policy.maxRunsPerDay) {
      return {
        action: 'suppress',
        reason: 'daily-cap',
        detail: `${recent.length} runs started in the last 24 h (max ${policy.maxRunsPerDay})`,
      };
    }
  }
  return takesExpiredLeaseFrom === undefined ? { action: 'start' } : { action: 'start', takesExpiredLeaseFrom };
}

/** The lease state after `runId` starts at `now`. */
export function acquired(state: LeaseState, runId: string, policy: RetrainingPolicy, now: Date): LeaseState {
  const at = now.toISOString();
  return {
    model: state.model,
    revision: state.revision + 1,
    holder: runId,
    acquiredAt: at,
    leaseExpiresAt: new Date(now.getTime() + policy.leaseSeconds * 1000).toISOString(),
    lastStartedAt: at,
    ...(state.lastEndedAt === undefined ? {} : { lastEndedAt: state.lastEndedAt }),
    recentStarts: [...startsWithinDay(state, now), at],
  };
}

/** The lease state with `runId`'s hold and start taken back (its execution never started). */
export function withoutRun(state: LeaseState, runId: string): LeaseState {
  if (state.holder !== runId) return state;
  const recentStarts = state.recentStarts.filter((at) => at !== state.acquiredAt);
  const lastStartedAt = recentStarts.at(-1);
  return {
    model: state.model,
    revision: state.revision,
    ...(lastStartedAt === undefined ? {} : { lastStartedAt }),
    ...(state.lastEndedAt === undefined ? {} : { lastEndedAt: state.lastEndedAt }),
    recentStarts,
  };
}

/** The lease state after `runId`'s execution ended at `endedAt` (no-op if it does not hold the lease). */
export function released(state: LeaseState, runId: string, endedAt: string): LeaseState | undefined {
  if (state.holder !== runId) return undefined;
  return {
    model: state.model,
    revision: state.revision + 1,
    ...(state.lastStartedAt === undefined ? {} : { lastStartedAt: state.lastStartedAt }),
    lastEndedAt: endedAt,
    recentStarts: state.recentStarts,
  };
}
