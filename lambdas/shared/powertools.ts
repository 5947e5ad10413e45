/**
 * Powertools for AWS Lambda, built once per process. Every handler logs through this logger;
 * the service name comes from the function's environment (`POWERTOOLS_SERVICE_NAME`).
 * The handlers that publish metrics take theirs from `./powertools-metrics`, so the functions
 * that publish none do not carry the Metrics utility (~12 KB minified, BENCHMARKS.md "Lambda bundles").
 *
 * No Powertools tracer: it was created and never used, and its aws-xray-sdk-core made up
 * ~120 KB of every bundle (BENCHMARKS.md, "Lambda bundles"). The functions keep X-Ray active
 * tracing, which Lambda records without an SDK in the bundle.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger();
