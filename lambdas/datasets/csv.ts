/* eslint-disable @typescript-eslint/no-non-null-assertion -- the scanner indexes typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * Caretaker's one CSV dialect, read the same way by dataset registration (`register.ts`,
 * `caretaker datasets check`), drift baselines and `caretaker drift` (`drift/table.ts`) and
 * CSV capture payloads (`drift/capture.ts`). It is RFC 4180, read strictly:
 *
 * - Fields are separated by commas; records end with LF, CRLF or a lone CR. The last record
 *   may lack a line end. A UTF-8 byte-order mark at the start is dropped. The text must be
 *   UTF-8 (`CsvSyntaxError` "not UTF-8 text" otherwise).
 * - A field that starts with `"` is quoted: it may hold commas, line breaks and doubled quotes
 *   (`""` is one `"`), and must be followed by a comma or a line end.
 * - Refused, with `CsvSyntaxError` naming the line and the field: a quote inside an unquoted
 *   field (including after leading blanks, as in `a, "b"`), anything after a closing quote
 *   other than a comma or a line end (including blanks), a quoted field that never closes.
 * - Blank lines (nothing between two line ends) are skipped; they are not records.
 * - Trimming: a field's value is its text (inside the quotes, when quoted) with the spaces and
 *   tabs at either end removed; nothing else is removed. So ` 4.5 ` is the number 4.5, and
 *   `"  red "` is the category `red`. An empty value is missing. This is what registration's
 *   profile always did with every value; readers that used to trim less (drift kept blanks
 *   inside quotes) or more (registration used JavaScript's `trim()`, which also removes
 *   Unicode spaces) now agree on it.
 *
 * Two readers share one scanner: `CsvScanner` over a whole byte buffer (the drift path: it
 * leaves each field's byte range in reusable typed arrays and allocates nothing per value),
 * and `CsvParser`, which streams chunks of any size through the same scanner (registration).
 */
import { isUtf8 } from 'node:buffer';

export class CsvSyntaxError extends Error {
  constructor(
    /** 1-based physical line of the problem. */
    readonly line: number,
    /** 1-based field number in its record. */
    readonly column: number,
    readonly reason: string,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'CsvSyntaxError';
  }
}

export const CSV_REASONS = {
  quoteInUnquoted: 'a quote inside an unquoted field (quote the whole field and double inner quotes)',
  textAfterQuote: 'text after a closing quote (expected a comma or the end of the line)',
  unclosedQuote: 'a quoted field is never closed',
  notUtf8: 'not UTF-8 text',
} as const;

/** The bytes the dialect gives a meaning to (readers with a fast path of their own import them). */
export const QUOTE = 0x22;
export const COMMA = 0x2c;
export const LF = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const TAB = 0x09;

/** 1 for the bytes that end a run of ordinary characters in an unquoted field (all ≤ COMMA). */
const SPECIAL = new Uint8Array(256);
for (const byte of [QUOTE, COMMA, LF, CR]) SPECIAL[byte] = 1;

export interface CsvScannerOptions {
  /**
   * The buffer holds the rest of the input. When false, a record that reaches the end of the
   * buffer is not read: `next()` returns false with `incomplete` set, and `offset` is where it
   * starts, so a streaming caller can retry it with more bytes. @default true
   */
  readonly final?: boolean;
  /** Line number of the buffer's first byte. @default 1 */
  readonly firstLine?: number;
  /** Drop a UTF-8 byte-order mark at the start of the buffer. @default true */
  readonly byteOrderMark?: boolean;
}

export class CsvScanner {
  /** Field i of the current record is bytes[starts[i], ends[i]): its value, quotes and blanks trimmed. */
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  /** 1 when field i was quoted and holds a doubled quote that `text` must unescape. */
  escaped = new Uint8Array(64);
  fieldCount = 0;
  /** 1-based line on which the current record starts. */
  line = 0;
  /** Set when `next()` stopped at a record the (non-final) buffer does not finish. */
  incomplete = false;
  private position = 0;
  private nextLine: number;
  private readonly final: boolean;

  constructor(
    readonly bytes: Uint8Array,
    options: CsvScannerOptions = {},
  ) {
    this.final = options.final ?? true;
    this.nextLine = options.firstLine ?? 1;
    // A UTF-8 byte order mark is not part of the first column's name.
    if ((options.byteOrderMark ?? true) && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) this.position = 3;
  }

  /** Advances to the next non-blank record; false at the end of input (or of a non-final buffer). */
  next(): boolean {
    const bytes = this.bytes;
    const length = bytes.length;
    const final = this.final;
    // Skip blank lines.
    for (;;) {
      if (this.position >= length) return false;
      const byte = bytes[this.position]!;
      if (byte === LF) {
        this.position++;
        this.nextLine++;
      } else if (byte === CR) {
        if (this.position + 1 >= length && !final) return this.stop();
        this.position += bytes[this.position + 1] === LF ? 2 : 1;
        this.nextLine++;
      } else break;
    }
    this.line = this.nextLine;
    let physical = this.nextLine;
    let field = 0;
    let i = this.position;
    for (;;) {
      if (field === this.starts.length) this.grow();
      let start: number;
      let end: number;
      let escaped = 0;
      if (i < length && bytes[i] === QUOTE) {
        i++;
        start = i;
        for (;;) {
          if (i >= length) {
            if (!final) return this.stop();
            throw new CsvSyntaxError(this.line, field + 1, CSV_REASONS.unclosedQuote);
          }
          const byte = bytes[i]!;
          if (byte === QUOTE) {
            if (i + 1 >= length && !final) return this.stop();
            if (bytes[i + 1] === QUOTE) {
              escaped = 1;
              i += 2;
              continue;
            }
            break;
          }
          if (byte === LF) physical++;
          else if (byte === CR) {
            if (i + 1 >= length && !final) return this.stop();
            if (bytes[i + 1] !== LF) physical++;
          }
          i++;
        }
        end = i;
        i++;
        if (i < length) {
          const after = bytes[i]!;
          if (after !== COMMA && after !== LF && after !== CR) throw new CsvSyntaxError(physical, field + 1, CSV_REASONS.textAfterQuote);
        }
      } else {
        start = i;
        // Every byte the dialect gives a meaning to is at most a comma, so most bytes take one comparison.
        while (i < length) {
          const byte = bytes[i]!;
          if (byte > COMMA || SPECIAL[byte] === 0) i++;
          else break;
        }
        if (i < length && bytes[i] === QUOTE) throw new CsvSyntaxError(physical, field + 1, CSV_REASONS.quoteInUnquoted);
        end = i;
      }
      // The value: blanks at either end trimmed.
      while (start < end && (bytes[start] === SPACE || bytes[start] === TAB)) start++;
      while (end > start && (bytes[end - 1] === SPACE || bytes[end - 1] === TAB)) end--;
      this.starts[field] = start;
      this.ends[field] = end;
      this.escaped[field] = escaped;
      field++;
      if (i >= length) {
        if (!final) return this.stop();
        break;
      }
      const byte = bytes[i]!;
      if (byte === COMMA) {
        i++;
        continue;
      }
      // End of record: LF, CRLF or a lone CR.
      if (byte === CR) {
        if (i + 1 >= length && !final) return this.stop();
        i += bytes[i + 1] === LF ? 2 : 1;
      } else i++;
      physical++;
      break;
    }
    this.position = i;
    this.nextLine = physical;
    this.fieldCount = field;
    return true;
  }

  /** Byte offset where the next record starts (or blank lines before it). */
  get offset(): number {
    return this.position;
  }

  /** Line number of the byte at `offset`. */
  get lineAtOffset(): number {
    return this.nextLine;
  }

  /** Continues after one single-line record a caller read itself, up to `position` (past its line end). */
  skipRecord(position: number): void {
    this.position = position;
    this.line = this.nextLine;
    this.nextLine++;
  }

  /** Field i of the current record as a string. */
  text(i: number): string {
    const value = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.starts[i]!, this.ends[i]! - this.starts[i]!).toString(
      'utf8',
    );
    return this.escaped[i] === 1 ? value.replaceAll('""', '"') : value;
  }

  isEmpty(i: number): boolean {
    return this.starts[i] === this.ends[i];
  }

  private stop(): false {
    // `position` and `nextLine` still point at the record's start.
    this.incomplete = true;
    return false;
  }

  private grow(): void {
    const size = this.starts.length * 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    const escaped = new Uint8Array(size);
    starts.set(this.starts);
    ends.set(this.ends);
    escaped.set(this.escaped);
    this.starts = starts;
    this.ends = ends;
    this.escaped = escaped;
  }
}

/** Rejects bytes that are not UTF-8, naming the line where the text turns invalid. */
export function assertUtf8(bytes: Uint8Array, firstLine = 1): void {
  if (isUtf8(bytes)) return;
  // Only on failure: find the first line that does not decode.
  let line = firstLine;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === LF) {
      if (!isUtf8(bytes.subarray(start, i))) break;
      line++;
      start = i + 1;
    }
  }
  throw new CsvSyntaxError(line, 1, CSV_REASONS.notUtf8);
}

export type RecordHandler = (values: string[], line: number) => void;

/**
 * The dialect over a stream: bytes go in with `push` (cut anywhere, even inside a character,
 * a field or a CRLF), records come out through the callback as their values (trimmed as the
 * dialect says) with the line each record starts on. It holds one unfinished record at a time.
 */
export class CsvParser {
  private carry: Uint8Array | undefined;
  private line = 1;
  private started = false;

  constructor(private readonly onRecord: RecordHandler) {}

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.scan(this.carry === undefined ? chunk : concat(this.carry, chunk), false);
  }

  /** Ends the input: reads a last record without a line end, rejects an open quote. */
  end(): void {
    this.scan(this.carry ?? new Uint8Array(0), true);
    this.carry = undefined;
  }

  private scan(bytes: Uint8Array, final: boolean): void {
    // Wait for three bytes before deciding whether the stream starts with a byte-order mark.
    if (!this.started && bytes.length < 3 && !final) {
      this.carry = bytes.slice();
      return;
    }
    const scanner = new CsvScanner(bytes, { final, firstLine: this.line, byteOrderMark: !this.started });
    this.started = true;
    let from = scanner.offset;
    while (scanner.next()) {
      assertUtf8(bytes.subarray(from, scanner.offset), scanner.line);
      from = scanner.offset;
      const values: string[] = new Array<string>(scanner.fieldCount);
      for (let i = 0; i < scanner.fieldCount; i++) values[i] = scanner.text(i);
      this.onRecord(values, scanner.line);
    }
    this.line = scanner.lineAtOffset;
    this.carry = scanner.incomplete ? bytes.slice(scanner.offset) : undefined;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
