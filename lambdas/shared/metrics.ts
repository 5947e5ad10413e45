/**
 * Metric names and dimensions a handler emits and a construct alarms or graphs on: one
 * definition, imported by both sides (`lib/constructs/*` build `cloudwatch.Metric`s from these).
 */

/** The namespace of every Caretaker metric (`POWERTOOLS_METRICS_NAMESPACE` of every function). */
export const METRICS_NAMESPACE = 'Caretaker';

/** The retraining starter's outcomes, one data point per request decided. */
export const RETRAINING_METRICS = {
  /** A pipeline run started (dimension `Model`). */
  started: 'RetrainingStarted',
  /** A trigger suppressed by the policy (dimensions `Model`, `Reason`). */
  suppressed: 'RetrainingSuppressed',
} as const;

/** Dimension names of the retraining metrics. */
export const RETRAINING_DIMENSIONS = { model: 'Model', reason: 'Reason' } as const;

/** The audit reconciler's result, one data point per run (no dimensions). */
export const AUDIT_METRICS = {
  /** Audit events older than the grace period that the reconciler found missing from the write-once bucket and copied. */
  late: 'AuditCopyLate',
} as const;

/** Metric names the drift analyzer publishes (its alarms, the dashboard and the API's drift view read these). */
export const DRIFT_METRICS = {
  driftScore: 'DriftScore',
  capturedRecords: 'CapturedRecords',
  driftedFeatures: 'DriftedFeatures',
  modelQuality: 'ModelQuality',
  labeledRecords: 'LabeledRecords',
  psi: 'PSI',
  jsDistance: 'JSDistance',
  ksStatistic: 'KSStatistic',
  ksPValue: 'KSPValue',
  chiSquarePValue: 'ChiSquarePValue',
  missingRate: 'MissingRate',
} as const;

/** Dimension names of the drift metrics: per model, and per model and feature for the feature statistics. */
export const DRIFT_DIMENSIONS = { model: 'Model', feature: 'Feature' } as const;
