import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acquired, decide, released, withoutRun, type LeaseState, type RetrainingPolicy } from '../../../lambdas/retraining/policy';
import type { TriggerKind } from '../../../lambdas/shared/contracts';

const policy: RetrainingPolicy = { dataset: 'churn', cooldownHours: 6, maxRunsPerDay: 3, leaseSeconds: 24 * 3600 };
const T0 = new Date('2026-11-22T10:00:00.000Z');
const hours = (h: number) => new Date(T0.getTime() + h * 3_600_000);
const fresh: LeaseState = { model: 'churn', revision: 0, recentStarts: [] };

describe('decide', () => {
  it('starts when the model has never run', () => {
    expect(decide(fresh, 'r1', 'alarm', policy, T0)).toEqual({ action: 'start' });
  });

  it('suppresses as in-progress while another run holds the lease, for every trigger kind', () => {
    const held = acquired(fresh, 'r1', policy, T0);
    for (const kind of ['alarm', 'schedule', 'new-data', 'api'] as const) {
      expect(decide(held, 'r2', kind, policy, hours(7))).toMatchObject({ action: 'suppress', reason: 'in-progress' });
    }
  });

  it('resumes when the lease holder is this very request (a retry after a crash)', () => {
    expect(decide(acquired(fresh, 'r1', policy, T0), 'r1', 'alarm', policy, hours(1))).toEqual({ action: 'resume' });
  });

  it('takes an expired lease over, naming the run that lost it', () => {
    const held = acquired(fresh, 'r1', policy, T0);
    expect(decide(held, 'r2', 'alarm', policy, hours(24.01))).toEqual({ action: 'start', takesExpiredLeaseFrom: 'r1' });
  });

  it('counts the cooldown from the later of the last start and the last end', () => {
    const ended = released(acquired(fresh, 'r1', policy, T0), 'r1', hours(4).toISOString())!;
    expect(decide(ended, 'r2', 'alarm', policy, hours(9))).toEqual({
      action: 'suppress',
      reason: 'cooldown',
      detail: `cooling down until ${hours(10).toISOString()}`,
    });
    expect(decide(ended, 'r2', 'alarm', policy, hours(10))).toEqual({ action: 'start' });
  });

  it('caps automatic starts in any 24 hours', () => {
    const noCooldown = { ...policy, cooldownHours: 0 };
    let state = fresh;
    for (const [i, at] of [0, 1, 2].entries()) {
      state = released(acquired(state, `r${i}`, noCooldown, hours(at)), `r${i}`, hours(at).toISOString())!;
    }
    expect(decide(state, 'r3', 'schedule', noCooldown, hours(23.5))).toMatchObject({ action: 'suppress', reason: 'daily-cap' });
    expect(decide(state, 'r3', 'schedule', noCooldown, hours(24.01))).toEqual({ action: 'start' });
  });

  it('lets a person (api) through the cooldown and the cap, never through the lease', () => {
    const ended = released(acquired(fresh, 'r1', policy, T0), 'r1', hours(1).toISOString())!;
    expect(decide(ended, 'r2', 'api', { ...policy, maxRunsPerDay: 1 }, hours(2))).toEqual({ action: 'start' });
  });
});

describe('lease state transitions', () => {
  it('keeps only starts within the last 24 hours', () => {
    const old = { ...fresh, recentStarts: [hours(-30).toISOString(), hours(-2).toISOString()] };
    expect(acquired(old, 'r1', policy, T0).recentStarts).toEqual([hours(-2).toISOString(), T0.toISOString()]);
  });

  it('releases only for the holder', () => {
    const held = acquired(fresh, 'r1', policy, T0);
    expect(released(held, 'someone-else', hours(1).toISOString())).toBeUndefined();
    expect(released(held, 'r1', hours(1).toISOString())).toEqual({
      model: 'churn',
      revision: 2,
      lastStartedAt: T0.toISOString(),
      lastEndedAt: hours(1).toISOString(),
      recentStarts: [T0.toISOString()],
    });
  });

  it('takes back a start whose execution never began', () => {
    const held = acquired(fresh, 'r1', policy, T0);
    expect(withoutRun(held, 'r1')).toEqual({ model: 'churn', revision: 1, recentStarts: [] });
  });
});

describe('policy invariants (property-based)', () => {
  const kinds: TriggerKind[] = ['alarm', 'schedule', 'new-data'];
  it('never starts two automatic runs within the cooldown, nor more than maxRunsPerDay in any 24 hours, nor two at once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gapMinutes: fc.integer({ min: 0, max: 600 }), kind: fc.constantFrom(...kinds), runMinutes: fc.integer({ min: 1, max: 900 }) }), {
          maxLength: 80,
        }),
        fc.record({ cooldownHours: fc.integer({ min: 0, max: 12 }), maxRunsPerDay: fc.integer({ min: 1, max: 5 }) }),
        (triggers, limits) => {
          const p = { ...policy, ...limits };
          let state = fresh;
          let now = T0.getTime();
          let running: { runId: string; endsAt: number } | undefined;
          const starts: number[] = [];
          triggers.forEach((t, i) => {
            now += t.gapMinutes * 60_000;
            if (running && running.endsAt <= now) {
              state = released(state, running.runId, new Date(running.endsAt).toISOString()) ?? state;
              running = undefined;
            }
            const decision = decide(state, `r${i}`, t.kind, p, new Date(now));
            if (decision.action === 'start') {
              expect(running).toBeUndefined();
              state = acquired(state, `r${i}`, p, new Date(now));
              running = { runId: `r${i}`, endsAt: now + t.runMinutes * 60_000 };
              starts.push(now);
            }
          });
          for (const [i, at] of starts.entries()) {
            if (i > 0) expect(at - starts[i - 1]!).toBeGreaterThanOrEqual(p.cooldownHours * 3_600_000);
            expect(starts.filter((s) => s <= at && s > at - 24 * 3_600_000).length).toBeLessThanOrEqual(p.maxRunsPerDay);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
