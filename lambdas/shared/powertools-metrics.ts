/**
 * Powertools Metrics, built once per process, for the handlers that publish metrics (the
 * retraining starter, the audit reconciler). The namespace is `METRICS_NAMESPACE`, the one the
 * constructs' alarms read. Outside Lambda (tests, local mode) metrics can be flushed or not.
 * Its own module so that the functions that publish none do not bundle the Metrics utility.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from './metrics';

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE });
