/**
 * How Caretaker reads a file a person names (`caretaker drift`, `datasets check/push`, the
 * `--objects` file, the config, the stack outputs file): one policy, one error.
 *
 * - A missing file, a folder, or a file that cannot be read is named, never a raw `ENOENT`.
 * - Text must be UTF-8: the first byte that is not is refused with its line and byte offset
 *   (nothing is decoded with replacement characters). A leading byte order mark is dropped.
 * - JSON that does not parse is refused with its line and column.
 *
 * Every refusal is a `FileError` whose message starts with the file's path as the user gave it.
 */
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';

export interface FilePosition {
  /** 1-based line. */
  readonly line?: number;
  /** 1-based column in characters (JSON) or bytes (encoding errors). */
  readonly column?: number;
  /** 0-based offset of the byte in the file. */
  readonly byte?: number;
}

export class FileError extends Error {
  override readonly name = 'FileError';
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly position: FilePosition = {},
  ) {
    const where = [
      position.line === undefined ? undefined : `line ${position.line}`,
      position.column === undefined ? undefined : `column ${position.column}`,
      position.byte === undefined ? undefined : `byte ${position.byte}`,
    ].filter(Boolean);
    super(`${file}${where.length ? `: ${where.join(', ')}` : ''}: ${reason}`);
  }
}

/** Why a path cannot be read as a file, in words. */
function unreadable(file: string, error: unknown): FileError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new FileError(file, 'no such file');
  if (code === 'EISDIR') return new FileError(file, 'is a folder, not a file');
  if (code === 'EACCES' || code === 'EPERM') return new FileError(file, 'cannot be read: permission denied');
  return new FileError(file, `cannot be read (${code ?? String(error)})`);
}

/** Fails with a `FileError` unless `file` is a readable regular file. */
export function assertReadableFile(file: string): void {
  let stat;
  try {
    stat = statSync(file);
  } catch (error) {
    throw unreadable(file, error);
  }
  if (stat.isDirectory()) throw new FileError(file, 'is a folder, not a file');
}

/** The file's bytes. */
export function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw unreadable(file, error);
  }
}

/**
 * The file read front to back, synchronously, into the caller's buffer, for readers that parse
 * as they read instead of holding the whole file (`caretaker drift` on CSV files): a fresh
 * buffer the size of the file costs more CPU to fault in than a scan of it (BENCHMARKS.md).
 * Every `open` is a new pass from the start. The reader checks UTF-8 itself and calls
 * `notUtf8`, which refuses as `readText` does (line and byte of the first bad byte).
 */
export function fileSource(file: string): {
  readonly size: number;
  open(): { read(into: Uint8Array, at: number): number; close(): void };
  notUtf8(): never;
} {
  const open = () => {
    let fd: number;
    try {
      fd = openSync(file, 'r');
      if (fstatSync(fd).isDirectory()) {
        closeSync(fd);
        throw new FileError(file, 'is a folder, not a file');
      }
    } catch (error) {
      if (error instanceof FileError) throw error;
      throw unreadable(file, error);
    }
    return fd;
  };
  const first = open();
  const size = fstatSync(first).size;
  closeSync(first);
  return {
    size,
    open: () => {
      const fd = open();
      let closed = false;
      return {
        read: (into, at) => {
          try {
            return readSync(fd, into, at, into.length - at, null);
          } catch (error) {
            throw unreadable(file, error);
          }
        },
        close: () => {
          if (!closed) closeSync(fd);
          closed = true;
        },
      };
    },
    notUtf8: () => {
      assertUtf8(file, readBytes(file));
      throw new FileError(file, 'changed while it was being read');
    },
  };
}

/**
 * Offset of the first byte that does not start (or continue) a valid UTF-8 sequence: the lead
 * byte of a broken sequence (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF), or -1. With `final: false` an incomplete
 * sequence at the end is not an error (more bytes follow).
 */
export function firstInvalidUtf8(bytes: Uint8Array, final = true): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return final ? i : -1;
      const c = bytes[i + k] ?? 0;
      if (k === 1 ? c < low || c > high : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

function notUtf8(file: string, bytes: Uint8Array, offset: number, base = { byte: 0, line: 1 }): FileError {
  let line = base.line;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  const at = bytes[offset] ?? 0;
  return new FileError(file, `not UTF-8 text (byte 0x${at.toString(16).padStart(2, '0')}); save the file as UTF-8`, { line, byte: base.byte + offset });
}

/** Refuses bytes that are not UTF-8, naming the line and byte of the first bad one. */
export function assertUtf8(file: string, bytes: Uint8Array): void {
  if (isUtf8(bytes)) return;
  throw notUtf8(file, bytes, firstInvalidUtf8(bytes));
}

/** The file as text: readable, UTF-8, byte order mark dropped. */
export function readText(file: string): string {
  const bytes = readBytes(file);
  assertUtf8(file, bytes);
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The file's bytes as a stream that refuses the first byte that is not UTF-8 (line and byte
 * offset in the whole file), for files read once in chunks (`datasets check`, `datasets push`).
 */
export async function* utf8Chunks(file: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = createReadStream(file)): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let line = 1;
  let carry = new Uint8Array(0);
  try {
    for await (const chunk of source) {
      const bytes = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const bad = firstInvalidUtf8(bytes, false);
      if (bad >= 0) throw notUtf8(file, bytes, bad, { byte: offset, line });
      // An unfinished character at the end waits for the next chunk (at most 3 bytes).
      let keep = 0;
      for (let k = 1; k <= Math.min(3, bytes.length); k++) {
        const b = bytes[bytes.length - k] ?? 0;
        if (b >= 0xc0) {
          const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
          keep = length > k ? k : 0;
          break;
        }
        if (b < 0x80) break;
      }
      const done = bytes.subarray(0, bytes.length - keep);
      for (const b of done) if (b === 0x0a) line++;
      offset += done.length;
      carry = new Uint8Array(bytes.subarray(bytes.length - keep)); // a copy: the chunk may be reused
      yield chunk;
    }
  } catch (error) {
    if (error instanceof FileError) throw error;
    throw unreadable(file, error);
  }
  if (carry.length) throw new FileError(file, 'not UTF-8 text (the last character is cut off); save the file as UTF-8', { line, byte: offset });
}

/** The position of JSON's first syntax error (the parser's offset), as line and column. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

/**
 * Offset where JSON text stops being valid (RFC 8259), for messages that do not carry one.
 * Only runs after `JSON.parse` failed.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  class At extends Error {
    constructor(readonly offset: number) {
      super(`JSON error at ${offset}`);
    }
  }
  const fail = (): never => {
    throw new At(i);
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      const ch = text[i];
      if (ch === undefined || ch < ' ') fail();
      if (ch === '"') {
        i++;
        return;
      }
      if (ch === '\\') {
        i++;
        const esc = text[i];
        if (esc === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
              i += k;
              fail();
            }
          }
          i += 5;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i++;
        else fail();
      } else i++;
    }
  };
  const isDigit = () => (text[i] ?? '') >= '0' && (text[i] ?? '') <= '9';
  const digits = () => {
    if (!isDigit()) fail();
    while (isDigit()) i++;
  };
  const number = () => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        }
        else fail();
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        }
        else fail();
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    return number();
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (error) {
    if (error instanceof At) return error.offset;
    throw error;
  }
}

/** Parses JSON text read from `file`; a syntax error names the line and column. */
export function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const reported = /at position (\d+)/.exec(message);
    const offset = reported ? Number(reported[1]) : jsonErrorOffset(text);
    const reason = message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/, ".*" is not valid JSON$/s, '')
      .replace(/^Unexpected end of JSON input$/, 'the JSON ends early');
    throw new FileError(file, `not valid JSON: ${reason}`, offset >= 0 ? lineAndColumn(text, Math.min(offset, text.length)) : {});
  }
}

/** A JSON file: readable, UTF-8, valid JSON. */
export function readJson(file: string): unknown {
  return parseJson(file, readText(file));
}

/** Rows in a window below which a distribution statistic (PSI, Jensen–Shannon) means little. */
export const MIN_ROWS_FOR_DISTRIBUTION = 100;

/** Warnings for windows too small for a distribution statistic to mean much. */
export function sampleSizeWarnings(windows: Readonly<Record<string, number>>, min = MIN_ROWS_FOR_DISTRIBUTION): string[] {
  return Object.entries(windows)
    .filter(([, rows]) => rows < min)
    .map(([name, rows]) => `${name} has ${rows} row${rows === 1 ? '' : 's'}, fewer than ${min}: PSI and Jensen–Shannon over so few rows mean little, so no feature is called drifted`);
}
