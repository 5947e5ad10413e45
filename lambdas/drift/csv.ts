/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * An RFC 4180 CSV scanner over bytes. `next()` finds the fields of one record and leaves their
 * byte ranges in reusable typed arrays, so scanning allocates nothing per row or value.
 * Quoted fields may hold commas, newlines and doubled quotes; `text(i)` decodes one field
 * when a caller needs it as a string. Blank lines are skipped (as pandas does).
 */
import { isBlank } from './numbers';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

export class CsvScanner {
  /** Field i of the current record is bytes[starts[i], ends[i]), blanks and quotes trimmed. */
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  /** 1 when field i was quoted and contains a doubled quote that `text` must unescape. */
  escaped = new Uint8Array(64);
  fieldCount = 0;
  /** 1-based line on which the current record starts. */
  line = 0;
  private position = 0;
  private nextLine = 1;

  constructor(readonly bytes: Uint8Array) {
    // A UTF-8 byte order mark is not part of the first column's name.
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) this.position = 3;
  }

  /** Advances to the next non-blank record; false at the end of input. */
  next(): boolean {
    const bytes = this.bytes;
    const length = bytes.length;
    // Skip blank lines.
    for (;;) {
      if (this.position >= length) return false;
      const byte = bytes[this.position]!;
      if (byte === LF) {
        this.position++;
        this.nextLine++;
      } else if (byte === CR && bytes[this.position + 1] === LF) {
        this.position += 2;
        this.nextLine++;
      } else break;
    }
    this.line = this.nextLine;
    let field = 0;
    let i = this.position;
    for (;;) {
      if (field === this.starts.length) this.grow();
      while (i < length && (bytes[i] === 0x20 || bytes[i] === 0x09)) i++;
      let start = i;
      let end: number;
      let escaped = 0;
      if (i < length && bytes[i] === QUOTE) {
        i++;
        start = i;
        for (;;) {
          if (i >= length) throw new CsvSyntaxError(this.line, field + 1, 'a quoted field is not closed');
          const byte = bytes[i]!;
          if (byte === QUOTE) {
            if (bytes[i + 1] === QUOTE) {
              escaped = 1;
              i += 2;
              continue;
            }
            break;
          }
          if (byte === LF) this.nextLine++;
          i++;
        }
        end = i;
        i++;
        while (i < length && isBlank(bytes[i]!)) i++;
        if (i < length && bytes[i] !== COMMA && bytes[i] !== LF) {
          throw new CsvSyntaxError(this.line, field + 1, 'unexpected text after a closing quote');
        }
      } else {
        while (i < length && bytes[i] !== COMMA && bytes[i] !== LF) i++;
        end = i;
        while (end > start && isBlank(bytes[end - 1]!)) end--;
      }
      this.starts[field] = start;
      this.ends[field] = end;
      this.escaped[field] = escaped;
      field++;
      if (i < length && bytes[i] === COMMA) {
        i++;
        continue;
      }
      // End of record: newline or end of input.
      if (i < length) {
        i++;
        this.nextLine++;
      }
      break;
    }
    this.position = i;
    this.fieldCount = field;
    return true;
  }

  /** Byte offset where the next record starts (or blank lines before it). */
  get offset(): number {
    return this.position;
  }

  /** Continues after one single-line record a caller read itself, up to `position` (past its newline). */
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

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
    this.name = 'CsvSyntaxError';
  }
}
