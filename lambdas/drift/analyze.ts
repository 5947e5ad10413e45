/**
 * One analyzer run for one model and one window: the live version's baseline against the
 * endpoint's captured inputs in [start, end), plus the objective metric over the labels that
 * arrived in the window, published as CloudWatch embedded-metric-format (EMF) log lines.
 *
 * Memory stays bounded whatever the window's size: capture files are streamed line by line
 * into `CurrentWindow` (bin counts, bounded samples and category counts), and only labels are
 * held (at most `maxLabels`).
 */
import { BASELINE_FILE, baselineViews, type Baseline } from './baseline';
import { addPayload, predictionOf, readCaptureRecords, type CaptureRecord } from './capture';
import type { DriftReport } from './compare';
import { QualityAccumulator, qualityMetricFor } from './quality';
import { DEFAULT_MIN_RECORDS, reportDocument, type DriftReportDocument } from './report';
import { renderReportHtml } from './report-html';
import { artifactPrefixes, driftReportKeys } from '../shared/layout';
import { DRIFT_DIMENSIONS, DRIFT_METRICS, METRICS_NAMESPACE } from '../shared/metrics';
import { CurrentWindow, type WindowOptions } from './window';

export interface DriftPorts {
  /** Version currently LIVE for the model, if any. */
  liveVersion(model: string): Promise<number | undefined>;
  readBaseline(model: string, version: number): Promise<Baseline | undefined>;
  /** Keys of capture objects that may hold records with inference times in [from, to). */
  captureObjects(model: string, from: Date, to: Date): AsyncIterable<string>;
  /** Keys of every object under a key prefix of the bucket (a batch model's transform input: `batch.ts`). */
  objectsUnder?(prefix: string): AsyncIterable<string>;
  /** Keys of ground-truth objects written in [from, to). */
  groundTruthObjects(model: string, from: Date, to: Date): AsyncIterable<string>;
  /** The object's lines, streamed. */
  lines(key: string): AsyncIterable<string>;
  /** Writes an object to the artifacts bucket (the window's report). */
  putObject(key: string, body: string, contentType: string): Promise<void>;
  /** Writes one EMF document (a log line CloudWatch turns into metrics). */
  emit(document: string): void;
  log(level: 'info' | 'warn', message: string, details?: Record<string, unknown>): void;
}

/** What publishing a window writes to: the report objects, EMF documents and the log. */
export type PublishPorts = Pick<DriftPorts, 'putObject' | 'emit' | 'log'>;

export interface AnalyzeRequest {
  readonly model: string;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  readonly psiThreshold: number;
  /** The config's objective metric name (e.g. `validation:auc`); the quality metric is computed when supported. */
  readonly objectiveMetric?: string;
  /** How far before the window captured predictions are joined with labels that arrive in it. */
  readonly labelLookbackMs: number;
  /** Most labels held in memory per run. */
  readonly maxLabels: number;
  /** Fewer records than this in the window are too few to judge drift. @default DEFAULT_MIN_RECORDS */
  readonly minRecords?: number;
  readonly window?: WindowOptions;
  /** Key prefix of what `captureObjects` reads, named in the report (a batch model's transform input). @default the model's capture prefix */
  readonly currentLocation?: string;
}



export type AnalyzeResult =
  | { readonly status: 'skipped'; readonly reason: string; readonly version?: number }
  | {
      readonly status: 'analyzed';
      readonly version: number;
      readonly capturedRecords: number;
      readonly malformedRecords: number;
      readonly driftScore?: number;
      readonly report?: DriftReport;
      /** The window's report.html and report.json, when they were written. */
      readonly reportKeys?: { readonly json: string; readonly html: string };
      readonly reportStatus: DriftReportDocument['status'];
      readonly quality?: { readonly metric: string; readonly value: number; readonly labeled: number };
    };

export async function analyzeWindow(request: AnalyzeRequest, ports: DriftPorts): Promise<AnalyzeResult> {
  const { model, windowStart, windowEnd } = request;
  const version = await ports.liveVersion(model);
  if (version === undefined) return skipped(ports, model, 'no live version');
  const baseline = await ports.readBaseline(model, version);
  if (!baseline) return skipped(ports, model, `no baseline for version ${version}`, version);

  const labels = await readLabels(request, ports);
  const metric = request.objectiveMetric === undefined ? undefined : qualityMetricFor(request.objectiveMetric);
  const quality = metric && labels.size > 0 ? new QualityAccumulator(metric) : undefined;

  const window = new CurrentWindow(baselineViews(baseline), { ...request.window, csvColumns: baseline.csvColumns });
  const start = windowStart.getTime();
  const end = windowEnd.getTime();
  const joinFrom = quality ? start - request.labelLookbackMs : start;
  const use = recordReader(window, start, quality ? labels : undefined, (_id, prediction, label) => quality?.add(prediction, label));
  let malformedRecords = 0;
  for await (const key of ports.captureObjects(model, new Date(joinFrom), windowEnd)) {
    malformedRecords += await readCaptureRecords(ports.lines(key), joinFrom, end, use);
  }

  const currentLocation = request.currentLocation ?? artifactPrefixes.capture(model);
  return publishWindow(ports, { model, windowStart, windowEnd, version, psiThreshold: request.psiThreshold, minRecords: request.minRecords, window, currentLocation, malformedRecords, quality });
}

/**
 * How a drift analysis reads one capture record in [from, end) (the `use` of `readCaptureRecords`):
 * a record in the window (from `start`) goes into `window`; a record before it is read only to
 * join a label to. With `labels`, a one-record request whose inference id has a label and whose
 * response holds a prediction is handed to `joined`, and its label is deleted: each label is
 * joined once, to the first record met. The single pass and each shard of the Distributed Map
 * read with this, so both join exactly the same records.
 */
export function recordReader(
  window: CurrentWindow,
  start: number,
  labels: Map<string, number> | undefined,
  joined: (inferenceId: string, prediction: number, label: number) => void,
): (record: CaptureRecord) => boolean {
  return (record) => {
    // Records before the window are read only to join labels to.
    const rows = record.time >= start ? addPayload(window, record.input) : 1;
    // Labels identify one inference: only one-record requests can be joined.
    if (labels && record.inferenceId !== undefined && record.output && rows === 1) {
      const label = labels.get(record.inferenceId);
      const prediction = label === undefined ? undefined : predictionOf(record.output);
      if (label !== undefined && prediction !== undefined) {
        joined(record.inferenceId, prediction, label);
        labels.delete(record.inferenceId);
      }
    }
    return rows !== 0;
  };
}

/** A window whose records have all been read: what one analysis of it publishes. */
export interface AnalyzedWindow {
  readonly model: string;
  readonly windowStart: Date;
  readonly windowEnd: Date;
  /** The LIVE version whose baseline `window` was built on. */
  readonly version: number;
  readonly psiThreshold: number;
  /** @default DEFAULT_MIN_RECORDS */
  readonly minRecords?: number;
  readonly window: CurrentWindow;
  /** Key prefix of the objects `window` was read from (capture, or a batch model's transform input): the report's `current.location`. */
  readonly currentLocation: string;
  readonly malformedRecords: number;
  readonly quality?: QualityAccumulator;
}

/**
 * Publishes an analysed window: report.json/report.html (and latest.json), then the EMF metrics
 * and the log line. The single pass and the Distributed Map's reducer both end here, so both
 * paths publish the same things.
 */
export async function publishWindow(ports: PublishPorts, analyzed: AnalyzedWindow): Promise<AnalyzeResult> {
  const { model, windowStart, windowEnd, version, window, currentLocation, malformedRecords, quality } = analyzed;
  const end = windowEnd.getTime();
  const timestamp = end;
  const minRecords = analyzed.minRecords ?? DEFAULT_MIN_RECORDS;
  const fullReport = window.report(analyzed.psiThreshold);
  const document = reportDocument(fullReport, {
    model,
    window: { start: windowStart, end: windowEnd },
    baseline: { version, location: baselineLocation(model, version) },
    current: { location: currentLocation, malformedRecords },
    psiThreshold: analyzed.psiThreshold,
    minRecords,
  });
  const writtenReport = await writeReport(ports, model, windowEnd, document);
  // Too few records: the report says so, and no drift metric is published (the alarm treats the window as missing data).
  const report = window.rows > 0 && window.rows >= minRecords ? fullReport : undefined;
  let driftScore: number | undefined;
  if (report) {
    for (const [feature, drift] of Object.entries(report.features)) {
      const values: Record<string, number | null> = {
        [DRIFT_METRICS.psi]: drift.psi,
        [DRIFT_METRICS.jsDistance]: drift.jsDistance,
        [DRIFT_METRICS.missingRate]: drift.missingRate.current,
        ...(drift.type === 'numeric'
          ? { [DRIFT_METRICS.ksStatistic]: drift.ks.statistic, [DRIFT_METRICS.ksPValue]: drift.ks.pValue }
          : { [DRIFT_METRICS.chiSquarePValue]: drift.chiSquare.pValue }),
      };
      ports.emit(emf(timestamp, { [DRIFT_DIMENSIONS.model]: model, [DRIFT_DIMENSIONS.feature]: feature }, values, { Version: version }));
      driftScore = Math.max(driftScore ?? 0, drift.psi);
    }
  }
  const qualityValue = quality?.value();
  ports.emit(
    emf(
      timestamp,
      { [DRIFT_DIMENSIONS.model]: model },
      {
        [DRIFT_METRICS.capturedRecords]: window.rows,
        ...(report && driftScore !== undefined
          ? { [DRIFT_METRICS.driftScore]: driftScore, [DRIFT_METRICS.driftedFeatures]: report.drifted.length }
          : {}),
        ...(quality && qualityValue !== undefined
          ? { [DRIFT_METRICS.modelQuality]: qualityValue, [DRIFT_METRICS.labeledRecords]: quality.count }
          : {}),
      },
      {
        Version: version,
        ...(quality ? { QualityMetric: quality.metric } : {}),
        ...(report ? { Drifted: report.drifted } : {}),
        ReportStatus: document.status,
        ...(writtenReport ? { Report: writtenReport.html } : {}),
      },
    ),
  );
  ports.log('info', 'drift window analyzed', {
    model,
    version,
    capturedRecords: window.rows,
    malformedRecords,
    driftScore,
    drifted: report?.drifted,
    reportStatus: document.status,
    report: writtenReport?.html,
  });
  return {
    status: 'analyzed',
    version,
    capturedRecords: window.rows,
    malformedRecords,
    driftScore,
    report,
    reportKeys: writtenReport,
    reportStatus: document.status,
    quality: quality && qualityValue !== undefined ? { metric: quality.metric, value: qualityValue, labeled: quality.count } : undefined,
  };
}

function baselineLocation(model: string, version: number): string {
  return `${artifactPrefixes.baselines(model, String(version))}${BASELINE_FILE}`;
}

/**
 * The window's report.json and report.html, then `reports/<model>/latest.json` naming them.
 * Written before the metrics, so by the time an alarm fires on this window its report exists.
 * A failed write is logged and the metrics still go out: they are what the alarm watches.
 */
async function writeReport(
  ports: PublishPorts,
  model: string,
  end: Date,
  document: DriftReportDocument,
): Promise<{ json: string; html: string } | undefined> {
  const keys = driftReportKeys.window(model, end);
  try {
    await ports.putObject(keys.json, `${JSON.stringify(document, null, 2)}\n`, 'application/json');
    await ports.putObject(keys.html, renderReportHtml(document), 'text/html; charset=utf-8');
    await ports.putObject(
      driftReportKeys.latest(model),
      JSON.stringify({
        model,
        window: document.window,
        status: document.status,
        driftScore: document.driftScore,
        drifted: document.drifted,
        report: { json: keys.json, html: keys.html },
        generatedAt: document.generatedAt,
      }),
      'application/json',
    );
    return { json: keys.json, html: keys.html };
  } catch (error) {
    ports.log('warn', 'drift report not written; metrics are published anyway', { model, key: keys.html, error: String(error) });
    return undefined;
  }
}

/**
 * The window's ground-truth labels by inference id: objects written in [windowStart, windowEnd),
 * in listing order, at most `maxLabels` (a later label of an id already held replaces it). Empty
 * when the objective metric is not one Caretaker computes.
 */
export async function readLabels(
  request: Pick<AnalyzeRequest, 'model' | 'windowStart' | 'windowEnd' | 'objectiveMetric' | 'maxLabels'>,
  ports: Pick<DriftPorts, 'groundTruthObjects' | 'lines' | 'log'>,
): Promise<Map<string, number>> {
  const labels = new Map<string, number>();
  if (request.objectiveMetric === undefined || qualityMetricFor(request.objectiveMetric) === undefined) return labels;
  for await (const key of ports.groundTruthObjects(request.model, request.windowStart, request.windowEnd)) {
    for await (const line of ports.lines(key)) {
      if (line.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        continue;
      }
      if (record === null || typeof record !== 'object') continue;
      const { inferenceId, label } = record as { inferenceId?: unknown; label?: unknown };
      const value = typeof label === 'number' ? label : typeof label === 'boolean' ? Number(label) : typeof label === 'string' ? Number(label) : Number.NaN;
      if (typeof inferenceId !== 'string' || !Number.isFinite(value)) continue;
      if (labels.size >= request.maxLabels && !labels.has(inferenceId)) {
        ports.log('warn', 'ground-truth labels beyond maxLabels are ignored in this window', { model: request.model, maxLabels: request.maxLabels });
        return labels;
      }
      labels.set(inferenceId, value);
    }
  }
  return labels;
}

function skipped(ports: DriftPorts, model: string, reason: string, version?: number): AnalyzeResult {
  ports.log('warn', `drift analysis skipped: ${reason}`, { model, version });
  return { status: 'skipped', reason, version };
}

/**
 * One EMF document: the metrics (null values left out) under one dimension set, in the
 * Caretaker namespace. `properties` are logged alongside for search, not as metrics.
 */
export function emf(
  timestamp: number,
  dimensions: Readonly<Record<string, string>>,
  values: Readonly<Record<string, number | null>>,
  properties: Readonly<Record<string, unknown>> = {},
): string {
  const metrics = Object.entries(values).filter((entry): entry is [string, number] => entry[1] !== null && Number.isFinite(entry[1]));
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [Object.keys(dimensions)],
          Metrics: metrics.map(([name]) => ({ Name: name, Unit: name === DRIFT_METRICS.capturedRecords || name === DRIFT_METRICS.labeledRecords || name === DRIFT_METRICS.driftedFeatures ? 'Count' : 'None' })),
        },
      ],
    },
    ...properties,
    ...dimensions,
    ...Object.fromEntries(metrics),
  });
}
