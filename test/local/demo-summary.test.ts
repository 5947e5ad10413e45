import { describe, expect, it } from 'vitest';
import { summaryTable, type DemoResult } from '../../local/demo';

describe('the demo summary', () => {
  it('shows each version next to its champion on the same holdout, so v2 0.775 reads as the win over 0.512 it was', () => {
    const result: DemoResult = {
      model: 'churn',
      steps: [{ name: 'v1 approved', detail: '', ms: 1200 }],
      datasetVersions: ['v000001', 'v000002'],
      runs: [
        { runId: 'churn-api-1', trigger: 'api', version: 1, status: 'SUCCEEDED', metric: 0.839 },
        { runId: 'churn-alarm-2', trigger: 'alarm', version: 2, status: 'SUCCEEDED', metric: 0.775, champion: { version: 1, metric: 0.512 } },
      ],
      driftScores: [{ phase: 'normal', score: 0.01 }],
      liveVersion: 2,
      audit: { events: 14, inBucket: 14, copiedLate: 1 },
    };
    const lines = summaryTable(result).split('\n');
    expect(lines.find((l) => l.startsWith('run '))).toMatch(/metric\s+champion on the same holdout$/);
    expect(lines.find((l) => l.startsWith('churn-api-1'))).toMatch(/SUCCEEDED\s+0\.8390\s+- \(none\)$/);
    expect(lines.find((l) => l.startsWith('churn-alarm-2'))).toMatch(/SUCCEEDED\s+0\.7750\s+v1 0\.5120$/);
    expect(lines).toContain('audit events: 14, all in the Object Lock bucket (1 copied late by the reconciler)');
  });
});
