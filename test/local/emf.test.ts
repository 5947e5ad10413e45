/**
 * Local mode's EMF extraction (local/emf.ts) on the drift analyzer's own documents, and on the
 * specification's rules for what is not extracted; then through moto's CloudWatch, read back
 * with GetMetricData as the API's drift view reads it.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { describe, expect, inject, it } from 'vitest';
import { emf } from '../../lambdas/drift/analyze';
import { extractEmf, extractEmfFromStdout } from '../../local/emf';

describe('EMF extraction', () => {
  it('turns the analyzer document into one datum per metric with the dimension set and timestamp', () => {
    const at = Date.parse('2026-12-01T10:00:00Z');
    const found = extractEmf(emf(at, { Model: 'churn', Feature: 'tenure_months' }, { PSI: 0.31, KSStatistic: 0.2, JSDistance: null }, { windowMinutes: 15 }));
    expect([...(found?.keys() ?? [])]).toEqual(['Caretaker']);
    const data = found?.get('Caretaker') ?? [];
    // null values are left out by the analyzer; the two numbers are extracted with both dimensions.
    expect(data.map((d) => [d.MetricName, d.Value, d.Dimensions])).toEqual([
      ['PSI', 0.31, [{ Name: 'Model', Value: 'churn' }, { Name: 'Feature', Value: 'tenure_months' }]],
      ['KSStatistic', 0.2, [{ Name: 'Model', Value: 'churn' }, { Name: 'Feature', Value: 'tenure_months' }]],
    ]);
    expect(data[0]?.Timestamp?.toISOString()).toBe('2026-12-01T10:00:00.000Z');
  });

  it('extracts nothing from non-EMF lines, and skips metrics whose member is missing or not numeric', () => {
    expect(extractEmf('{"level":"INFO","message":"hello"}')).toBeUndefined();
    expect(extractEmf('{"_aws": broken')).toBeUndefined();
    const doc = JSON.stringify({
      _aws: { Timestamp: 0, CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['Model'], ['Missing']], Metrics: [{ Name: 'A' }, { Name: 'B' }, { Name: 'C' }] }] },
      Model: 'm',
      A: 1,
      B: 'not a number',
      C: [1, 2, 3],
    });
    const data = extractEmf(doc)?.get('N') ?? [];
    // The dimension set naming a missing member is dropped; B is not numeric; C is an array of values.
    expect(data.map((d) => [d.MetricName, d.Value ?? d.Values, d.Dimensions])).toEqual([
      ['A', 1, [{ Name: 'Model', Value: 'm' }]],
      ['C', [1, 2, 3], [{ Name: 'Model', Value: 'm' }]],
    ]);
  });

  it('puts what a handler writes to stdout on CloudWatch, where GetMetricData finds it', async () => {
    const cloudWatch = new CloudWatchClient({ endpoint: inject('motoEndpoint'), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const model = `emf-${Date.now()}`;
    const at = Date.now() - 60_000;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- compared, never called
    const write = process.stdout.write;
    const extraction = extractEmfFromStdout(cloudWatch, () => undefined);
    // What reaches the terminal is unchanged; only its EMF lines are also extracted.
    process.stdout.write(`${emf(at, { Model: model }, { DriftScore: 0.42 })}\n`);
    await extraction.stop();
    // eslint-disable-next-line @typescript-eslint/unbound-method -- compared, never called
    expect(process.stdout.write).toBe(write);
    const result = await cloudWatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(at - 600_000),
        EndTime: new Date(at + 600_000),
        MetricDataQueries: [{ Id: 'm0', MetricStat: { Metric: { Namespace: 'Caretaker', MetricName: 'DriftScore', Dimensions: [{ Name: 'Model', Value: model }] }, Period: 60, Stat: 'Maximum' } }],
      }),
    );
    expect(result.MetricDataResults?.[0]?.Values).toEqual([0.42]);
  });
});
