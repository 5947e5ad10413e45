/**
 * Powertools for AWS Lambda, built once per process. Every handler logs, counts and traces
 * through these; service name and namespace come from the function's environment.
 * Outside Lambda (tests, local mode) the tracer is a no-op and metrics can be flushed or not.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const logger = new Logger();
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Caretaker' });
export const tracer = new Tracer();
