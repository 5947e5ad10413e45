/**
 * A streaming CSV parser (RFC 4180): comma-separated, `"`-quoted fields that may hold commas,
 * doubled quotes and line breaks; LF or CRLF line ends; a UTF-8 byte-order mark is dropped.
 * It holds one record at a time, whatever the file size: text goes in with `push`, records come
 * out through the callback with the line each record starts on.
 *
 * Blank lines are skipped. Malformed input (a quote inside an unquoted field, text after a
 * closing quote, a quoted field that never ends) raises `CsvSyntaxError` naming the line.
 */

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'CsvSyntaxError';
  }
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
}

export type RecordHandler = (fields: string[], line: number) => void;

export class CsvParser {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  /** Physical line the parser is on (1-based) and the line the current record started on. */
  private line = 1;
  private recordLine = 1;
  private skipLineFeed = false;
  private started = false;

  constructor(private readonly onRecord: RecordHandler) {}

  /** Feeds the next piece of text; may be cut anywhere, even inside a field or a CRLF. */
  push(text: string): void {
    let i = 0;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) i = 1;
    }
    const n = text.length;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (this.skipLineFeed) {
        this.skipLineFeed = false;
        if (c === LF) {
          i++;
          continue;
        }
      }
      switch (this.state) {
        case State.FieldStart:
          if (c === QUOTE) {
            this.state = State.Quoted;
            i++;
          } else if (c === COMMA) {
            this.fields.push('');
            i++;
          } else if (c === LF || c === CR) {
            this.endRecord(c);
            i++;
          } else {
            this.state = State.Unquoted;
          }
          break;
        case State.Unquoted: {
          // Take the run of ordinary characters in one slice.
          const start = i;
          while (i < n) {
            const d = text.charCodeAt(i);
            if (d === COMMA || d === LF || d === CR || d === QUOTE) break;
            i++;
          }
          this.field += text.slice(start, i);
          if (i >= n) break;
          const d = text.charCodeAt(i);
          if (d === QUOTE) throw new CsvSyntaxError(this.line, 'a quote inside an unquoted field (quote the whole field and double inner quotes)');
          i++;
          if (d === COMMA) {
            this.fields.push(this.field);
            this.field = '';
            this.state = State.FieldStart;
          } else {
            this.endRecord(d);
          }
          break;
        }
        case State.Quoted: {
          const start = i;
          while (i < n) {
            const d = text.charCodeAt(i);
            if (d === QUOTE) break;
            if (d === LF) this.line++;
            i++;
          }
          this.field += text.slice(start, i);
          if (i < n) {
            this.state = State.QuoteInQuoted;
            i++;
          }
          break;
        }
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            this.field += '"';
            this.state = State.Quoted;
            i++;
          } else if (c === COMMA) {
            this.fields.push(this.field);
            this.field = '';
            this.state = State.FieldStart;
            i++;
          } else if (c === LF || c === CR) {
            this.endRecord(c);
            i++;
          } else {
            throw new CsvSyntaxError(this.line, 'text after a closing quote (expected a comma or the end of the line)');
          }
          break;
      }
    }
  }

  /** Ends the input: emits a last record without a trailing line break, rejects an open quote. */
  end(): void {
    if (this.state === State.Quoted) {
      throw new CsvSyntaxError(this.recordLine, 'a quoted field is never closed');
    }
    if (this.state !== State.FieldStart || this.fields.length > 0) this.emit();
  }

  private endRecord(terminator: number): void {
    // A line with nothing on it is not a record with one empty field.
    const blank = this.state === State.FieldStart && this.fields.length === 0;
    if (!blank) this.emit();
    this.line++;
    this.recordLine = this.line;
    this.state = State.FieldStart;
    if (terminator === CR) this.skipLineFeed = true;
  }

  private emit(): void {
    this.fields.push(this.field);
    const fields = this.fields;
    this.fields = [];
    this.field = '';
    this.onRecord(fields, this.recordLine);
  }
}
