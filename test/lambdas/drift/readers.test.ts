import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addPayload, parseCaptureLine, predictionOf } from '../../../lambdas/drift/capture';
import { buildBaseline, baselineViews } from '../../../lambdas/drift/baseline';
import { CsvScanner } from '../../../lambdas/datasets/csv';
import { parseDecimal, parseDecimalText } from '../../../lambdas/drift/numbers';
import { QualityAccumulator, qualityMetricFor } from '../../../lambdas/drift/quality';
import { Random } from '../../../lambdas/drift/sample';
import { parseTable } from '../../../lambdas/drift/table';
import { CurrentWindow, OVERFLOW_CATEGORY } from '../../../lambdas/drift/window';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const decimal = (text: string) => parseDecimal(bytes(text), 0, text.length);

describe('parseDecimal', () => {
  it('parses decimals exactly as Number() does', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        for (const text of [String(x), x.toFixed(6), x.toExponential(3)]) {
          const expected = Number(text);
          // Rounding can overflow to ±Infinity, which is not a finite number.
          expect(decimal(text)).toBe(Number.isFinite(expected) ? expected : Number.NaN);
        }
      }),
      { numRuns: 2000 },
    );
    for (const text of ['0', '-0.5', '+3', '.5', '5.', '1e5', '1E-5', '123456789012345678901234', '0.000000000000000000001234', '9007199254740993']) {
      expect(decimal(text)).toBe(Number(text));
    }
  });

  it('rejects what is not a finite decimal (so the column is categorical)', () => {
    for (const text of ['abc', '1.2.3', '0x10', 'Infinity', 'NaN', '1e', '-', '.', '1_000', '1e400', '12a']) expect(decimal(text)).toBeNaN();
    expect(parseDecimalText(' 4.5 ')).toBe(4.5);
    expect(parseDecimalText('0x10')).toBeNaN();
  });
});

describe('CsvScanner and parseTable', () => {
  it('reads quoted fields with commas, newlines and doubled quotes, CRLF and a BOM', () => {
    const table = parseTable('q.csv', Buffer.from('\uFEFFname,n\r\n"a, ""b""",1\r\n"multi\nline", 2 \r\n\r\nplain,\n'));
    expect(table.columns).toEqual(['name', 'n']);
    expect(table.rows).toBe(3);
    expect(table.categorical(['name']).get('name')!.categories).toEqual(['a, "b"', 'multi\nline', 'plain']);
    const n = table.numeric('n');
    expect([...n.values]).toEqual([1, 2, Number.NaN]);
    expect(n.empty).toBe(1);
  });

  it('reads plain numeric records on the fused path and hands anything else to the scanner', () => {
    const table = parseTable('n.csv', Buffer.from('a,b\r\n1,2\r\n,4\n"5",6\n\n7,8e1\n 9 ,10\n11,'));
    expect(table.rows).toBe(6);
    expect([...table.numeric('a').values]).toEqual([1, Number.NaN, 5, 7, 9, 11]);
    expect([...table.numeric('b').values]).toEqual([2, 4, 6, 80, 10, Number.NaN]);
    expect(table.numeric('a').empty).toBe(1);
    expect(table.numeric('b').empty).toBe(1);
    expect(() => parseTable('r.csv', Buffer.from('a,b\n1,2\n3,4\n\n5\n'))).toThrow(/r\.csv: line 5, column 2 \("b"\): has 1 field/);
    expect(() => parseTable('w.csv', Buffer.from('a,b\n1,2\n3,4,5\n'))).toThrow(/w\.csv: line 3, column 3: has 3 fields/);
  });

  it('counts lines across quoted newlines for error messages', () => {
    const scanner = new CsvScanner(bytes('a\n"x\ny"\nz\n'));
    const lines: number[] = [];
    while (scanner.next()) lines.push(scanner.line);
    expect(lines).toEqual([1, 2, 4]);
  });

  it('reads a million decimal strings as exactly the doubles Number() gives, on the fused path and past it', () => {
    // Shapes CSV files hold, and the edges of the fused path: 15 and 16 digits, leading and
    // trailing zeros, a bare point at either end, signs, -0, exponents (left to parseDecimal).
    const random = new Random(17);
    const digitsOf = (n: number) => Array.from({ length: n }, () => String(Math.floor(random.next() * 10))).join('');
    const shapes: (() => string)[] = [
      () => `${digitsOf(1 + Math.floor(random.next() * 6))}.${digitsOf(Math.floor(random.next() * 10))}`,
      () => `-${digitsOf(1 + Math.floor(random.next() * 4))}.${digitsOf(1 + Math.floor(random.next() * 8))}`,
      () => digitsOf(1 + Math.floor(random.next() * 17)),
      () => `${digitsOf(Math.floor(random.next() * 16))}.${digitsOf(Math.floor(random.next() * 16))}`.replace(/^\.$/, '0.'),
      () => `0.${'0'.repeat(Math.floor(random.next() * 12))}${digitsOf(1 + Math.floor(random.next() * 6))}`,
      () => `+${digitsOf(3)}.${digitsOf(2)}00`,
      () => `.${digitsOf(1 + Math.floor(random.next() * 15))}`,
      () => `${digitsOf(1 + Math.floor(random.next() * 3))}.`,
      () => `${random.next() < 0.5 ? '-' : ''}${digitsOf(15)}`,
      () => `${digitsOf(8)}.${digitsOf(7)}`,
      () => `${digitsOf(8)}.${digitsOf(8)}`,
      () => `-0.${'0'.repeat(Math.floor(random.next() * 4))}`,
      () => `${digitsOf(2)}.${digitsOf(3)}e${random.next() < 0.5 ? '-' : ''}${Math.floor(random.next() * 30)}`,
      () => (random.next() * 1e4).toFixed(3),
      () => String(random.next() * 10 ** Math.floor(random.next() * 30 - 15)),
    ];
    const width = 10;
    const rows = 100_000;
    const texts: string[] = [];
    const lines = [Array.from({ length: width }, (_, c) => `x${c}`).join(',')];
    for (let r = 0; r < rows; r++) {
      const fields = Array.from({ length: width }, () => shapes[Math.floor(random.next() * shapes.length)]!());
      texts.push(...fields);
      lines.push(fields.join(','));
    }
    const table = parseTable('decimals.csv', Buffer.from(lines.join('\n')));
    expect(table.rows).toBe(rows);
    let checked = 0;
    for (let c = 0; c < width; c++) {
      const values = table.numeric(`x${c}`).values;
      for (let r = 0; r < rows; r++) {
        const text = texts[r * width + c]!;
        if (!Object.is(values[r], Number(text))) expect({ text, value: values[r] }).toEqual({ text, value: Number(text) });
        checked++;
      }
    }
    expect(checked).toBe(1_000_000);
  });

  it('marks the first non-number of a column, which makes it categorical', () => {
    const table = parseTable('t.csv', Buffer.from('a,b\n1,x\n2,3\n'));
    expect(table.numeric('a').firstNonNumber).toBeUndefined();
    expect(table.numeric('b').firstNonNumber).toEqual({ line: 2, text: 'x' });
  });
});

describe('capture records', () => {
  const baseline = buildBaseline({ name: 'b.csv', bytes: Buffer.from('x,colour\n1,red\n2,blue\n3,red\n4,green\n') });
  const record = (input: object, metadata: object = { inferenceId: 'i-1', inferenceTime: '2026-11-22T10:00:00Z' }) =>
    JSON.stringify({ captureData: { endpointInput: input, endpointOutput: { observedContentType: 'application/json', data: '{"predictions":[{"score":0.25}]}', encoding: 'JSON' } }, eventMetadata: metadata });

  it('reads CSV, BASE64 and JSON payloads of one or many records', () => {
    const window = new CurrentWindow(baselineViews(baseline), { seed: 1 });
    const add = (input: object) => addPayload(window, parseCaptureLine(record(input))!.input);
    expect(add({ observedContentType: 'text/csv', data: '1.5,red\n2.5,blue', encoding: 'CSV' })).toBe(2);
    expect(add({ observedContentType: 'text/csv', data: Buffer.from('3.5,"red"').toString('base64'), encoding: 'BASE64' })).toBe(1);
    expect(add({ observedContentType: 'application/json', data: '{"instances":[{"x":1,"colour":"red"},{"x":null,"colour":"blue"}]}', encoding: 'JSON' })).toBe(2);
    expect(add({ observedContentType: 'application/json', data: Buffer.from('[[2, "green"]]').toString('base64'), encoding: 'BASE64' })).toBe(1);
    expect(add({ observedContentType: 'application/json', data: '{"x": 7, "colour": "purple"}', encoding: 'JSON' })).toBe(1);
    expect(add({ observedContentType: 'application/json', data: '{broken', encoding: 'JSON' })).toBe(0);
    const report = window.report(0.2);
    expect(report.currentRows).toBe(7);
    expect(report.features.x!.missingRate.current).toBeCloseTo(1 / 7, 12);
    expect(report.features.colour).toMatchObject({ type: 'categorical', chiSquare: { degreesOfFreedom: 3 } });
  });

  it('reads inference id, time and the prediction', () => {
    const parsed = parseCaptureLine(record({ observedContentType: 'text/csv', data: '1,red', encoding: 'CSV' }))!;
    expect(parsed).toMatchObject({ inferenceId: 'i-1', time: Date.parse('2026-11-22T10:00:00Z') });
    expect(predictionOf(parsed.output!)).toBe(0.25);
    expect(predictionOf({ contentType: 'text/csv', data: '0.75,0.25', encoding: 'CSV' })).toBe(0.75);
    expect(predictionOf({ contentType: 'text/csv', data: 'cat', encoding: 'CSV' })).toBeUndefined();
  });

  it('returns nothing for lines that are not capture records', () => {
    expect(parseCaptureLine('not json')).toBeUndefined();
    expect(parseCaptureLine('{"captureData":{}}')).toBeUndefined();
    expect(parseCaptureLine(record({ data: '1,red', encoding: 'CSV' }, { inferenceTime: 'yesterday' }))).toBeUndefined();
  });

  it('pools categories beyond maxCategories into one, so memory stays bounded', () => {
    const window = new CurrentWindow(baselineViews(baseline), { maxCategories: 3, seed: 1 });
    for (const colour of ['red', 'blue', 'a', 'b', 'c']) addPayload(window, { contentType: 'text/csv', data: `1,${colour}`, encoding: 'CSV' });
    const report = window.report(0.2);
    // red, blue, green (baseline) + a + one pooled category for b and c.
    expect(report.features.colour).toMatchObject({ chiSquare: { degreesOfFreedom: 4 } });
    expect(OVERFLOW_CATEGORY).toContain('other');
  });
});

describe('objective metrics', () => {
  it('maps objective names to computable metrics', () => {
    expect(qualityMetricFor('validation:auc')).toBe('auc');
    expect(qualityMetricFor('validation:rmse')).toBe('rmse');
    expect(qualityMetricFor('train:acc')).toBe('accuracy');
    expect(qualityMetricFor('validation:ndcg')).toBeUndefined();
  });

  it.each([
    ['auc', [0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], 0.75],
    ['auc', [0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], 0.5],
    ['accuracy', [0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], 0.5],
    ['f1', [0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], 0.5],
    ['rmse', [1, 2, 3], [1, 2, 5], Math.sqrt(4 / 3)],
    ['mae', [1, 2, 3], [2, 2, 5], 1],
  ] as const)('%s of %j against %j is %d', (metric, predictions, labels, expected) => {
    const quality = new QualityAccumulator(metric);
    predictions.forEach((p, i) => quality.add(p, labels[i]!));
    expect(quality.value()).toBeCloseTo(expected, 12);
  });

  it('has no AUC with a single class', () => {
    const quality = new QualityAccumulator('auc');
    quality.add(0.3, 1);
    expect(quality.value()).toBeUndefined();
  });
});
