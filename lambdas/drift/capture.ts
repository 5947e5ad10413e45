/**
 * SageMaker endpoint data capture: one JSON object per line,
 *
 *   {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
 *      "data": "…", "encoding": "CSV" | "JSON" | "BASE64"}, "endpointOutput": {…}},
 *    "eventMetadata": {"eventId": "…", "inferenceId": "…", "inferenceTime": "2026-…Z"}}
 *
 * Payloads are CSV (headerless rows, features in the baseline's column order, one or more per
 * request) or JSON: an object (one record by feature name), an array of objects or of arrays
 * (records), an array of scalars (one record by position), or `{"instances": [...]}`.
 */
import { assertUtf8, CsvScanner } from '../datasets/csv';
import { parseDecimal, parseDecimalText } from './numbers';
import type { CurrentWindow } from './window';

export interface CapturePayload {
  readonly contentType: string;
  readonly data: string;
  readonly encoding: string;
}

export interface CaptureRecord {
  readonly input: CapturePayload;
  readonly output?: CapturePayload;
  readonly inferenceId?: string;
  /** Epoch milliseconds of `eventMetadata.inferenceTime`. */
  readonly time: number;
}

/** The record on one capture line, or undefined when the line is not a capture record. */
export function parseCaptureLine(line: string): CaptureRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return undefined;
  }
  const captureData = field(json, 'captureData');
  const input = payload(field(captureData, 'endpointInput'));
  const metadata = field(json, 'eventMetadata');
  const inferenceTime = field(metadata, 'inferenceTime');
  const time = typeof inferenceTime === 'string' ? Date.parse(inferenceTime) : Number.NaN;
  if (!input || Number.isNaN(time)) return undefined;
  const inferenceId = field(metadata, 'inferenceId');
  return {
    input,
    output: payload(field(captureData, 'endpointOutput')),
    inferenceId: typeof inferenceId === 'string' && inferenceId !== '' ? inferenceId : undefined,
    time,
  };
}

/**
 * Reads one capture object: blank lines skipped, lines that are not capture records counted,
 * records outside [from, end) dropped, and every other record handed to `use`, which answers
 * whether it could read it (false counts it as malformed too). Returns the malformed count.
 * A callback rather than a generator: this is the analyzer's per-record loop.
 */
export async function readCaptureRecords(lines: AsyncIterable<string>, from: number, end: number, use: (record: CaptureRecord) => boolean): Promise<number> {
  let malformed = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const record = parseCaptureLine(line);
    if (!record) malformed++;
    else if (record.time >= from && record.time < end && !use(record)) malformed++;
  }
  return malformed;
}

/** Adds the payload's records to the window; returns how many it held (0 when unreadable). */
export function addPayload(window: CurrentWindow, input: CapturePayload): number {
  const bytes = payloadBytes(input);
  if (isJson(input)) {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      return 0;
    }
    const records = field(json, 'instances') ?? json;
    if (Array.isArray(records) && records.length > 0 && records.every((r) => Array.isArray(r) || isObject(r))) {
      for (const record of records as unknown[]) addJsonRecord(window, record);
      return records.length;
    }
    if (Array.isArray(records) || isObject(records)) {
      addJsonRecord(window, records);
      return 1;
    }
    return 0;
  }
  const scanner = new CsvScanner(bytes);
  let rows = 0;
  try {
    assertUtf8(bytes);
    while (scanner.next()) {
      window.addCsvRow(scanner);
      rows++;
    }
  } catch {
    // Text that breaks the CSV dialect (datasets/csv.ts) ends the payload; the rows before it count.
  }
  return rows;
}

/** The first number of a response payload: the model's score or prediction for a one-record request. */
export function predictionOf(output: CapturePayload): number | undefined {
  const bytes = payloadBytes(output);
  if (isJson(output)) {
    try {
      return firstNumber(JSON.parse(Buffer.from(bytes).toString('utf8')), 0);
    } catch {
      return undefined;
    }
  }
  const scanner = new CsvScanner(bytes);
  try {
    if (!scanner.next() || scanner.isEmpty(0)) return undefined;
  } catch {
    return undefined;
  }
  const value = parseDecimal(bytes, scanner.starts[0] ?? 0, scanner.ends[0] ?? 0);
  return Number.isNaN(value) ? undefined : value;
}

const PREDICTION_KEYS = ['predictions', 'prediction', 'score', 'scores', 'probability', 'probabilities', 'predicted_label', 'label'];

function firstNumber(value: unknown, depth: number): number | undefined {
  if (depth > 4) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') {
    const parsed = parseDecimalText(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  if (Array.isArray(value)) return value.length > 0 ? firstNumber(value[0], depth + 1) : undefined;
  if (isObject(value)) {
    for (const key of PREDICTION_KEYS) if (key in value) return firstNumber(value[key], depth + 1);
  }
  return undefined;
}

function addJsonRecord(window: CurrentWindow, record: unknown): void {
  if (Array.isArray(record)) window.addValues(record);
  else if (isObject(record)) window.addRecord(record);
}

function payloadBytes(p: CapturePayload): Uint8Array {
  return p.encoding.toUpperCase() === 'BASE64' ? Buffer.from(p.data, 'base64') : Buffer.from(p.data, 'utf8');
}

function isJson(p: CapturePayload): boolean {
  const encoding = p.encoding.toUpperCase();
  if (encoding === 'JSON') return true;
  if (encoding === 'CSV') return false;
  return /json/i.test(p.contentType);
}

function payload(value: unknown): CapturePayload | undefined {
  const data = field(value, 'data');
  if (typeof data !== 'string') return undefined;
  const contentType = field(value, 'observedContentType');
  const encoding = field(value, 'encoding');
  return {
    data,
    contentType: typeof contentType === 'string' ? contentType : '',
    encoding: typeof encoding === 'string' ? encoding : 'CSV',
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function field(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}
