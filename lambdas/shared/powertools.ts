/**
 * Powertools for AWS Lambda, built once per process. Every handler logs and counts through
 * these; the service name comes from the function's environment (`POWERTOOLS_SERVICE_NAME`),
 * the namespace is `METRICS_NAMESPACE`, the one the constructs' alarms read.
 * Outside Lambda (tests, local mode) metrics can be flushed or not.
 *
 * No Powertools tracer: it was created and never used, and its aws-xray-sdk-core made up
 * ~120 KB of every bundle (BENCHMARKS.md, "Lambda bundles"). The functions keep X-Ray active
 * tracing, which Lambda records without an SDK in the bundle.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from './metrics';

export const logger = new Logger();
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
