import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import { formatNumber } from '../../lambdas/drift/report-html';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test/fixtures/drift');
const dir = mkdtempSync(join(tmpdir(), 'caretaker-drift-cli-'));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function drift(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => out.push(line));
  vi.spyOn(console, 'error').mockImplementation((line: string) => err.push(line));
  const code = await main(['node', 'caretaker', 'drift', ...args]);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

const aNumber: unknown = expect.any(Number);
const aBoolean: unknown = expect.any(Boolean);

const GOOD = 'x,colour\n1,red\n2,blue\n3,red\n4,\n';

describe('caretaker drift', () => {
  it('prints the report in the issue\'s JSON shape', async () => {
    const result = await drift(
      '--baseline',
      join(FIXTURES, 'shifted/baseline.csv'),
      '--current',
      join(FIXTURES, 'shifted/current.csv'),
    );
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(['baselineRows', 'currentRows', 'features', 'drifted', 'warnings']);
    expect(report.warnings).toEqual([]);
    expect(report).toMatchObject({
      baselineRows: 2500,
      currentRows: 1800,
      features: {
        income: {
          type: 'numeric',
          psi: aNumber,
          jsDistance: aNumber,
          ks: { statistic: aNumber, pValue: aNumber },
          missingRate: { baseline: 0.018, current: 0.065 },
          drifted: true,
        },
        plan: {
          type: 'categorical',
          psi: aNumber,
          jsDistance: aNumber,
          chiSquare: { statistic: aNumber, pValue: aNumber, degreesOfFreedom: 3 },
          missingRate: { baseline: aNumber, current: aNumber },
          drifted: aBoolean,
        },
      },
    });
    expect(report.drifted).toContain('income');
  });

  it('honours --psi-threshold', async () => {
    const args = ['--baseline', join(FIXTURES, 'stable/baseline.csv'), '--current', join(FIXTURES, 'stable/current.csv')];
    const strict = JSON.parse((await drift(...args, '--psi-threshold', '0.000001')).stdout) as { drifted: string[] };
    const lenient = JSON.parse((await drift(...args)).stdout) as { drifted: string[] };
    expect(strict.drifted.length).toBeGreaterThan(lenient.drifted.length);
    expect(lenient.drifted).toEqual([]);
  });

  it('reads JSON Lines by extension', async () => {
    const result = await drift(
      '--baseline',
      join(FIXTURES, 'small-jsonl/baseline.jsonl'),
      '--current',
      join(FIXTURES, 'small-jsonl/current.jsonl'),
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ baselineRows: 120, currentRows: 80 });
  });

  it('also runs as the installed `caretaker` command', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/caretaker.mjs', 'drift', '--baseline', file('b.csv', GOOD), '--current', file('c.csv', GOOD)],
      { cwd: ROOT },
    );
    expect(JSON.parse(stdout)).toMatchObject({ baselineRows: 4, currentRows: 4, drifted: [] });
  });

  it('--html and --json write the report the analyzer writes: every feature charted, nothing loaded from the network', async () => {
    const html = join(dir, 'report.html');
    const json = join(dir, 'report.json');
    const baseline = join(FIXTURES, 'shifted/baseline.csv');
    const current = join(FIXTURES, 'shifted/current.csv');
    const result = await drift('--baseline', baseline, '--current', current, '--html', html, '--json', json);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { drifted: string[] };
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { format: string; status: string; drifted: string[]; features: { name: string; psi: number }[]; baseline: { location: string } };
    expect(doc).toMatchObject({ format: 'caretaker.drift-report/1', status: 'drifted', baseline: { location: baseline } });
    expect([...doc.drifted].sort()).toEqual([...printed.drifted].sort());
    const page = readFileSync(html, 'utf8');
    for (const feature of doc.features) {
      expect(page).toMatch(new RegExp(`<section class="feature" id="feature-\\d+" data-feature="${feature.name}">\\s*<h2>${feature.name} [\\s\\S]*?<svg class="chart"`));
      expect(page).toContain(`<td class="psi">${formatNumber(feature.psi)}</td>`);
    }
    expect(page).not.toMatch(/https?:\/\/|@import|url\(|<script|<link/i);
  });

  it('writes no report when an input file is bad', async () => {
    const html = join(dir, 'never.html');
    const json = join(dir, 'never.json');
    const result = await drift('--baseline', file('good2.csv', GOOD), '--current', file('ragged2.csv', 'x,colour\n1,red\n2\n'), '--html', html, '--json', json);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ragged2\.csv: line 3/);
    expect(existsSync(html)).toBe(false);
    expect(existsSync(json)).toBe(false);
  });

  it('--min-records: too few current rows are reported as such, not as drift', async () => {
    const json = join(dir, 'few.json');
    const result = await drift('--baseline', join(FIXTURES, 'shifted/baseline.csv'), '--current', join(FIXTURES, 'shifted/current.csv'), '--json', json, '--min-records', '5000');
    expect(result.code).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ status: 'too-few-records', drifted: [], driftScore: null, minRecords: 5000 });
  });

  describe('rejects bad files, naming file, line and column', () => {
    const good = () => file('good.csv', GOOD);
    const cases: [string, () => string, RegExp][] = [
      ['a missing file', () => join(dir, 'nope.csv'), /nope\.csv: no such file/],
      ['a folder', () => dir, /: is a folder, not a file|unknown format/],
      ['a CSV that is not UTF-8', () => file('latin1.csv', Buffer.from('x,colour\n1,red\n2,gr\xfcn\n', 'latin1')), /latin1\.csv: line 3, byte 19: not UTF-8 text \(byte 0xfc\)/],
      ['a JSON Lines file that is not UTF-8', () => file('latin1.jsonl', Buffer.from('{"x": 1, "colour": "gr\xfcn"}\n', 'latin1')), /latin1\.jsonl: line 1, byte 22: not UTF-8 text/],
      ['an empty file', () => file('empty.csv', ''), /empty\.csv: is empty/],
      ['a header without rows', () => file('header.csv', 'x,colour\n'), /header\.csv: line 2: has a header row but no data rows/],
      ['a file without a header row', () => file('noheader.csv', '1,2\n3,4\n'), /noheader\.csv: line 1: has no header row/],
      [
        'a ragged row',
        () => file('ragged.csv', 'x,colour\n1,red\n2\n'),
        /ragged\.csv: line 3, column 2 \("colour"\): has 1 field where the header has 2/,
      ],
      ['a row with too many fields', () => file('wide.csv', 'x,colour\n1,red,extra\n'), /wide\.csv: line 2, column 3: has 3 fields/],
      [
        'an unclosed quote',
        () => file('quote.csv', 'x,colour\n1,"red\n'),
        /quote\.csv: line 2, column 2 \("colour"\): a quoted field is never closed/,
      ],
      [
        'a column the other file lacks',
        () => file('fewer.csv', 'x\n1\n2\n'),
        /fewer\.csv: line 1, column "colour": has no column "colour", which .*good\.csv has/,
      ],
      ['a bad JSON line', () => file('bad.jsonl', '{"x": 1}\n{"x": }\n'), /bad\.jsonl: line 2, column 7: is not valid JSON: Unexpected token/],
      ['a JSON line that is not an object', () => file('array.jsonl', '[1, 2]\n'), /array\.jsonl: line 1: each line must be one JSON object/],
      ['an unknown extension', () => file('data.txt', GOOD), /data\.txt: unknown format/],
    ];
    it.each(cases)('%s', async (_name, current, message) => {
      const result = await drift('--baseline', good(), '--current', current());
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.stdout).toBe('');
    });

    it('a current window under 100 rows: a warning, and no feature called drifted', async () => {
      const base = join(FIXTURES, 'shifted/baseline.csv');
      const lines = readFileSync(join(FIXTURES, 'shifted/current.csv'), 'utf8').split('\n');
      const one = file('one-row.csv', `${lines[0]}\n${lines[1]}\n`);
      const result = await drift('--baseline', base, '--current', one);
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as { drifted: string[]; warnings: string[]; features: Record<string, { psi: number; drifted: boolean }> };
      expect(report.warnings).toEqual([expect.stringMatching(/^current .*one-row\.csv has 1 row, fewer than 100: PSI and Jensen–Shannon over so few rows mean little/)]);
      expect(result.stderr).toContain('warning: current');
      expect(report.drifted).toEqual([]);
      expect(Object.values(report.features).every((f) => !f.drifted)).toBe(true);
      // The statistic is still reported, for whoever wants it.
      expect(Object.values(report.features).some((f) => f.psi > 0.2)).toBe(true);

      const enough = file('hundred.csv', `${lines.slice(0, 101).join('\n')}\n`);
      expect((JSON.parse((await drift('--baseline', base, '--current', enough)).stdout) as { warnings: string[] }).warnings).toEqual([]);
    });

    it('a column only the current file has', async () => {
      const result = await drift('--baseline', good(), '--current', file('more.csv', 'x,colour,extra\n1,red,0\n'));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/good\.csv: line 1, column "extra": has no column "extra", which .*more\.csv has/);
    });

    it('a threshold that is not a positive number', async () => {
      const result = await drift('--baseline', good(), '--current', good(), '--psi-threshold', 'high');
      expect(result.code).not.toBe(0);
    });
  });
});
