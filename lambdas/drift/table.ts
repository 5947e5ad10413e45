/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * Tabular files (CSV with a header row in Caretaker's one dialect, `datasets/csv.ts`, or JSON
 * Lines) read into columns: one Float64Array per
 * column holding its numbers (NaN where empty or not a number), plus category codes for the
 * columns read as categories. CSV bytes are parsed straight into the arrays; a second pass
 * over the bytes decodes only the columns that are categorical.
 *
 * Every problem is a `DataFileError` naming the file, the line and the column.
 */
import { assertUtf8, CsvScanner, CsvSyntaxError } from '../datasets/csv';
import { parseDecimal, parseDecimalText } from './numbers';

export class DataFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly line?: number,
    readonly column?: string,
  ) {
    const where = [line === undefined ? undefined : `line ${line}`, column === undefined ? undefined : `column ${column}`]
      .filter(Boolean)
      .join(', ');
    super(`${file}${where ? `: ${where}` : ''}: ${reason}`);
    this.name = 'DataFileError';
  }
}

export interface CategoricalColumn {
  /** Category index per row, -1 where the value is empty. */
  readonly codes: Int32Array;
  readonly categories: readonly string[];
}

export interface NumericColumn {
  /** The value per row; NaN where empty or not a finite number. */
  readonly values: Float64Array;
  /** Rows whose value is empty. */
  readonly empty: number;
  /** First non-empty value that is not a finite number, if any: the column is not numeric. */
  readonly firstNonNumber?: { readonly line: number; readonly text: string };
}

export interface Table {
  readonly file: string;
  readonly columns: readonly string[];
  readonly rows: number;
  numeric(column: string): NumericColumn;
  /** Decodes these columns as categories (one pass for all of them). */
  categorical(columns: readonly string[]): Map<string, CategoricalColumn>;
}

export type TableFormat = 'csv' | 'jsonl';

export function formatOf(file: string): TableFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  throw new DataFileError(file, 'unknown format: name CSV files *.csv and JSON Lines files *.jsonl or *.ndjson');
}

export function parseTable(file: string, bytes: Uint8Array, format: TableFormat = formatOf(file)): Table {
  return format === 'csv' ? parseCsvTable(file, bytes) : parseJsonLinesTable(file, bytes);
}

// ---------------------------------------------------------------------------------------------
// CSV

function parseCsvTable(file: string, bytes: Uint8Array): Table {
  withCsvErrors(file, [], () => assertUtf8(bytes));
  const scanner = new CsvScanner(bytes);
  const columns = csvHeader(file, scanner);
  const width = columns.length;

  // Lines bound the rows from above, so each column is allocated once and trimmed at the end.
  let capacity = 1;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) capacity++;
  let values = columns.map(() => new Float64Array(capacity));
  const empty = new Float64Array(width);
  const firstNonNumber: ({ line: number; text: string } | undefined)[] = columns.map(() => undefined);
  let rows = 0;
  // Plain records of numbers take the fused path; anything else (quotes, blanks, text, a wrong
  // field count) goes through the general scanner, and text in a column turns the fast path off.
  let fast = true;
  withCsvErrors(file, columns, () => {
    for (;;) {
      if (fast) {
        const next = plainNumericRecord(bytes, scanner.offset, values, rows);
        if (next >= 0) {
          scanner.skipRecord(next);
          for (let c = 0; c < width; c++) if (values[c]![rows] !== values[c]![rows]) empty[c]!++;
          rows++;
          continue;
        }
      }
      if (!scanner.next()) break;
      if (scanner.fieldCount !== width) raggedRow(file, columns, scanner.line, scanner.fieldCount);
      const starts = scanner.starts;
      const ends = scanner.ends;
      for (let c = 0; c < width; c++) {
        const start = starts[c]!;
        const end = ends[c]!;
        const column = values[c]!;
        if (start === end) {
          column[rows] = Number.NaN;
          empty[c]!++;
          continue;
        }
        const value = parseDecimal(bytes, start, end);
        column[rows] = value;
        if (value !== value && firstNonNumber[c] === undefined) {
          firstNonNumber[c] = { line: scanner.line, text: scanner.text(c) };
          fast = false;
        }
      }
      rows++;
    }
  });
  if (rows === 0) throw new DataFileError(file, 'has a header row but no data rows', 2);
  if (rows < capacity) values = values.map((column) => column.subarray(0, rows));

  return {
    file,
    columns,
    rows,
    numeric: (column) => {
      const c = indexOf(file, columns, column);
      return { values: values[c]!, empty: empty[c]!, firstNonNumber: firstNonNumber[c] };
    },
    categorical: (wanted) => {
      const indexes = wanted.map((column) => indexOf(file, columns, column));
      const builders = indexes.map(() => new CategoryBuilder(rows));
      const strings = new CsvScanner(bytes);
      strings.next();
      for (let row = 0; strings.next(); row++) {
        for (let k = 0; k < indexes.length; k++) {
          const c = indexes[k]!;
          builders[k]!.set(row, strings.isEmpty(c) ? undefined : strings.text(c));
        }
      }
      return new Map(wanted.map((column, k) => [column, builders[k]!.build()]));
    },
  };
}

// The dialect's bytes (`datasets/csv.ts`) as local constants, so the hot loop compares with literals.
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Reads one single-line record of unquoted, unpadded numeric or empty fields straight into the
 * columns (empty → NaN), finding and parsing each field in one go. Returns the offset after the
 * record's newline, or -1 when the record needs the general scanner (a quote, a blank, text, a
 * blank line, the wrong number of fields, the end of input); the columns' row is then rewritten.
 */
function plainNumericRecord(bytes: Uint8Array, at: number, values: Float64Array[], row: number): number {
  const length = bytes.length;
  if (at >= length || bytes[at] === LF || bytes[at] === CR) return -1;
  const width = values.length;
  let i = at;
  for (let c = 0; c < width; c++) {
    const start = i;
    let byte = -1;
    while (i < length) {
      byte = bytes[i]!;
      if (byte === COMMA || byte === LF) break;
      if (byte === QUOTE || byte === SPACE || byte === TAB) return -1;
      i++;
    }
    const last = c === width - 1;
    if (i >= length || byte === LF) {
      if (!last) return -1;
    } else if (last) {
      return -1; // a comma after the last field: too many fields
    }
    let end = i;
    if (last && end > start && bytes[end - 1] === CR) end--;
    if (end === start) {
      values[c]![row] = Number.NaN;
    } else {
      const value = parseDecimal(bytes, start, end);
      if (value !== value) return -1;
      values[c]![row] = value;
    }
    i++;
  }
  return i;
}

function csvHeader(file: string, scanner: CsvScanner): string[] {
  if (!withCsvErrors(file, [], () => scanner.next())) throw new DataFileError(file, 'is empty');
  const columns: string[] = [];
  const seen = new Set<string>();
  for (let c = 0; c < scanner.fieldCount; c++) {
    const name = scanner.text(c);
    if (name === '') throw new DataFileError(file, 'the header row has an empty column name', scanner.line, String(c + 1));
    if (seen.has(name)) throw new DataFileError(file, `the header row names "${name}" twice`, scanner.line, String(c + 1));
    seen.add(name);
    columns.push(name);
  }
  if (columns.every((name) => !Number.isNaN(parseDecimalText(name)))) {
    throw new DataFileError(file, 'has no header row: every field of line 1 is a number; add a row of column names', scanner.line);
  }
  return columns;
}

function raggedRow(file: string, columns: readonly string[], line: number, fields: number): never {
  const column = fields < columns.length ? `${fields + 1} ("${columns[fields]}")` : String(columns.length + 1);
  throw new DataFileError(
    file,
    `has ${fields} field${fields === 1 ? '' : 's'} where the header has ${columns.length}`,
    line,
    column,
  );
}

function withCsvErrors<T>(file: string, columns: readonly string[], scan: () => T): T {
  try {
    return scan();
  } catch (error) {
    if (error instanceof CsvSyntaxError) {
      const name = columns[error.column - 1];
      throw new DataFileError(file, error.reason, error.line, name === undefined ? String(error.column) : `${error.column} ("${name}")`);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

type Scalar = string | number | boolean | null | undefined;

function parseJsonLinesTable(file: string, bytes: Uint8Array): Table {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  const columns: string[] = [];
  const columnIndex = new Map<string, number>();
  const cells: Scalar[][] = [];
  const lines: number[] = [];
  let lineNumber = 0;
  let blank = true;
  for (const line of text.split('\n')) {
    lineNumber++;
    if (line.trim() === '') continue;
    blank = false;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      const message = (error as Error).message;
      throw new DataFileError(
        file,
        `is not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/s, '')}`,
        lineNumber,
        jsonErrorColumn(line, message),
      );
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new DataFileError(file, 'each line must be one JSON object', lineNumber);
    }
    const row = cells.length;
    for (const [key, value] of Object.entries(record)) {
      if (value !== null && typeof value === 'object') {
        throw new DataFileError(file, 'values must be numbers, strings, booleans or null', lineNumber, `"${key}"`);
      }
      let c = columnIndex.get(key);
      if (c === undefined) {
        c = columns.length;
        columns.push(key);
        columnIndex.set(key, c);
      }
      const rowCells = (cells[row] ??= []);
      rowCells[c] = value as Scalar;
    }
    cells[row] ??= [];
    lines.push(lineNumber);
  }
  if (blank) throw new DataFileError(file, 'is empty');
  const rows = cells.length;

  return {
    file,
    columns,
    rows,
    numeric: (column) => {
      const c = indexOf(file, columns, column);
      const values = new Float64Array(rows);
      let empty = 0;
      let firstNonNumber: { line: number; text: string } | undefined;
      for (let row = 0; row < rows; row++) {
        const cell = cells[row]![c];
        if (isEmptyCell(cell)) {
          values[row] = Number.NaN;
          empty++;
          continue;
        }
        const value = typeof cell === 'number' ? cell : typeof cell === 'string' ? parseDecimalText(cell) : Number.NaN;
        values[row] = value;
        if (Number.isNaN(value)) firstNonNumber ??= { line: lines[row]!, text: String(cell) };
      }
      return { values, empty, firstNonNumber };
    },
    categorical: (wanted) =>
      new Map(
        wanted.map((column) => {
          const c = indexOf(file, columns, column);
          const builder = new CategoryBuilder(rows);
          for (let row = 0; row < rows; row++) {
            const cell = cells[row]![c];
            builder.set(row, isEmptyCell(cell) ? undefined : String(cell));
          }
          return [column, builder.build()];
        }),
      ),
  };
}

/** 1-based column of a JSON.parse error: from V8's position when given, else the unexpected token's place. */
function jsonErrorColumn(line: string, message: string): string | undefined {
  const position = /position (\d+)/.exec(message);
  if (position) return String(Number(position[1]) + 1);
  if (/Unexpected end of JSON input/.test(message)) return String(line.length + 1);
  const token = /Unexpected (?:token|non-whitespace character) '?(.)'?/.exec(message)?.[1];
  if (token === undefined) return undefined;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === token) return String(i + 1);
    else if (ch === '"') inString = true;
  }
  return undefined;
}

function isEmptyCell(cell: Scalar): cell is null | undefined | '' {
  return cell === null || cell === undefined || (typeof cell === 'string' && cell.trim() === '');
}

// ---------------------------------------------------------------------------------------------

class CategoryBuilder {
  private readonly codes: Int32Array;
  private readonly index = new Map<string, number>();
  private readonly categories: string[] = [];

  constructor(rows: number) {
    this.codes = new Int32Array(rows);
  }

  set(row: number, value: string | undefined): void {
    if (value === undefined) {
      this.codes[row] = -1;
      return;
    }
    let code = this.index.get(value);
    if (code === undefined) {
      code = this.categories.length;
      this.categories.push(value);
      this.index.set(value, code);
    }
    this.codes[row] = code;
  }

  build(): CategoricalColumn {
    return { codes: this.codes, categories: this.categories };
  }
}

function indexOf(file: string, columns: readonly string[], column: string): number {
  const c = columns.indexOf(column);
  if (c < 0) throw new DataFileError(file, `has no column "${column}"`, 1);
  return c;
}
