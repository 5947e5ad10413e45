/**
 * CloudWatch Logs' metric extraction from embedded metric format (EMF) documents, locally.
 * In Lambda a handler's EMF lines go to its log group and CloudWatch turns them into metrics;
 * local mode has no log groups, so the lines a handler writes to stdout are read here and the
 * metrics they declare are put on moto's CloudWatch with PutMetricData — what the drift view
 * (`GET /models/{model}/metrics`, GetMetricData) then reads.
 *
 * Follows "Specification: Embedded metric format" (Amazon CloudWatch User Guide): the document
 * is one JSON object with `_aws.CloudWatchMetrics`, an array of MetricDirectives, each with a
 * `Namespace`, `Dimensions` (an array of DimensionSets, each an array of member names) and
 * `Metrics` (`Name`, optional `Unit`); `_aws.Timestamp` is epoch milliseconds; every referenced
 * member is a root member; a metric value is a number or an array of numbers (at most 100), a
 * dimension value a string. A metric whose target member is missing or not numeric, or a
 * dimension set referring to a missing or non-string member, is not extracted.
 */
import { type CloudWatchClient, type MetricDatum, PutMetricDataCommand, type StandardUnit } from '@aws-sdk/client-cloudwatch';

interface Directive {
  readonly Namespace?: unknown;
  readonly Dimensions?: unknown;
  readonly Metrics?: unknown;
}

/** The metrics an EMF document declares, grouped by namespace; `undefined` for a line that is not EMF. */
export function extractEmf(line: string): Map<string, MetricDatum[]> | undefined {
  if (!line.startsWith('{"_aws":')) return undefined;
  let root: Record<string, unknown>;
  try {
    root = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const meta = root._aws as { Timestamp?: unknown; CloudWatchMetrics?: unknown } | undefined;
  if (!meta || !Array.isArray(meta.CloudWatchMetrics) || typeof meta.Timestamp !== 'number') return undefined;
  const timestamp = new Date(meta.Timestamp);
  const out = new Map<string, MetricDatum[]>();
  for (const directive of meta.CloudWatchMetrics as Directive[]) {
    if (typeof directive.Namespace !== 'string' || !Array.isArray(directive.Metrics) || !Array.isArray(directive.Dimensions)) continue;
    const sets: { Name: string; Value: string }[][] = [];
    for (const set of directive.Dimensions as unknown[]) {
      if (!Array.isArray(set)) continue;
      const dims = (set as unknown[]).map((name) => (typeof name === 'string' && typeof root[name] === 'string' ? { Name: name, Value: root[name] } : undefined));
      if (dims.every((d) => d !== undefined)) sets.push(dims);
    }
    const data = out.get(directive.Namespace) ?? [];
    for (const metric of directive.Metrics as { Name?: unknown; Unit?: unknown }[]) {
      if (typeof metric.Name !== 'string') continue;
      const value = root[metric.Name];
      const values = typeof value === 'number' ? [value] : Array.isArray(value) && value.length <= 100 && value.every((v) => typeof v === 'number') ? value : undefined;
      if (!values?.length) continue;
      const unit = typeof metric.Unit === 'string' ? (metric.Unit as StandardUnit) : undefined;
      for (const dimensions of sets.length ? sets : [[]]) {
        data.push({ MetricName: metric.Name, Dimensions: dimensions, Timestamp: timestamp, Unit: unit, ...(values.length === 1 ? { Value: values[0] } : { Values: values }) });
      }
    }
    if (data.length) out.set(directive.Namespace, data);
  }
  return out;
}

/** PutMetricData takes at most 1,000 metrics per call (CloudWatch API reference, PutMetricData). */
const MAX_DATUMS_PER_CALL = 1000;

/**
 * Reads EMF lines from this process's stdout (where local handlers write them) and puts their
 * metrics on CloudWatch. Other output passes through untouched. `stop()` restores stdout and
 * waits for the puts in flight.
 */
export function extractEmfFromStdout(cloudWatch: CloudWatchClient, log: (line: string) => void): { stop(): Promise<void> } {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be put back as it was; called with its stream as `this`
  const original = process.stdout.write;
  const forward = original as unknown as (this: unknown, ...args: unknown[]) => boolean;
  const pending = new Set<Promise<void>>();
  const put = (namespace: string, data: MetricDatum[]) => {
    for (let i = 0; i < data.length; i += MAX_DATUMS_PER_CALL) {
      const sent = cloudWatch
        .send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data.slice(i, i + MAX_DATUMS_PER_CALL) }))
        .then(
          () => undefined,
          (error: unknown) => log(`emf: PutMetricData ${namespace} failed: ${String(error)}`),
        )
        .finally(() => pending.delete(sent));
      pending.add(sent);
    }
  };
  process.stdout.write = function write(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string' && chunk.startsWith('{"_aws":')) {
      for (const line of chunk.split('\n')) {
        for (const [namespace, data] of extractEmf(line) ?? []) put(namespace, data);
      }
    }
    return forward.apply(this, [chunk, ...rest]);
  };
  return {
    async stop() {
      process.stdout.write = original;
      await Promise.all([...pending]);
    },
  };
}
