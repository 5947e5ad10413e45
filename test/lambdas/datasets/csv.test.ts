import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvParser, CsvScanner, CsvSyntaxError } from '../../../lambdas/datasets/csv';
import { DataFileError, parseCsvSource, parseTable, type CsvSource, type Table } from '../../../lambdas/drift/table';

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

/** The bytes as a file read in windows of `window` bytes, each read returning at most `step` bytes. */
function windowed(bytes: Uint8Array, window: number, step = Number.POSITIVE_INFINITY): Table {
  const source: CsvSource = {
    size: bytes.length,
    open: () => {
      let at = 0;
      return {
        read: (into, offset) => {
          const n = Math.min(into.length - offset, bytes.length - at, step);
          into.set(bytes.subarray(at, at + n), offset);
          at += n;
          return n;
        },
        close: () => {},
      };
    },
  };
  return parseCsvSource('t.csv', source, { windowBytes: window });
}

/** Everything a table says about its input, or the refusal (message) it raised. */
function tableOutcome(read: () => Table): unknown {
  try {
    const table = read();
    const numeric = table.columns.map((c) => {
      const column = table.numeric(c);
      return { values: [...column.values], empty: column.empty, firstNonNumber: column.firstNonNumber };
    });
    const categories = [...table.categorical(table.columns)].map(([c, column]) => [c, [...column.codes], column.categories]);
    return { columns: table.columns, rows: table.rows, numeric, categories };
  } catch (error) {
    if (error instanceof DataFileError) return `${error.name}: ${error.message}`;
    throw error;
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

  it('is one dialect in the drift table reader too: read in windows of any size, it reads and refuses what the whole buffer does', () => {
    const text = fc.string({ unit: fc.constantFrom('1', '2', '-', '.', 'e', 'x', ',', ',', '"', '\n', '\n', '\r', ' ', '\t', 'é'), maxLength: 60 });
    fc.assert(
      fc.property(fc.boolean(), text, fc.integer({ min: 4, max: 24 }), fc.integer({ min: 1, max: 9 }), (header, body, window, step) => {
        const bytes = Buffer.from(`${header ? 'a,b\n' : ''}${body}`);
        expect(tableOutcome(() => windowed(bytes, window, step))).toEqual(tableOutcome(() => parseTable('t.csv', bytes)));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads numbers, quotes, a byte-order mark and CRLF the same in windows as whole, with records longer than a window', () => {
    const rows = Array.from({ length: 400 }, (_, i) => (i % 7 === 3 ? `"${i}",  ${i / 8} ,"long ${'x'.repeat(i % 50)}\n,"` : `${i},-${i}.25e-3,${i % 5 === 0 ? '' : 'é'}`));
    const bytes = Buffer.from(`\uFEFFa,b,c\r\n${rows.join('\r\n')}`);
    const whole = tableOutcome(() => parseTable('t.csv', bytes));
    expect((whole as { rows: number }).rows).toBe(400);
    for (const window of [4, 5, 16, 64, 1000]) expect(tableOutcome(() => windowed(bytes, window, 7)), `window ${window}`).toEqual(whole);
  });

  it('keeps every row of a file whose lines end with a lone CR (the columns were once sized by counting LFs)', () => {
    const bytes = Buffer.from('a,b\r1,2\r3,4\r5,6\r');
    for (const table of [parseTable('t.csv', bytes), windowed(bytes, 8)]) {
      expect(table.rows).toBe(3);
      expect([...table.numeric('a').values]).toEqual([1, 3, 5]);
      expect([...table.numeric('b').values]).toEqual([2, 4, 6]);
    }
  });

  it('refuses bytes that are not UTF-8 in any window, through the source\'s own refusal when it has one', () => {
    const bytes = Buffer.concat([Buffer.from(`a,b\n${'1,2\n'.repeat(50)}3,`), Buffer.from([0xff]), Buffer.from('\n4,5\n')]);
    expect(() => windowed(bytes, 16, 5)).toThrow(/t\.csv: not UTF-8 text/);
    const refusal = new Error('line 52, byte 207: not UTF-8 text');
    const source: CsvSource = {
      open: () => {
        let done = false;
        return { read: (into, at) => (done ? 0 : ((done = true), into.set(bytes, at), bytes.length)), close: () => {} };
      },
      notUtf8: () => {
        throw refusal;
      },
    };
    expect(() => parseCsvSource('t.csv', source, { windowBytes: 1 << 12 })).toThrow(refusal);
  });

  it('refuses a file that changed between the pass over numbers and the pass over categories', () => {
    let pass = 0;
    const source: CsvSource = {
      open: () => {
        const bytes = Buffer.from(pass++ === 0 ? 'a,b\n1,x\n2,y\n' : 'a,b\n1,x\n');
        let done = false;
        return { read: (into, at) => (done ? 0 : ((done = true), into.set(bytes, at), bytes.length)), close: () => {} };
      },
    };
    const table = parseCsvSource('t.csv', source);
    expect(() => table.categorical(['b'])).toThrow(/t\.csv: changed while it was being read/);
  });

  it('codes categories from their bytes as it would from their strings: look-alikes, escapes, blanks, more categories than cache slots', () => {
    const cell = fc.oneof(
      fc.integer({ min: 0, max: 700 }).map((i) => `c${i}`),
      fc.constantFrom('é', 'e\u0301', 'ab', 'ba', ' ab ', '"ab"', '"a""b"', '"a,b"', '', 'x"', 'ab\t'),
    );
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 400 }), (rows) => {
        const bytes = Buffer.from(`a,b\n${rows.map((r) => r.join(',')).join('\n')}\n`);
        const records = outcome(() => scanAll(bytes));
        const table = outcome(() => parseTable('t.csv', bytes));
        if (typeof records === 'string') {
          expect(tableOutcome(() => parseTable('t.csv', bytes))).toMatch(/^DataFileError/);
          return;
        }
        // The reference: each distinct value text, coded in order of first appearance.
        const expected = ['a', 'b'].map((_, c) => {
          const index = new Map<string, number>();
          const codes = (records as { fields: string[] }[]).slice(1).map(({ fields }) => {
            const value = fields[c]!;
            if (value === '') return -1;
            if (!index.has(value)) index.set(value, index.size);
            return index.get(value)!;
          });
          return { codes, categories: [...index.keys()] };
        });
        const actual = (table as Table).categorical(['a', 'b']);
        expect(['a', 'b'].map((c) => ({ codes: [...actual.get(c)!.codes], categories: actual.get(c)!.categories }))).toEqual(expected);
      }),
      { numRuns: 400 },
    );
  });
});
