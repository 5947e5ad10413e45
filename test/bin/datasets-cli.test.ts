import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';

describe('caretaker datasets check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caretaker-datasets-cli-'));
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: [
        {
          name: 'churn',
          trainingImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1',
          objective: { metricName: 'validation:auc', direction: 'maximize' },
          dataset: { name: 'churn', minRows: 2, columns: [{ name: 'tenure', type: 'integer', min: 0 }, { name: 'plan', type: 'string' }] },
        },
      ],
    }),
  );
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => out.push(line));
  vi.spyOn(console, 'error').mockImplementation((line: string) => err.push(line));
  afterEach(() => {
    out.length = 0;
    err.length = 0;
  });
  const check = (file: string) => main(['node', 'caretaker', 'datasets', 'check', file, '--dataset', 'churn', '--config', config]);

  it('prints sha256, content address and PASSED for valid files, exit 0', async () => {
    const file = join(dir, 'good.csv');
    writeFileSync(file, 'tenure,plan\n1,"a, b"\n2,c\n');
    expect(await check(file)).toBe(0);
    expect(out[0]).toMatch(/good\.csv: 2 rows, \d+ bytes, sha256 [0-9a-f]{64}/);
    expect(out[1]).toMatch(/^PASSED: 2 rows, content address sha256:[0-9a-f]{64}/);
  });

  it('lists every reason and exits 1 when the files would fail validation', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'tenure,plan\n-1,a\n');
    expect(await check(file)).toBe(1);
    expect(out).toContain('  - 1 rows, fewer than minRows 2');
    expect(out).toContain('  - column "tenure": 1 values are not ≥ 0 (first at datasets/churn/bad.csv line 2: "-1")');
  });

  it('names the file and line of a ragged row, exit 1', async () => {
    const file = join(dir, 'ragged.csv');
    writeFileSync(file, 'tenure,plan\n1,a,extra\n');
    expect(await check(file)).toBe(1);
    expect(err).toEqual([`caretaker: ${file} line 2: ragged row with 3 fields, the header has 2`]);
  });
});
