import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmfRetrainingMetrics } from '../../../lambdas/retraining/adapters';

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

describe('EmfRetrainingMetrics', () => {
  afterEach(() => vi.restoreAllMocks());

  function capture(act: (m: EmfRetrainingMetrics) => void): Emf[] {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    act(new EmfRetrainingMetrics(new Metrics({ namespace: 'Caretaker', serviceName: 'caretaker-starter' })));
    vi.restoreAllMocks();
    return lines.filter((l) => l.includes('_aws')).map((l) => JSON.parse(l) as Emf);
  }

  it('publishes RetrainingStarted with the Model dimension only', () => {
    const [emf] = capture((m) => m.started('churn'));
    expect(emf!._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'Caretaker', Dimensions: [['Model']], Metrics: [{ Name: 'RetrainingStarted', Unit: 'Count' }] },
    ]);
    expect(emf).toMatchObject({ Model: 'churn', RetrainingStarted: 1 });
  });

  it('publishes RetrainingSuppressed with Model and Reason', () => {
    const [emf] = capture((m) => m.suppressed('churn', 'cooldown'));
    expect(emf!._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Caretaker', Dimensions: [['Model', 'Reason']] });
    expect(emf).toMatchObject({ Model: 'churn', Reason: 'cooldown', RetrainingSuppressed: 1 });
  });
});
