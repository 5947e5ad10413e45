/**
 * Typed client of the Caretaker registry and approval API, without Node dependencies: the
 * console runs this file in the browser (credentials from the Cognito identity pool), the CLI
 * through `./index`, which adds the standard AWS credential chain as the default. Requests are
 * SigV4-signed for `execute-api`; in local mode they carry `X-Caretaker-Principal` instead.
 * Results are typed; failures are `CaretakerApiError`s.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { DecisionCheck, DriftReportList, EvaluationView, ModelListItem } from '../../lambdas/api/domain';
import type { DriftReportDocument, FeatureEntry } from '../../lambdas/drift/report';
import type { DecisionResult, RunTimeline } from '../../lambdas/api/schemas';
import type { DatasetSummary, DatasetVersionListItem, DatasetVersionRecord, RegisterDatasetVersionInput, RegisterResult } from '../../lambdas/datasets';
import type { AlarmStatus, DeploymentRecord, DriftMetrics, ModelSummary, Page } from '../../lambdas/api/ports';
import type {
  AuditEvent,
  DatasetVersionRecordCore,
  ModelVersionRecord,
  RunRecord,
  RunRequestView,
  VersionStatus,
} from '../../lambdas/shared/contracts';

/** A drift report window's end time from its id (`yyyymmddThhmmssZ`), as the API's report routes name windows. */
export { driftWindowEnd } from '../../lambdas/shared/layout';

/** Credentials or a provider of them, as SignatureV4 takes them. */
export type CredentialsOption = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/** `GET /models/{model}/metrics`. */
export interface ModelMetrics extends DriftMetrics {
  readonly model: string;
  readonly from: string;
  readonly to: string;
  readonly periodSeconds: number;
  readonly alarm: AlarmStatus | null;
}

/** `GET /models/{model}/drift/reports/{window}`: the window's report.json as the analyzer wrote it. */
export interface DriftReportWindow {
  readonly model: string;
  readonly window: string;
  readonly report: DriftReportDocument;
}

export type {
  AlarmStatus,
  DriftReportDocument,
  DriftReportList,
  FeatureEntry,
  AuditEvent,
  DecisionCheck,
  DeploymentRecord,
  EvaluationView,
  ModelSummary,
  DatasetSummary,
  DatasetVersionListItem,
  DatasetVersionRecord,
  DatasetVersionRecordCore,
  ModelListItem,
  ModelVersionRecord,
  Page,
  RegisterResult,
  RunRecord,
  RunRequestView,
  VersionStatus,
};

/** `POST /datasets/{dataset}/versions`: the objects (exact S3 versions, optional checksums) and, for datasets without declared columns, a schema. */
export type DatasetRegistration = Omit<RegisterDatasetVersionInput, 'dataset' | 'registeredBy'>;

export interface CaretakerClientOptions {
  /** The stage URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/v1/`. */
  readonly baseUrl: string;
  /** Region to sign for. @default - from an execute-api host name, else AWS_REGION */
  readonly region?: string;
  /** Required unless `local`; `./index` defaults it to the standard AWS credential chain. */
  readonly credentials?: CredentialsOption;
  /** Local mode: no signing; the caller is named in `X-Caretaker-Principal`. */
  readonly local?: { readonly principal: string };
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Retries of the calls an Idempotency-Key makes safe to repeat (retrain, rollback): after a
   * network failure, 429, 502, 503 or 504, the same call is sent again with the same key, waiting
   * `delayMs` × 2^(attempt − 1) between attempts. @default { attempts: 3, delayMs: 500 }
   */
  readonly retry?: { readonly attempts?: number; readonly delayMs?: number };
  /** A fresh Idempotency-Key for an acting call given none. @default crypto.randomUUID */
  readonly newIdempotencyKey?: () => string;
}

/** Answers after which repeating a call with the same Idempotency-Key is safe and may succeed. */
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

/** An error response from the API (or the gateway in front of it). */
export class CaretakerApiError extends Error {
  override readonly name = 'CaretakerApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: readonly { readonly field?: string; readonly message: string }[],
  ) {
    super(message);
  }
}

/** `POST …/approve` and `…/reject`: typed from the route table's `responses.decision`, the contract the API answers with. */
export type { DecisionResult };
/** `GET /runs/{runId}/timeline`: typed from the route table's `runTimelineResponse`. */
export type { RunTimeline };

export interface PageOptions {
  readonly limit?: number;
  readonly nextToken?: string;
}

type Query = Record<string, string | number | undefined>;

export class CaretakerClient {
  private readonly base: URL;
  private readonly signer?: SignatureV4;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: CaretakerClientOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    // Called unbound, a browser's fetch throws "Illegal invocation": call it through globalThis.
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    if (!options.local) {
      // `process` does not exist in a browser.
      const envRegion = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.AWS_REGION;
      const region = options.region ?? /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(this.base.hostname)?.[1] ?? envRegion;
      if (!region) throw new Error('cannot tell the API\'s region: pass region or set AWS_REGION');
      if (!options.credentials) throw new Error('credentials are required to sign requests (or pass local: { principal })');
      this.signer = new SignatureV4({
        service: 'execute-api',
        region,
        credentials: options.credentials,
        sha256: Sha256,
      });
    }
  }

  listModels(): Promise<{ models: ModelListItem[] }> {
    return this.request('GET', ['models']);
  }

  getModel(model: string): Promise<{ model: ModelSummary; live?: ModelVersionRecord; deployments: DeploymentRecord[] }> {
    return this.request('GET', ['models', model]);
  }

  listVersions(model: string, options: PageOptions & { status?: VersionStatus } = {}): Promise<Page<ModelVersionRecord>> {
    return this.request('GET', ['models', model, 'versions'], { query: { status: options.status, limit: options.limit, nextToken: options.nextToken } });
  }

  getVersion(model: string, version: number): Promise<ModelVersionRecord & { run?: RunRecord }> {
    return this.request('GET', ['models', model, 'versions', String(version)]);
  }

  approve(model: string, version: number, reason: string): Promise<DecisionResult> {
    return this.request('POST', ['models', model, 'versions', String(version), 'approve'], { body: { reason } });
  }

  reject(model: string, version: number, reason: string): Promise<DecisionResult> {
    return this.request('POST', ['models', model, 'versions', String(version), 'reject'], { body: { reason } });
  }

  /**
   * The same `idempotencyKey` always yields the same run id and starts nothing new. Without one,
   * this call gets a key of its own, kept for its retries (`retry`): one run per call.
   */
  retrain(model: string, options: { reason: string; datasetVersion?: string; idempotencyKey?: string }): Promise<{ runId: string }> {
    // Request fields are picked by name: whatever else a caller's object carries never reaches the API.
    const { idempotencyKey, reason, datasetVersion } = options;
    return this.idempotent(idempotencyKey, (key) => this.request('POST', ['models', model, 'retrain'], { body: { reason, datasetVersion }, headers: { 'idempotency-key': key } }));
  }

  /** Like `retrain`: one Idempotency-Key per call (or the one given), kept for its retries: one rollback per call. */
  rollback(model: string, toVersion: number, reason: string, options: { idempotencyKey?: string } = {}): Promise<{ deploymentId: string; model: string; version: number; replayed?: boolean }> {
    return this.idempotent(options.idempotencyKey, (key) => this.request('POST', ['models', model, 'rollback'], { body: { toVersion, reason }, headers: { 'idempotency-key': key } }));
  }

  /** Sends `call` with one key, again after a transient failure (`retry`), never with another key. */
  private async idempotent<T>(given: string | undefined, call: (key: string) => Promise<T>): Promise<T> {
    const key = given ?? (this.options.newIdempotencyKey ?? (() => globalThis.crypto.randomUUID()))();
    const attempts = Math.max(1, this.options.retry?.attempts ?? 3);
    const delayMs = this.options.retry?.delayMs ?? 500;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call(key);
      } catch (error) {
        // fetch rejects with a TypeError when the request or its answer never made it.
        const transient = error instanceof CaretakerApiError ? TRANSIENT_STATUSES.has(error.status) : error instanceof TypeError;
        if (!transient || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, delayMs * 2 ** (attempt - 1)));
      }
    }
  }

  uploadGroundTruth(model: string, records: readonly { inferenceId: string; label: number | string | boolean }[]): Promise<{ key: string; records: number }> {
    return this.request('POST', ['models', model, 'ground-truth'], { body: { records } });
  }

  /** A run; for a retraining request that started none, the request: `QUEUED`, or `SUPPRESSED` with its reason. */
  getRun(runId: string): Promise<RunRecord | RunRequestView> {
    return this.request('GET', ['runs', runId]);
  }

  /** The run's states from its execution history: phases and states with durations, retries and the failure cause. */
  getRunTimeline(runId: string): Promise<RunTimeline> {
    return this.request('GET', ['runs', runId, 'timeline']);
  }

  listDatasets(): Promise<{ datasets: DatasetSummary[] }> {
    return this.request('GET', ['datasets']);
  }

  listDatasetVersions(dataset: string, options: PageOptions = {}): Promise<Page<DatasetVersionListItem>> {
    return this.request('GET', ['datasets', dataset, 'versions'], { query: { limit: options.limit, nextToken: options.nextToken } });
  }

  getDatasetVersion(dataset: string, version: string): Promise<DatasetVersionRecord> {
    return this.request('GET', ['datasets', dataset, 'versions', version]);
  }

  /** Registers objects under `datasets/<dataset>/` (exact S3 versions) as the dataset's next version; `created: false` when the same bytes already are one. */
  registerDatasetVersion(dataset: string, registration: DatasetRegistration): Promise<RegisterResult> {
    return this.request('POST', ['datasets', dataset, 'versions'], { body: registration });
  }

  /** Who the API takes the caller to be: the canonical principal its audit records. */
  whoAmI(): Promise<{ id: string; kind: string; person: string; roleArn?: string; sessionName?: string }> {
    return this.request('GET', ['caller']);
  }

  /** Whether the caller may approve or reject the version now, and why not; `expiresAt` while it is pending. */
  checkDecision(model: string, version: number): Promise<DecisionCheck> {
    return this.request('GET', ['models', model, 'versions', String(version), 'decision-check']);
  }

  /** The version's evaluation report (candidate and champion on one holdout) with the gate's thresholds. */
  getEvaluation(model: string, version: number): Promise<EvaluationView> {
    return this.request('GET', ['models', model, 'versions', String(version), 'evaluation']);
  }

  /** Drift over a window (default the last 7 days, at most 15): DriftScore, quality, per-feature PSI/JS/KS, the alarm. */
  modelMetrics(model: string, range: { from?: string; to?: string } = {}): Promise<ModelMetrics> {
    return this.request('GET', ['models', model, 'metrics'], { query: { from: range.from, to: range.to } });
  }

  /** Windows with a drift report, newest first; `nextToken` is the last window of the previous page. */
  listDriftReports(model: string, options: PageOptions = {}): Promise<DriftReportList> {
    return this.request('GET', ['models', model, 'drift', 'reports'], { query: { limit: options.limit, nextToken: options.nextToken } });
  }

  /** One window's drift report: per feature PSI/KS/JS and the baseline and current histograms. */
  getDriftReport(model: string, window: string): Promise<DriftReportWindow> {
    return this.request('GET', ['models', model, 'drift', 'reports', window]);
  }

  listAudit(query: PageOptions & { model?: string; from?: string; to?: string } = {}): Promise<Page<AuditEvent>> {
    return this.request('GET', ['audit'], {
      query: { model: query.model, from: query.from, to: query.to, limit: query.limit, nextToken: query.nextToken },
    });
  }

  private async request<T>(
    method: 'GET' | 'POST',
    segments: readonly string[],
    options: { query?: Query; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const url = new URL(segments.map(encodeURIComponent).join('/'), this.base);
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) {
        query[name] = String(value);
        url.searchParams.set(name, String(value));
      }
    }
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      host: url.host,
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    };
    let sent = headers;
    if (this.options.local) {
      sent = { ...headers, 'x-caretaker-principal': this.options.local.principal };
    } else if (this.signer) {
      const signed = await this.signer.sign(
        new HttpRequest({
          method,
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port ? Number(url.port) : undefined,
          path: url.pathname,
          query,
          headers,
          body,
        }),
      );
      sent = signed.headers;
    }
    const { host: _host, ...fetchHeaders } = sent;
    const response = await this.fetchImpl(url, { method, headers: fetchHeaders, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      // The API answers `{ error, message, details? }`; API Gateway's own refusals (IAM authorization,
      // throttling) answer `{ message }` or `{ Message }` with the error type in `x-amzn-errortype`.
      const error = (parsed ?? {}) as { error?: string; message?: string; Message?: string; details?: CaretakerApiError['details'] };
      const gatewayType = response.headers.get('x-amzn-errortype')?.split(':')[0];
      throw new CaretakerApiError(
        response.status,
        error.error ?? gatewayType ?? `HTTP${response.status}`,
        error.message ?? error.Message ?? (text.slice(0, 200) || response.statusText),
        error.details,
      );
    }
    return parsed as T;
  }
}
