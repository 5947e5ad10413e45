/**
 * Where Caretaker keeps things in S3. One source of truth for the constructs (IAM prefixes),
 * the pipeline (SageMaker paths) and the drift analyzer. Every helper returns a key prefix
 * ending in `/`, without the bucket.
 *
 * Artifacts bucket:
 * - `checkpoints/<model>/<runId>/`    spot checkpoints (the same URI across retries of a run)
 * - `models/<model>/<runId>/`         training output (model.tar.gz under <job>/output/)
 * - `models/<model>/<runId>/input/`   the run's copy of its dataset version's exact objects (training channel, holdout)
 * - `evaluations/<model>/<runId>/`    evaluation reports
 * - `capture/<model>/`                endpoint data capture (SageMaker writes <endpoint>/<variant>/yyyy/mm/dd/hh/)
 * - `baselines/<model>/<version>/`    drift baselines of a deployed version's training data
 * - `ground-truth/<model>/`           labels supplied for captured inference ids
 * - `reports/<model>/<window>/`       the drift analyzer's report of one window (report.json, report.html)
 * - `batch/<model>/input/`            what a batch model's transform jobs score (deployment.inputPrefix's default)
 * - `batch/<model>/output/<job>/`     each transform job's output, `<input key>.out` per input object (outputPrefix's default)
 * - `batch/<model>/output/latest.json` names the newest scheduled scoring run that succeeded (moved only on success)
 *
 * Datasets bucket:
 * - `datasets/<dataset>/`             objects a dataset version is registered from
 */
export const artifactPrefixes = {
  checkpoints: (model: string, runId: string) => `checkpoints/${model}/${runId}/`,
  models: (model: string, runId: string) => `models/${model}/${runId}/`,
  evaluations: (model: string, runId: string) => `evaluations/${model}/${runId}/`,
  capture: (model: string) => `capture/${model}/`,
  baselines: (model: string, version: string) => `baselines/${model}/${version}/`,
  groundTruth: (model: string) => `ground-truth/${model}/`,
  reports: (model: string) => `reports/${model}/`,
  trainingInput: (model: string, runId: string) => `models/${model}/${runId}/input/`,
  /** A SageMaker algorithm's channels, encoded from the run's input: `train/`, `holdout/validation/`, `holdout/encoding.json`. */
  trainingChannels: (model: string, runId: string) => `models/${model}/${runId}/channels/`,
  batchInput: (model: string) => `batch/${model}/input/`,
  batchOutput: (model: string) => `batch/${model}/output/`,
} as const;

/**
 * A batch model's scoring outputs under its output location (`s3://<artifacts>/<outputPrefix>`):
 * each transform job writes into its own folder, and `latest.json` names the newest run that
 * succeeded. The pointer is moved only after a job completed, so a failed run leaves every
 * earlier output, and the pointer, where they were.
 */
export const batchOutputs = {
  /** `<outputUri><job>/`: one transform job's S3OutputPath. */
  run: (outputUri: string, job: string) => `${outputUri}${job}/`,
  /** `<outputUri>latest.json`: the pointer to the newest successful run. */
  latest: (outputUri: string) => `${outputUri}latest.json`,
} as const;

export const datasetPrefix = (dataset: string) => `datasets/${dataset}/`;

/** IAM resource patterns for a whole area (all models): `checkpoints/*` etc. */
export const artifactAreas = ['checkpoints', 'models', 'evaluations', 'capture', 'baselines', 'ground-truth', 'reports'] as const;

/**
 * Hour partition of a time, `yyyy/mm/dd/hh/` in UTC: the layout SageMaker data capture writes
 * under `capture/<model>/<endpoint>/<variant>/`, and the one ground truth is written in under
 * `ground-truth/<model>/` (e.g. `ground-truth/churn/2026/11/22/10/<uuid>.jsonl`), so readers
 * list only the hours of a window.
 */
export const hourPartition = (at: Date) => `${at.toISOString().slice(0, 13).replace(/[-T]/g, '/')}/`;

/**
 * Keys of the drift analyzer's reports (artifacts bucket): one folder per model and window,
 * named by the window's end in ISO 8601 basic format (`reports/churn/20261122T103000Z/`), and
 * `reports/<model>/latest.json`, which names the newest window's files. The drift alarm's
 * description and the DriftDetected event point at these.
 */
export const driftReportKeys = {
  windowId: (end: Date) => end.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, ''),
  /** What `windowId` writes (`20261122T103000Z`): readers check a window named to them against it. */
  windowIdPattern: /^\d{8}T\d{6}Z$/,
  /** The files of the window with this id (`windowIdPattern`). */
  files(model: string, id: string) {
    const folder = `${artifactPrefixes.reports(model)}${id}/`;
    return { folder, json: `${folder}report.json`, html: `${folder}report.html` };
  },
  window: (model: string, end: Date) => driftReportKeys.files(model, driftReportKeys.windowId(end)),
  /**
   * Where the Distributed Map path of a window keeps its working files: the shards' partials
   * (`partials/`) and the ResultWriter's `<map run id>/manifest.json` and result files.
   */
  mapFolder: (model: string, end: Date) => `${driftReportKeys.window(model, end).folder}map/`,
  latest: (model: string) => `${artifactPrefixes.reports(model)}latest.json`,
} as const;

/** A drift window's end back from its id (`driftReportKeys.windowIdPattern`), as ISO 8601 extended. */
export const driftWindowEnd = (id: string) => `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}T${id.slice(9, 11)}:${id.slice(11, 13)}:${id.slice(13, 15)}Z`;
