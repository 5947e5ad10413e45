import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvParser, CsvSyntaxError } from '../../../lambdas/datasets/csv';

function parse(chunks: readonly string[]): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  const parser = new CsvParser((fields, line) => records.push({ fields, line }));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return records;
}

/** Writes records as RFC 4180 CSV, quoting fields that need it. */
function write(records: readonly string[][], eol: string): string {
  const field = (f: string) => (/[",\r\n]/.test(f) || f === '' ? `"${f.replace(/"/g, '""')}"` : f);
  return records.map((r) => r.map(field).join(',')).join(eol) + eol;
}

describe('CsvParser', () => {
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

  it('gives the same records however the text is cut into chunks', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é'), maxLength: 6 });
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(), { maxLength: 10 }),
        (records, eol, cuts) => {
          const text = write(records, eol);
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points].map((start, i) => text.slice(start, [...points, text.length][i]));
          expect(parse(chunks).map((r) => r.fields)).toEqual(records);
        },
      ),
    );
  });

  it('rejects a quote inside an unquoted field, naming the line', () => {
    expect(() => parse(['a,b\n1,x"y\n'])).toThrow(new CsvSyntaxError(2, 'a quote inside an unquoted field (quote the whole field and double inner quotes)'));
  });

  it('rejects text after a closing quote, naming the line', () => {
    expect(() => parse(['a,b\n"1"x,2\n'])).toThrow(/^line 2: text after a closing quote/);
  });

  it('rejects a quoted field that never closes, naming the line it opens on', () => {
    expect(() => parse(['a,b\n1,2\n3,"open\nmore\n'])).toThrow(/^line 3: a quoted field is never closed/);
  });
});
