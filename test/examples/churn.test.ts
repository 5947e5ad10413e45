/**
 * The example churn model, in process: the seeded data matches the `churn` model of
 * caretaker.config.json, training follows the container contract (model, metrics, checkpoints,
 * resume), the drifted batch really needs a retrained model, and the server answers per contract.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../examples/churn/src/csv';
import { CONTRACTS, generateCsv, generateCustomers } from '../../examples/churn/src/data';
import { evaluate, type EvaluationReport } from '../../examples/churn/src/evaluate';
import { accuracy, auc, logLoss } from '../../examples/churn/src/metrics';
import { parseModelFile, type ModelFile } from '../../examples/churn/src/model';
import { createServeServer, MAX_BODY_BYTES } from '../../examples/churn/src/serve';
import { train } from '../../examples/churn/src/train';
import { exampleConfig } from '../support/stack';

const roots: string[] = [];
const silent = () => undefined;

/** A fresh `/opt/ml`-style root with a train (and optional validation) channel and hyperparameters. */
function jobRoot(trainCsv: string, hyperparameters: Record<string, string>, validationCsv?: string): string {
  const root = mkdtempSync(join(tmpdir(), 'churn-train-'));
  roots.push(root);
  mkdirSync(join(root, 'input', 'config'), { recursive: true });
  mkdirSync(join(root, 'input', 'data', 'train'), { recursive: true });
  writeFileSync(join(root, 'input', 'config', 'hyperparameters.json'), JSON.stringify(hyperparameters));
  writeFileSync(join(root, 'input', 'data', 'train', 'part-1.csv'), trainCsv);
  if (validationCsv) {
    mkdirSync(join(root, 'input', 'data', 'validation'), { recursive: true });
    writeFileSync(join(root, 'input', 'data', 'validation', 'part-1.csv'), validationCsv);
  }
  return root;
}

const readModel = (root: string): ModelFile => parseModelFile(readFileSync(join(root, 'model', 'model.json'), 'utf8'));

afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('churn data', () => {
  it('is the same for the same seed and different for another seed or the drifted batch', () => {
    expect(generateCsv({ rows: 200, seed: 7 })).toBe(generateCsv({ rows: 200, seed: 7 }));
    expect(generateCsv({ rows: 200, seed: 8 })).not.toBe(generateCsv({ rows: 200, seed: 7 }));
    expect(generateCsv({ rows: 200, seed: 7, batch: 'drifted' })).not.toBe(generateCsv({ rows: 200, seed: 7 }));
  });

  it('has the columns, types and ranges of the churn model in caretaker.config.json', () => {
    const model = exampleConfig().models.find((m) => m.name === 'churn');
    const columns = model!.dataset.columns ?? [];
    expect(columns).toHaveLength(5);
    for (const batch of ['baseline', 'drifted'] as const) {
      const table = parseCsv(generateCsv({ rows: 2000, seed: 3, batch }));
      expect(table.header).toEqual(columns.map((c) => c.name));
      for (const [i, column] of columns.entries()) {
        const values = table.rows.map((row) => row[i]!);
        if (column.type === 'string') {
          expect(new Set(values)).toEqual(new Set(CONTRACTS));
          continue;
        }
        const numbers = values.map(Number);
        expect(numbers.every(Number.isFinite)).toBe(true);
        if (column.type === 'integer') expect(numbers.every(Number.isInteger)).toBe(true);
        if (column.min !== undefined) expect(Math.min(...numbers)).toBeGreaterThanOrEqual(column.min);
        if (column.max !== undefined) expect(Math.max(...numbers)).toBeLessThanOrEqual(column.max);
      }
    }
  });

  it('shifts the feature distributions in the drifted batch', () => {
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const base = generateCustomers({ rows: 3000, seed: 5 });
    const drifted = generateCustomers({ rows: 3000, seed: 5, batch: 'drifted' });
    expect(mean(drifted.map((c) => c.monthly_charges))).toBeGreaterThan(mean(base.map((c) => c.monthly_charges)) + 15);
    expect(mean(drifted.map((c) => c.tenure_months))).toBeLessThan(mean(base.map((c) => c.tenure_months)));
    expect(mean(drifted.map((c) => c.support_calls))).toBeGreaterThan(mean(base.map((c) => c.support_calls)));
  });
});

describe('metrics', () => {
  it('computes AUC by ranks, counting ties half', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(auc([0, 1], [0.5, 0.5])).toBe(0.5);
    expect(auc([1, 1], [0.2, 0.9])).toBe(0.5);
  });

  it('agrees with the pairwise definition of AUC', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 20 })), { minLength: 2, maxLength: 40 }), (pairs) => {
        const labels = pairs.map(([y]) => y);
        const scores = pairs.map(([, s]) => s / 20);
        const positives = scores.filter((_, i) => labels[i] === 1);
        const negatives = scores.filter((_, i) => labels[i] === 0);
        fc.pre(positives.length > 0 && negatives.length > 0);
        let wins = 0;
        for (const p of positives) for (const n of negatives) wins += p > n ? 1 : p === n ? 0.5 : 0;
        expect(auc(labels, scores)).toBeCloseTo(wins / (positives.length * negatives.length), 10);
      }),
    );
  });

  it('computes accuracy at 0.5 and a clipped log loss', () => {
    expect(accuracy([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6])).toBe(0.5);
    expect(logLoss([1, 0], [1, 0])).toBeLessThan(1e-10);
    expect(logLoss([1], [0.5])).toBeCloseTo(Math.log(2), 12);
  });
});

describe('train', () => {
  const baseline = generateCsv({ rows: 1500, seed: 11 });

  it('writes model.json and metrics, and checkpoints as it goes', async () => {
    const root = jobRoot(baseline, { eta: '0.2', num_round: '40', checkpoint_every: '10', max_depth: '6' });
    const lines: string[] = [];
    const result = await train({ root, log: (line) => lines.push(line) });
    expect(result).toMatchObject({ status: 'completed', epochs: 40, resumedFromEpoch: 0 });
    const model = readModel(root);
    expect(model.features.map((f) => f.name)).toEqual(['tenure_months', 'monthly_charges', 'support_calls', 'contract']);
    expect(model.features[3]).toEqual({ name: 'contract', kind: 'categorical', categories: ['month-to-month', 'one-year', 'two-year'] });
    expect(model.metrics['validation:auc']).toBeGreaterThan(0.7);
    expect(lines).toContain(`#metric validation:auc=${model.metrics['validation:auc']}`);
    expect(lines).toContain('hyperparameters not used by logistic regression: max_depth');
    expect(JSON.parse(readFileSync(join(root, 'output', 'data', 'metrics.json'), 'utf8'))).toEqual(model.metrics);
    expect(JSON.parse(readFileSync(join(root, 'checkpoints', 'checkpoint.json'), 'utf8'))).toMatchObject({ epoch: 40 });
  });

  it('resumes from a checkpoint and ends where an uninterrupted run ends', async () => {
    const straight = jobRoot(baseline, { num_round: '30' });
    await train({ root: straight, log: silent });

    const resumed = jobRoot(baseline, { num_round: '30', checkpoint_every: '5' });
    let epochsSeen = 0;
    const first = await train({ root: resumed, log: silent, shouldStop: () => ++epochsSeen > 12 });
    expect(first.status).toBe('interrupted');
    expect(existsSync(join(resumed, 'model', 'model.json'))).toBe(false);
    const second = await train({ root: resumed, log: silent });
    expect(second).toMatchObject({ status: 'completed', resumedFromEpoch: first.epochs });
    expect(first.epochs).toBeGreaterThan(0);
    expect(readModel(resumed).weights).toEqual(readModel(straight).weights);
  });

  it('rejects a bad label and a bad hyperparameter with a message naming them', async () => {
    await expect(train({ root: jobRoot('tenure_months,monthly_charges,support_calls,contract,churned\n1,2,3,one-year,7\n', {}), log: silent })).rejects.toThrow(
      'row 1: label "churned" must be 0 or 1, got "7"',
    );
    await expect(train({ root: jobRoot(baseline, { eta: 'fast' }), log: silent })).rejects.toThrow('hyperparameter eta has an invalid value "fast"');
  });

  it('needs a retrained model for the drifted batch', async () => {
    const drifted = generateCsv({ rows: 1500, seed: 12, batch: 'drifted' });
    const holdout = generateCsv({ rows: 800, seed: 13, batch: 'drifted' });
    const champion = jobRoot(baseline, { eta: '0.2', num_round: '200' });
    const candidate = jobRoot(drifted, { eta: '0.2', num_round: '200' });
    await train({ root: champion, log: silent });
    await train({ root: candidate, log: silent });
    const test = jobRoot(holdout, {});
    const output = join(test, 'out');
    const report: EvaluationReport = evaluate({ test: join(test, 'input', 'data', 'train'), candidate: join(candidate, 'model'), champion: join(champion, 'model'), output });
    expect(report.holdoutRows).toBe(800);
    expect(report.candidate.metrics['validation:auc']).toBeGreaterThan(0.8);
    expect(report.champion!.metrics['validation:auc']).toBeLessThan(0.6);
    expect(JSON.parse(readFileSync(join(output, 'evaluation.json'), 'utf8'))).toEqual(report);

    const alone = evaluate({ test: join(test, 'input', 'data', 'train'), candidate: join(candidate, 'model'), champion: join(test, 'none'), output });
    expect(alone.champion).toBeNull();
  });
});

describe('serve', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const root = jobRoot(generateCsv({ rows: 1500, seed: 11 }), { num_round: '100', eta: '0.2' });
    await train({ root, log: silent });
    server = createServeServer(readModel(root));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = (body: string, contentType: string, accept?: string) =>
    fetch(`${url}/invocations`, { method: 'POST', headers: { 'content-type': contentType, ...(accept && { accept }) }, body });

  it('answers /ping', async () => {
    expect((await fetch(`${url}/ping`)).status).toBe(200);
  });

  it('scores CSV rows (with or without a header) and JSON rows alike', async () => {
    const csv = await (await post('3,90.5,4,month-to-month\n60,40,0,two-year\n', 'text/csv')).text();
    const withHeader = await (await post('contract,tenure_months,monthly_charges,support_calls\nmonth-to-month,3,90.5,4\ntwo-year,60,40,0\n', 'text/csv')).text();
    const json = (await (
      await post(JSON.stringify({ instances: [{ tenure_months: 3, monthly_charges: 90.5, support_calls: 4, contract: 'month-to-month' }, [60, 40, 0, 'two-year']] }), 'application/json')
    ).json()) as { predictions: number[] };
    const [risky, loyal] = csv.trim().split('\n').map(Number);
    expect(risky).toBeGreaterThan(0.5);
    expect(loyal).toBeLessThan(0.5);
    expect(withHeader).toBe(csv);
    expect(json.predictions).toEqual([risky, loyal]);
    const asJson = await post('3,90.5,4,month-to-month\n', 'text/csv', 'application/json');
    expect(asJson.headers.get('content-type')).toBe('application/json');
  });

  it('rejects a bad row with 400 naming the row and field, other content types with 415, big bodies with 413', async () => {
    const bad = await post('3,90.5,4,month-to-month\n3,lots,4,month-to-month\n', 'text/csv');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toBe('row 2: feature "monthly_charges" must be a number, got "lots"');
    expect((await post('x', 'application/xml')).status).toBe(415);
    expect((await post('1'.repeat(MAX_BODY_BYTES + 1), 'text/csv')).status).toBe(413);
  });
});
