import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvParser, CsvScanner, CsvSyntaxError } from '../../../lambdas/datasets/csv';
import { parseTable } from '../../../lambdas/drift/table';

/** The streaming reader (registration), fed the text's UTF-8 bytes cut at the given byte offsets. */
function parseBytes(bytes: Uint8Array, cuts: readonly number[] = []): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  const parser = new CsvParser((fields, line) => records.push({ fields, line }));
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  [0, ...points].forEach((start, i) => parser.push(bytes.subarray(start, [...points, bytes.length][i])));
  parser.end();
  return records;
}

function parse(chunks: readonly string[]): { fields: string[]; line: number }[] {
  const bytes = Buffer.from(chunks.join(''));
  // Cut where the chunks were cut, in bytes.
  const cuts: number[] = [];
  let at = 0;
  for (const chunk of chunks.slice(0, -1)) cuts.push((at += Buffer.byteLength(chunk)));
  return parseBytes(bytes, cuts);
}

/** The whole-buffer reader (drift baseline, `caretaker drift`, capture payloads). */
function scanAll(bytes: Uint8Array): { fields: string[]; line: number }[] {
  const scanner = new CsvScanner(bytes);
  const records: { fields: string[]; line: number }[] = [];
  while (scanner.next()) records.push({ fields: Array.from({ length: scanner.fieldCount }, (_, i) => scanner.text(i)), line: scanner.line });
  return records;
}

function outcome(read: () => unknown): unknown {
  try {
    return read();
  } catch (error) {
    return error instanceof CsvSyntaxError ? `${error.name}: ${error.message}` : error;
  }
}

/** Writes records as RFC 4180 CSV, quoting fields that need it. */
function write(records: readonly string[][], eol: string): string {
  const field = (f: string) => (/[",\r\n]/.test(f) || f === '' ? `"${f.replace(/"/g, '""')}"` : f);
  return records.map((r) => r.map(field).join(',')).join(eol) + eol;
}

describe('the CSV dialect (CsvParser streaming, CsvScanner whole)', () => {
  it('parses quoted fields with commas, doubled quotes and line breaks, and reports the line each record starts on', () => {
    const text = 'a,b,c\n1,"two, three","say ""hi"""\n"multi\nline",x,\n4,5,6';
    expect(parse([text])).toEqual([
      { fields: ['a', 'b', 'c'], line: 1 },
      { fields: ['1', 'two, three', 'say "hi"'], line: 2 },
      { fields: ['multi\nline', 'x', ''], line: 3 },
      { fields: ['4', '5', '6'], line: 5 },
    ]);
  });

  it('accepts CRLF, drops a byte-order mark and skips blank lines', () => {
    expect(parse(['\uFEFFa,b\r\n\r\n1,2\r\n'])).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 3 },
    ]);
  });

  it('gives the same records however the bytes are cut into chunks, even inside a character or a CRLF', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', 'é', '€'), maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.array(fc.nat(), { maxLength: 10 }),
        (records, eol, cuts) => {
          const bytes = Buffer.from(write(records, eol));
          const whole = parseBytes(bytes);
          expect(whole.map((r) => r.fields)).toEqual(records);
          expect(parseBytes(bytes, cuts)).toEqual(whole);
        },
      ),
    );
  });

  it('is one dialect: the streaming reader and the whole-buffer reader agree on every input, refusals included', () => {
    // Arbitrary text, not only well-formed CSV: both readers must accept, read and refuse alike.
    const text = fc.string({ unit: fc.constantFrom('a', '1', ',', '"', '\n', '\r', ' ', '\t', 'é'), maxLength: 40 });
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 6 }), (input, cuts) => {
        const bytes = Buffer.from(input);
        const scanned = outcome(() => scanAll(bytes));
        expect(outcome(() => parseBytes(bytes, cuts))).toEqual(scanned);
      }),
      { numRuns: 3000 },
    );
  });

  it('trims spaces and tabs at both ends of every value, quoted or not, and nothing else', () => {
    const text = 'name, n \n"  red\t",\t4.5 \n" ",\u00a0x\n';
    expect(parse([text]).map((r) => r.fields)).toEqual([
      ['name', 'n'],
      ['red', '4.5'],
      ['', '\u00a0x'],
    ]);
    const table = parseTable('t.csv', Buffer.from(text));
    expect(table.columns).toEqual(['name', 'n']);
    expect(table.categorical(['name']).get('name')).toEqual({ codes: Int32Array.from([0, -1]), categories: ['red'] });
    expect(table.numeric('n').firstNonNumber).toEqual({ line: 3, text: '\u00a0x' });
    expect(table.numeric('n').values[0]).toBe(4.5);
  });

  it('refuses a blank before an opening quote or after a closing one, as the drift reader now does too', () => {
    expect(() => parse(['a,b\n1, "x"\n'])).toThrow(new CsvSyntaxError(2, 2, 'a quote inside an unquoted field (quote the whole field and double inner quotes)'));
    expect(() => parse(['a,b\n"x" ,1\n'])).toThrow(/^line 2, column 1: text after a closing quote/);
    expect(() => parseTable('t.csv', Buffer.from('a,b\n1, "x"\n'))).toThrow(/t\.csv: line 2, column 2 \("b"\): a quote inside an unquoted field/);
    expect(() => parseTable('t.csv', Buffer.from('a,b\n"x" ,1\n'))).toThrow(/t\.csv: line 2, column 1 \("a"\): text after a closing quote/);
  });

  it('refuses bytes that are not UTF-8, naming the line, in both readers', () => {
    const bytes = Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xff]), Buffer.from('\n')]);
    expect(() => parseBytes(bytes, [5, 11])).toThrow(new CsvSyntaxError(3, 1, 'not UTF-8 text'));
    expect(() => parseTable('t.csv', bytes)).toThrow(/t\.csv: line 3, column 1: not UTF-8 text/);
  });

  it('reads a lone CR as a line end, and counts lines across quoted line breaks', () => {
    expect(parse(['a\rb\r\n"c\r\nd"\re\n'])).toEqual([
      { fields: ['a'], line: 1 },
      { fields: ['b'], line: 2 },
      { fields: ['c\r\nd'], line: 3 },
      { fields: ['e'], line: 5 },
    ]);
  });

  it('rejects a quote inside an unquoted field, naming the line', () => {
    expect(() => parse(['a,b\n1,x"y\n'])).toThrow(new CsvSyntaxError(2, 2, 'a quote inside an unquoted field (quote the whole field and double inner quotes)'));
  });

  it('rejects text after a closing quote, naming the line', () => {
    expect(() => parse(['a,b\n"1"x,2\n'])).toThrow(/^line 2, column 1: text after a closing quote/);
  });

  it('rejects a quoted field that never closes, naming the line it opens on', () => {
    expect(() => parse(['a,b\n1,2\n3,"open\nmore\n'])).toThrow(/^line 3, column 2: a quoted field is never closed/);
  });
});
