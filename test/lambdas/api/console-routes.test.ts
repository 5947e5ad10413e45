/**
 * The routes the console needs: who the caller is, whether they may decide (the same rules the
 * decision applies), the evaluation next to the gate, and drift metrics over time from
 * CloudWatch (moto's GetMetricData / ListMetrics / DescribeAlarms).
 */
import { CloudWatchClient, PutMetricAlarmCommand, PutMetricDataCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../../lambdas/api/router';
import { fromIamContext } from '../../../lambdas/api/principal';
import type { ApiHandler } from '../../../lambdas/api/router';
import { motoClientConfig, uniqueName } from '../../support/aws';
import { APPROVER, apiEvent, bodyOf, createHarness, type Harness, MODELS, OTHER_APPROVER, REQUESTER } from './harness';

describe('console routes', () => {
  let h: Harness;
  let withAlarm: ApiHandler;
  const cloudWatch = new CloudWatchClient(motoClientConfig());
  // Metrics are per model name; a fresh name keeps this file's data apart on the shared moto server.
  const model = 'churn';
  const alarmName = uniqueName('Caretaker-test-churn-drift');
  const reportKey = `evaluations/churn/${uniqueName('run')}/evaluation.json`;
  const featureA = uniqueName('tenure');
  const featureB = uniqueName('contract');

  beforeAll(async () => {
    h = await createHarness();
    const gate = { minImprovement: 0.005, thresholds: { 'validation:auc': { min: 0.7 } } };
    withAlarm = createHandler({ principal: fromIamContext, ports: h.ports, models: MODELS.map((m) => (m.name === model ? { ...m, gate, driftAlarmName: alarmName } : m)) });
    await h.putVersion({ model, version: 1, status: 'PENDING_APPROVAL', createdAt: '2026-11-20T10:00:00.000Z', evaluationReportUri: `s3://${h.bucket}/${reportKey}` });
    await h.putVersion({ model, version: 2, status: 'LIVE', evaluationReportUri: `s3://${h.bucket}/evaluations/churn/none/evaluation.json` });
    await h.putVersion({ model: 'fraud', version: 1, status: 'PENDING_APPROVAL' });
    await h.s3.send(
      new PutObjectCommand({
        Bucket: h.bucket,
        Key: reportKey,
        Body: JSON.stringify({ candidate: { metrics: { 'validation:auc': 0.84, 'validation:accuracy': 0.8 } }, champion: { metrics: { 'validation:auc': 0.81, 'validation:accuracy': 0.79 } }, holdout: { rows: 400 } }),
      }),
    );
  });
  afterAll(async () => {
    await h.drop();
  });

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- tests name the shape they expect
  const call = async <T,>(handler: ApiHandler, path: string, principal: string, query?: Record<string, string>) => {
    const result = await handler(apiEvent('GET', path, { principal, query }));
    return { status: result.statusCode, body: bodyOf<T>(result) };
  };

  it('tells the caller who the API takes them to be (the canonical principal)', async () => {
    const { status, body } = await call<{ id: string; kind: string; roleArn: string }>(h.handler, '/caller', APPROVER);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: APPROVER, kind: 'role-session', roleArn: 'arn:aws:iam::123456789012:role/approver' });
  });

  it('refuses the requester with the reason the decision itself is refused with', async () => {
    const check = await call<{ allowed: boolean; reason: string }>(h.handler, `/models/${model}/versions/1/decision-check`, REQUESTER);
    expect(check.status).toBe(200);
    expect(check.body.allowed).toBe(false);
    const decision = await h.handler(apiEvent('POST', `/models/${model}/versions/1/approve`, { principal: REQUESTER, body: { reason: 'mine' } }));
    expect(decision.statusCode).toBe(403);
    expect(check.body.reason).toBe(bodyOf<{ message: string }>(decision).message);
  });

  it('allows another person while the version is pending, with its expiry', async () => {
    const { body } = await call<{ allowed: boolean; reason?: string; expiresAt: string; status: string }>(h.handler, `/models/${model}/versions/1/decision-check`, APPROVER);
    expect(body).toMatchObject({ allowed: true, status: 'PENDING_APPROVAL', expiresAt: '2026-11-27T10:00:00.000Z' });
    expect(body.reason).toBeUndefined();
  });

  it('says "not yet, ask again" while the pipeline has not stored its approval request, as the decision would', async () => {
    // RegisterVersion marks the version PENDING_APPROVAL; WaitForApproval stores the token a moment later.
    await h.putVersion({ model, version: 3, status: 'PENDING_APPROVAL', taskToken: undefined });
    const early = await call<{ allowed: boolean; reason: string; retryAfterSeconds?: number }>(h.handler, `/models/${model}/versions/3/decision-check`, APPROVER);
    expect(early.body).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    const decision = await h.handler(apiEvent('POST', `/models/${model}/versions/3/approve`, { principal: APPROVER, body: { reason: 'too early' } }));
    expect(decision.statusCode).toBe(409);
    expect(early.body.reason).toBe(bodyOf<{ message: string }>(decision).message);
    // The requester is still told the rule that refuses them for good, not "retry".
    const requester = await call<{ allowed: boolean; reason: string; retryAfterSeconds?: number }>(h.handler, `/models/${model}/versions/3/decision-check`, REQUESTER);
    expect(requester.body.reason).toBe('the principal who requested the run may not decide on its version');
    expect(requester.body.retryAfterSeconds).toBeUndefined();
    await h.putVersion({ model, version: 3, status: 'PENDING_APPROVAL', taskToken: 'token-churn-3' });
    const asked = await call<{ allowed: boolean; retryAfterSeconds?: number }>(h.handler, `/models/${model}/versions/3/decision-check`, APPROVER);
    expect(asked.body).toMatchObject({ allowed: true });
    expect(asked.body.retryAfterSeconds).toBeUndefined();
  });

  it('refuses a caller who is not on the model\'s approvers list, and any decision on a version that is not pending', async () => {
    const fraud = await call<{ allowed: boolean; reason: string }>(h.handler, '/models/fraud/versions/1/decision-check', OTHER_APPROVER);
    expect(fraud.body).toMatchObject({ allowed: false, reason: `${OTHER_APPROVER} is not an approver of fraud` });
    const live = await call<{ allowed: boolean; reason: string; expiresAt?: string }>(h.handler, `/models/${model}/versions/2/decision-check`, APPROVER);
    expect(live.body).toMatchObject({ allowed: false, reason: 'version 2 of churn is LIVE, not PENDING_APPROVAL' });
    expect(live.body.expiresAt).toBeUndefined();
    expect((await call(h.handler, `/models/${model}/versions/99/decision-check`, APPROVER)).status).toBe(404);
  });

  it('shows the evaluation report (candidate and champion on one holdout) with the gate', async () => {
    const { status, body } = await call<{ report: { champion: { metrics: Record<string, number> }; holdout: { rows: number } }; gate: unknown }>(withAlarm, `/models/${model}/versions/1/evaluation`, APPROVER);
    expect(status).toBe(200);
    expect(body.report.champion.metrics['validation:auc']).toBe(0.81);
    expect(body.report.holdout.rows).toBe(400);
    expect(body.gate).toEqual({ minImprovement: 0.005, thresholds: { 'validation:auc': { min: 0.7 } } });
    const missing = await call<{ report: unknown }>(h.handler, `/models/${model}/versions/2/evaluation`, APPROVER);
    expect(missing.status).toBe(200);
    expect(missing.body.report).toBeNull();
  });

  it('reads drift per feature over time from CloudWatch, oldest first, with the alarm state', async () => {
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
    for (const [minutesAgo, psiA, psiB] of [
      [50, 0.31, 0.02],
      [20, 0.05, 0.01],
    ] as const) {
      await cloudWatch.send(
        new PutMetricDataCommand({
          Namespace: 'Caretaker',
          MetricData: [
            { MetricName: 'PSI', Dimensions: [{ Name: 'Model', Value: model }, { Name: 'Feature', Value: featureA }], Timestamp: at(minutesAgo), Value: psiA },
            { MetricName: 'PSI', Dimensions: [{ Name: 'Model', Value: model }, { Name: 'Feature', Value: featureB }], Timestamp: at(minutesAgo), Value: psiB },
            { MetricName: 'DriftScore', Dimensions: [{ Name: 'Model', Value: model }], Timestamp: at(minutesAgo), Value: Math.max(psiA, psiB) },
          ],
        }),
      );
    }
    await cloudWatch.send(
      new PutMetricAlarmCommand({ AlarmName: alarmName, Namespace: 'Caretaker', MetricName: 'DriftScore', Dimensions: [{ Name: 'Model', Value: model }], Statistic: 'Maximum', Period: 900, EvaluationPeriods: 2, Threshold: 0.2, ComparisonOperator: 'GreaterThanThreshold' }),
    );
    await cloudWatch.send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: 'ALARM', StateReason: 'Threshold Crossed: 2 datapoints' }));

    const { status, body } = await call<{
      periodSeconds: number;
      driftScore: { values: number[] };
      features: { feature: string; psi: { timestamps: string[]; values: number[] } }[];
      alarm: { name: string; state: string; reason: string };
    }>(withAlarm, `/models/${model}/metrics`, APPROVER, { from: at(120).toISOString(), to: at(0).toISOString() });
    expect(status).toBe(200);
    expect(body.periodSeconds).toBe(60);
    const a = body.features.find((f) => f.feature === featureA);
    const b = body.features.find((f) => f.feature === featureB);
    expect(a?.psi.values).toEqual([0.31, 0.05]);
    expect(b?.psi.values).toEqual([0.02, 0.01]);
    expect(a?.psi.timestamps[0]?.localeCompare(a.psi.timestamps[1] ?? '')).toBe(-1);
    expect(body.driftScore.values).toEqual(expect.arrayContaining([0.31, 0.05]));
    expect(body.alarm).toMatchObject({ name: alarmName, state: 'ALARM', reason: 'Threshold Crossed: 2 datapoints' });
  });

  it('answers 400 naming the field for a window that is backwards or too wide, and null alarm when none is configured', async () => {
    const backwards = await call<{ details: { field: string }[] }>(h.handler, `/models/${model}/metrics`, APPROVER, { from: '2026-11-20T10:00:00Z', to: '2026-11-19T10:00:00Z' });
    expect(backwards.status).toBe(400);
    expect(backwards.body.details[0]?.field).toBe('query.from');
    const wide = await call(h.handler, `/models/${model}/metrics`, APPROVER, { from: '2026-10-01T00:00:00Z', to: '2026-11-19T10:00:00Z' });
    expect(wide.status).toBe(400);
    const bad = await call<{ details: { field: string }[] }>(h.handler, `/models/${model}/metrics`, APPROVER, { from: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body.details[0]?.field).toBe('query.from');
    const noAlarm = await call<{ alarm: unknown }>(h.handler, `/models/${model}/metrics`, APPROVER);
    expect(noAlarm.status).toBe(200);
    expect(noAlarm.body.alarm).toBeNull();
  });
});
