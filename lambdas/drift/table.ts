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
import { isUtf8 } from 'node:buffer';
import { assertUtf8, CSV_REASONS, CsvScanner, CsvSyntaxError } from '../datasets/csv';
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
  return format === 'csv' ? parseCsvTable(file, () => new CsvWindows(file, bytes, 0), undefined) : parseJsonLinesTable(file, bytes);
}

// ---------------------------------------------------------------------------------------------
// CSV

/**
 * A CSV file read front to back in windows instead of held in memory whole (`caretaker drift`
 * on local files: a fresh 100 MB buffer costs more CPU to fault in than to parse, see
 * BENCHMARKS.md). `open` starts a pass; a second pass decodes the category columns.
 */
export interface CsvSource {
  /** The file's size in bytes, when known: the columns are then sized once. */
  readonly size?: number;
  open(): CsvReader;
  /**
   * Called when a window's bytes are not UTF-8: throw the reader's own refusal (the CLI names
   * the line and byte in the whole file). @default the dialect's `not UTF-8 text` at the line
   */
  notUtf8?(): never;
}

export interface CsvReader {
  /** Reads into `into` from offset `at` (at most `into.length - at` bytes); 0 at the end of the file. */
  read(into: Uint8Array, at: number): number;
  close(): void;
}

/** Bytes a window holds at first; it doubles for a record longer than that. */
export const CSV_WINDOW_BYTES = 1 << 20;

/** A CSV file read from a `CsvSource` in windows, in Caretaker's one dialect. */
export function parseCsvSource(file: string, source: CsvSource, options: { readonly windowBytes?: number } = {}): Table {
  return parseCsvTable(file, () => new CsvWindows(file, source, options.windowBytes ?? CSV_WINDOW_BYTES), source.size);
}

/**
 * The records of one pass over a CSV input, one window at a time: `scanner` reads the current
 * window (`final` once the input is all in it) and `plainEnd` bounds the fused fast path to the
 * window's complete lines. `refill` moves the unread rest to the front and reads more.
 */
class CsvWindows {
  scanner: CsvScanner;
  plainEnd: number;
  private final: boolean;
  private window: Uint8Array;
  private filled = 0;
  /** Bytes of the window already checked to be UTF-8. */
  private checked = 0;
  private readonly reader: CsvReader | undefined;

  constructor(
    private readonly file: string,
    private readonly source: CsvSource | Uint8Array,
    windowBytes: number,
  ) {
    if (source instanceof Uint8Array) {
      withCsvErrors(file, [], () => assertUtf8(source));
      this.reader = undefined;
      this.window = source;
      this.filled = source.length;
      this.final = true;
    } else {
      this.reader = source.open();
      this.window = new Uint8Array(Math.max(windowBytes, 4));
      this.final = false;
      this.fill();
    }
    this.scanner = new CsvScanner(this.window.subarray(0, this.filled), { final: this.final });
    this.plainEnd = this.plainLimit();
  }

  /** Reads past the current window; false when the input is used up. */
  refill(): boolean {
    if (this.final) return false;
    const from = this.scanner.offset;
    const line = this.scanner.lineAtOffset;
    const rest = this.filled - from;
    if (from === 0 && rest === this.window.length) {
      // One record longer than the window: a bigger window.
      const bigger = new Uint8Array(this.window.length * 2);
      bigger.set(this.window);
      this.window = bigger;
    } else if (from > 0) {
      this.window.copyWithin(0, from, this.filled);
      this.checked = Math.max(0, this.checked - from);
    }
    this.filled = rest;
    this.fill();
    this.scanner = new CsvScanner(this.window.subarray(0, this.filled), { final: this.final, firstLine: line, byteOrderMark: false });
    this.plainEnd = this.plainLimit();
    return true;
  }

  close(): void {
    this.reader?.close();
  }

  private fill(): void {
    const reader = this.reader!;
    while (this.filled < this.window.length) {
      const n = reader.read(this.window, this.filled);
      if (n === 0) {
        this.final = true;
        break;
      }
      this.filled += n;
    }
    // A line end is a character boundary: check up to the last one (or all, at the end).
    const upTo = this.final ? this.filled : this.lastLineEnd() + 1;
    if (upTo > this.checked) {
      if (!isUtf8(this.window.subarray(this.checked, upTo))) {
        const source = this.source as CsvSource;
        if (source.notUtf8) source.notUtf8();
        throw new DataFileError(this.file, CSV_REASONS.notUtf8);
      }
      this.checked = upTo;
    }
  }

  /** Offset of the window's last LF (-1 when it has none). */
  private lastLineEnd(): number {
    return this.window.subarray(0, this.filled).lastIndexOf(LF);
  }

  /** The fused path reads whole lines only (up to the last LF), so it never reads a record the window cuts. */
  private plainLimit(): number {
    return this.final ? this.filled : this.lastLineEnd() + 1;
  }
}

function parseCsvTable(file: string, pass: () => CsvWindows, size: number | undefined): Table {
  let windows = pass();
  const columns = csvHeader(file, windows);
  const width = columns.length;

  // Sized from the first window's records once (a little over), grown if the estimate falls short.
  let capacity = estimateRows(windows, size);
  let values = columns.map(() => new Float64Array(capacity));
  const empty = new Float64Array(width);
  const firstNonNumber: ({ line: number; text: string } | undefined)[] = columns.map(() => undefined);
  let rows = 0;
  // Plain records of numbers take the fused path; anything else (quotes, blanks, text, a wrong
  // field count) goes through the general scanner, and text in a column turns the fast path off.
  let fast = true;
  try {
    withCsvErrors(file, columns, () => {
      for (;;) {
        if (rows === capacity) {
          capacity = Math.ceil(capacity * 1.5) + 1024;
          values = values.map((column) => {
            const grown = new Float64Array(capacity);
            grown.set(column);
            return grown;
          });
        }
        const scanner = windows.scanner;
        if (fast) {
          const next = plainNumericRecord(scanner.bytes, scanner.offset, windows.plainEnd, values, rows);
          if (next >= 0) {
            scanner.skipRecord(next);
            for (let c = 0; c < width; c++) if (values[c]![rows] !== values[c]![rows]) empty[c]!++;
            rows++;
            continue;
          }
        }
        if (!scanner.next()) {
          if (windows.refill()) continue;
          break;
        }
        if (scanner.fieldCount !== width) raggedRow(file, columns, scanner.line, scanner.fieldCount);
        const bytes = scanner.bytes;
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
  } finally {
    windows.close();
  }
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
      if (indexes.length === 0) return new Map();
      windows = pass();
      let row = 0;
      try {
        withCsvErrors(file, columns, () => {
          let header = true;
          for (;;) {
            const strings = windows.scanner;
            if (!strings.next()) {
              if (windows.refill()) continue;
              break;
            }
            if (header) {
              header = false;
              continue;
            }
            if (row === rows || strings.fieldCount !== width) throw new DataFileError(file, 'changed while it was being read', strings.line);
            for (let k = 0; k < indexes.length; k++) {
              const c = indexes[k]!;
              if (strings.isEmpty(c)) builders[k]!.set(row, undefined);
              else builders[k]!.setField(row, strings, c);
            }
            row++;
          }
        });
      } finally {
        windows.close();
      }
      if (row !== rows) throw new DataFileError(file, 'changed while it was being read');
      return new Map(wanted.map((column, k) => [column, builders[k]!.build()]));
    },
  };
}

/** Rows the input holds at most, near enough: from the first window's records, or its line ends for whole bytes. */
function estimateRows(windows: CsvWindows, size: number | undefined): number {
  const scanner = windows.scanner;
  const bytes = scanner.bytes;
  if (size === undefined) {
    // Whole bytes in memory: every record ends at a line end (or the end of input).
    let lines = 1;
    let at = scanner.offset;
    for (;;) {
      const next = bytes.indexOf(LF, at);
      if (next < 0) break;
      lines++;
      at = next + 1;
    }
    return lines;
  }
  const from = scanner.offset;
  const sampled = windows.plainEnd - from;
  let lines = 0;
  for (let at = from; at < windows.plainEnd; ) {
    const next = bytes.indexOf(LF, at);
    if (next < 0 || next >= windows.plainEnd) break;
    lines++;
    at = next + 1;
  }
  if (lines === 0 || sampled <= 0) return 1024;
  return Math.ceil(((size - from) / sampled) * lines * 1.02) + 1024;
}

// The dialect's bytes (`datasets/csv.ts`) as local constants, so the hot loop compares with literals.
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const SPACE = 0x20;
const TAB = 0x09;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
/** Past the end of the input, where a byte would be. */
const END = -1;
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * Reads one single-line record of unquoted, unpadded numeric or empty fields of `bytes[at,
 * length)` straight into the columns (empty → NaN), finding and parsing each field in one go.
 * Returns the offset after the record's newline, or -1 when the record needs the general
 * scanner (a quote, a blank, text, a blank line, the wrong number of fields, the end of input);
 * the columns' row is then rewritten.
 *
 * A field of at most 15 digits with an optional sign and point (`-12.345`) is parsed as it is
 * found: the digits as an exact integer m, the value m / 10^f for f fraction digits, one
 * correctly rounded division, which is the double `parseDecimal` (and `Number()`) gives.
 * Anything else in a field (an exponent, more digits) is left to `parseDecimal`.
 */
function plainNumericRecord(bytes: Uint8Array, at: number, length: number, values: Float64Array[], row: number): number {
  if (at >= length || bytes[at] === LF || bytes[at] === CR) return -1;
  const last = values.length - 1;
  let i = at;
  for (let c = 0; c <= last; c++) {
    const start = i;
    let byte = i < length ? bytes[i]! : END;
    let negative = false;
    if (byte === MINUS || byte === PLUS) {
      negative = byte === MINUS;
      byte = ++i < length ? bytes[i]! : END;
    }
    let mantissa = 0;
    let digits = 0;
    let fraction = 0;
    while (byte >= ZERO && byte <= NINE) {
      mantissa = mantissa * 10 + (byte - ZERO);
      digits++;
      byte = ++i < length ? bytes[i]! : END;
    }
    if (byte === DOT) {
      byte = ++i < length ? bytes[i]! : END;
      while (byte >= ZERO && byte <= NINE) {
        mantissa = mantissa * 10 + (byte - ZERO);
        digits++;
        fraction++;
        byte = ++i < length ? bytes[i]! : END;
      }
    }
    let value: number;
    const delimiter = byte === COMMA || byte === LF || byte === CR || byte === END;
    if (delimiter && digits > 0 && digits <= 15) {
      const magnitude = fraction === 0 ? mantissa : mantissa / POWERS_OF_TEN[fraction]!;
      value = negative ? -magnitude : magnitude;
    } else if (delimiter && i === start) {
      value = Number.NaN;
    } else {
      // Not the plain shape: find the field's end, then the exact parser decides.
      while (i < length) {
        byte = bytes[i]!;
        if (byte === COMMA || byte === LF) break;
        if (byte === QUOTE || byte === SPACE || byte === TAB) return -1;
        i++;
      }
      if (i >= length) byte = END;
      let end = i;
      if (c === last && end > start && bytes[end - 1] === CR) end--;
      if (end === start) {
        value = Number.NaN;
      } else {
        value = parseDecimal(bytes, start, end);
        if (value !== value) return -1;
      }
    }
    if (byte === CR) {
      // Only the CR of a CRLF after the last field; a lone CR ends records in the general scanner.
      if (c !== last || i + 1 >= length || bytes[i + 1] !== LF) return -1;
      i++;
      byte = LF;
    }
    if (c === last ? byte === COMMA : byte !== COMMA) return -1; // too many fields, or too few
    values[c]![row] = value;
    i++;
  }
  return i;
}

function csvHeader(file: string, windows: CsvWindows): string[] {
  const first = () => {
    for (;;) {
      if (windows.scanner.next()) return true;
      if (!windows.refill()) return false;
    }
  };
  if (!withCsvErrors(file, [], first)) throw new DataFileError(file, 'is empty');
  const scanner = windows.scanner;
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

/** Slots of a category builder's cache of recent categories' bytes (a power of two). */
const CATEGORY_CACHE = 256;

class CategoryBuilder {
  private readonly codes: Int32Array;
  private readonly index = new Map<string, number>();
  private readonly categories: string[] = [];
  /** The UTF-8 bytes of each category read from a CSV field (set by `setField`). */
  private readonly bytes: (Uint8Array | undefined)[] = [];
  /** Per slot, the code of the last category whose bytes hashed there, or -1. */
  private readonly cache = new Int32Array(CATEGORY_CACHE).fill(-1);

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

  /**
   * `set` for field `c` of the scanner's record, mostly without making its string: a field whose
   * bytes are those of a category seen before (found through a small cache keyed by a hash of
   * the bytes, then compared byte for byte) takes that category's code.
   */
  setField(row: number, scanner: CsvScanner, c: number): void {
    const bytes = scanner.bytes;
    const start = scanner.starts[c]!;
    const end = scanner.ends[c]!;
    if (scanner.escaped[c] === 0) {
      let hash = 0x811c9dc5;
      for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
      const slot = (hash >>> 0) & (CATEGORY_CACHE - 1);
      const code = this.cache[slot]!;
      if (code >= 0) {
        const known = this.bytes[code]!;
        let same = known.length === end - start;
        for (let i = 0; same && i < known.length; i++) same = known[i] === bytes[start + i];
        if (same) {
          this.codes[row] = code;
          return;
        }
      }
      this.set(row, scanner.text(c));
      const found = this.codes[row]!;
      this.bytes[found] ??= bytes.slice(start, end);
      this.cache[slot] = found;
      return;
    }
    this.set(row, scanner.text(c));
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
