/**
 * One version, to decide on: candidate vs champion on the same holdout with the gate's
 * thresholds, what it was trained on and how, and approve / reject with a reason. The buttons
 * are enabled only when the API's own decision rules (`decision-check`) say this caller may
 * decide; otherwise they are disabled and the reason is shown.
 */
import { useEffect, useState } from 'preact/hooks';
import { CaretakerApiError, type CaretakerClient, type DecisionCheck, type EvaluationView, type ModelVersionRecord, type RunRecord } from '../../lib/client/core';
import { href } from './router';
import { duration, ErrorBox, num, person, Show, Status, time, useAsync, useNow } from './ui';

type Version = ModelVersionRecord & { run?: RunRecord } & Record<string, unknown>;
const SETTLING = new Set(['APPROVED', 'DEPLOYING']);

export function VersionPage({ client, model, version }: { client: CaretakerClient; model: string; version: number }) {
  const [record, reload] = useAsync(() => client.getVersion(model, version) as Promise<Version>, [client, model, version]);
  return (
    <section>
      <h1>
        <a href={href.model(model)}>{model}</a> v{version} {record.state === 'done' ? <Status status={record.value.status} /> : null}
      </h1>
      <Show value={record}>
        {(v) => (
          <>
            <DecisionPanel client={client} version={v} onDecided={reload} />
            <Evaluation client={client} version={v} />
            <Lineage client={client} version={v} />
          </>
        )}
      </Show>
    </section>
  );
}

function DecisionPanel({ client, version, onDecided }: { client: CaretakerClient; version: Version; onDecided: () => void }) {
  const [check, recheck] = useAsync(() => client.checkDecision(version.model, version.version), [client, version.model, version.version, version.status]);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ error?: unknown; done?: string }>({});
  // Pending but not yet asked by the pipeline (its approval request is a moment behind): ask again.
  const retryAfter = check.state === 'done' ? check.value.retryAfterSeconds : undefined;
  useEffect(() => {
    if (retryAfter === undefined) return;
    const timer = setTimeout(recheck, retryAfter * 1000);
    return () => {
      clearTimeout(timer);
    };
  }, [check, retryAfter, recheck]);

  const decide = async (kind: 'approve' | 'reject') => {
    setBusy(true);
    setOutcome({});
    try {
      const result = await client[kind](version.model, version.version, reason.trim());
      setOutcome({ done: `${result.decision.decision} by ${person(result.decision.by)}: ${result.decision.reason}` });
      if (kind === 'approve') await waitWhileSettling(client, version);
    } catch (error) {
      setOutcome({ error });
    } finally {
      setBusy(false);
      onDecided();
      recheck();
    }
  };

  return (
    <div class="card decision" data-testid="decision">
      <h2>Decision</h2>
      {version.decision ? (
        <p data-testid="decided">
          {version.decision.decision} by <strong>{person(version.decision.by)}</strong> at {time(version.decision.at)}: “{version.decision.reason}”
        </p>
      ) : null}
      <p>
        Requested by <strong>{person(version.requestedBy)}</strong>
        {version.run ? <> in run <a href={href.run(version.run.runId)}>{version.run.runId}</a></> : null}.
      </p>
      {check.state === 'done' ? <Countdown check={check.value} /> : null}
      {version.status === 'PENDING_APPROVAL' || check.state === 'loading' ? (
        <DecisionForm check={check.state === 'done' ? check.value : check.state === 'error' ? refusalOf(check.error) : undefined} reason={reason} setReason={setReason} busy={busy} decide={decide} />
      ) : null}
      {check.state === 'error' && !(check.error instanceof CaretakerApiError && check.error.status === 403) ? <ErrorBox error={check.error} title="Could not check whether you may decide" /> : null}
      {outcome.done ? <p class="ok" data-testid="decision-result">{outcome.done}</p> : null}
      {outcome.error ? <ErrorBox error={outcome.error} title="The decision was not taken" /> : null}
      {SETTLING.has(version.status) ? <p class="muted">Deploying… this page follows the version until it is LIVE or fails.</p> : null}
    </div>
  );
}

/** IAM refuses callers without the approve grant before the API's rules run (403 from API Gateway). */
function refusalOf(error: unknown): DecisionCheck | undefined {
  if (error instanceof CaretakerApiError && error.status === 403) {
    return { model: '', version: 0, status: 'PENDING_APPROVAL', caller: '', allowed: false, reason: `you do not hold the approve permission (${error.message})` };
  }
  return undefined;
}

function DecisionForm({ check, reason, setReason, busy, decide }: { check?: DecisionCheck; reason: string; setReason: (r: string) => void; busy: boolean; decide: (kind: 'approve' | 'reject') => Promise<void> }) {
  const allowed = check?.allowed === true;
  const empty = reason.trim() === '';
  const disabled = !allowed || busy || empty;
  const waiting = check?.retryAfterSeconds !== undefined;
  const refused = check !== undefined && !allowed && !waiting;
  const why = !check
    ? 'checking whether you may decide…'
    : waiting
      ? 'the pipeline is still registering its approval request; the buttons enable in a moment'
      : !allowed
        ? (check.reason ?? 'you may not decide')
        : empty
          ? 'write the reason the audit will record'
          : undefined;
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
      }}
    >
      <label>
        Reason
        <textarea
          name="reason"
          data-testid="reason"
          rows={2}
          maxLength={1024}
          disabled={!allowed || busy}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
          placeholder="e.g. auc +0.012 on the same holdout, drift stable"
        />
      </label>
      <div class="buttons">
        <button type="button" data-testid="approve" disabled={disabled} title={why} onClick={() => void decide('approve')}>
          Approve
        </button>
        <button type="button" data-testid="reject" class="secondary" disabled={disabled} title={why} onClick={() => void decide('reject')}>
          Reject
        </button>
      </div>
      {why ? (
        // A refusal is shown only once the API said so; until then it is a hint.
        <p class={refused ? 'refusal' : 'muted'} data-testid={refused ? 'decision-refusal' : 'decision-hint'}>
          {refused ? `You may not decide: ${why}` : why}
        </p>
      ) : null}
    </form>
  );
}

function Countdown({ check }: { check: DecisionCheck }) {
  const now = useNow();
  if (!check.expiresAt) return null;
  const left = Date.parse(check.expiresAt) - now;
  return (
    <p data-testid="expiry">
      {left > 0 ? <>Expires in <strong>{duration(left)}</strong> ({time(check.expiresAt)}); after that the version is EXPIRED and a late decision is refused.</> : <>The approval window closed at {time(check.expiresAt)}.</>}
    </p>
  );
}

/** After an approval: the pipeline deploys; follow the version until it leaves APPROVED/DEPLOYING (at most 5 min). */
async function waitWhileSettling(client: CaretakerClient, version: Version): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const current = await client.getVersion(version.model, version.version);
    if (current.status !== 'PENDING_APPROVAL' && !SETTLING.has(current.status)) return;
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function Evaluation({ client, version }: { client: CaretakerClient; version: Version }) {
  const [evaluation] = useAsync(() => client.getEvaluation(version.model, version.version), [client, version.model, version.version]);
  return (
    <div class="card" data-testid="evaluation">
      <h2>Candidate vs champion, same holdout</h2>
      <Show value={evaluation}>{(e) => <EvaluationTable view={e} version={version} />}</Show>
    </div>
  );
}

function EvaluationTable({ view, version }: { view: EvaluationView; version: Version }) {
  const candidate = view.report?.candidate.metrics ?? version.metrics;
  const champion = view.report?.champion?.metrics;
  const thresholds = view.gate?.thresholds ?? {};
  const names = [...new Set([...Object.keys(candidate), ...Object.keys(champion ?? {}), ...Object.keys(thresholds)])].sort((a, b) =>
    a === view.objective.metricName ? -1 : b === view.objective.metricName ? 1 : a.localeCompare(b),
  );
  const c = view.comparison;
  const improvement = c.champion === undefined ? undefined : c.direction === 'maximize' ? c.candidate - c.champion : c.champion - c.candidate;
  return (
    <>
      <table class="list">
        <thead>
          <tr>
            <th>metric</th>
            <th>candidate v{version.version}</th>
            <th>champion{c.championVersion !== undefined ? ` v${c.championVersion}` : ''}</th>
            <th>gate threshold</th>
          </tr>
        </thead>
        <tbody>
          {names.map((name) => {
            const t = thresholds[name];
            const value = candidate[name];
            const within = t === undefined || value === undefined ? undefined : (t.min === undefined || value >= t.min) && (t.max === undefined || value <= t.max);
            return (
              <tr key={name} class={name === view.objective.metricName ? 'objective' : undefined}>
                <td>
                  {name}
                  {name === view.objective.metricName ? <span class="muted"> (objective, {view.objective.direction})</span> : null}
                </td>
                <td>{num(value)}</td>
                <td>{num(champion?.[name])}</td>
                <td>
                  {t ? [t.min !== undefined ? `≥ ${t.min}` : '', t.max !== undefined ? `≤ ${t.max}` : ''].filter(Boolean).join(', ') : '—'}
                  {within === undefined ? null : within ? ' ✓' : ' ✗'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p data-testid="gate">
        Gate: <strong>passed</strong> (a version is registered only when the candidate passes).{' '}
        {improvement === undefined
          ? 'There was no champion to beat: this was the first model.'
          : `${c.metricName} ${improvement >= 0 ? '+' : ''}${improvement.toFixed(4)} over the champion${view.gate ? `, minimum improvement ${view.gate.minImprovement}` : ''}.`}
        {view.report?.holdout?.rows !== undefined ? ` Holdout: ${view.report.holdout.rows} rows.` : ''}
        {view.report === null ? ' The evaluation report object is gone; the registry\'s comparison is shown.' : ''}
      </p>
    </>
  );
}

function Lineage({ client, version }: { client: CaretakerClient; version: Version }) {
  const [dataset] = useAsync(() => client.getDatasetVersion(version.datasetName, version.datasetVersion), [client, version.datasetName, version.datasetVersion]);
  const billable = typeof version.billableTimeSeconds === 'number' ? version.billableTimeSeconds : undefined;
  const training = typeof version.trainingTimeSeconds === 'number' ? version.trainingTimeSeconds : undefined;
  return (
    <div class="card" data-testid="lineage">
      <h2>Lineage</h2>
      <table class="facts">
        <tbody>
          <tr><th>dataset</th><td>{version.datasetName} {version.datasetVersion}</td></tr>
          <tr><th>training job</th><td><code>{version.trainingJobName}</code></td></tr>
          <tr><th>image</th><td><code>{version.imageUri}</code></td></tr>
          <tr><th>instance type</th><td>{version.instanceType}</td></tr>
          <tr>
            <th>spot savings</th>
            <td>
              {billable !== undefined && training !== undefined && training > 0
                ? `${(((training - billable) / training) * 100).toFixed(0)} % (${billable} s billed of ${training} s)`
                : 'not recorded for this version (the registry keeps no billable time)'}
            </td>
          </tr>
          <tr><th>hyperparameters</th><td>{Object.entries(version.hyperparameters).map(([k, val]) => `${k}=${val}`).join(', ') || '—'}</td></tr>
          <tr><th>model artifact</th><td><code>{version.modelArtifactUri}</code></td></tr>
        </tbody>
      </table>
      <h3>Dataset objects</h3>
      <Show value={dataset}>
        {(d) => (
          <table class="list" data-testid="dataset-objects">
            <thead>
              <tr><th>object</th><th>S3 version id</th><th>sha256</th></tr>
            </thead>
            <tbody>
              {d.objects.map((o) => (
                <tr key={`${o.key}${o.versionId}`}>
                  <td><code>s3://{o.bucket}/{o.key}</code></td>
                  <td><code>{o.versionId}</code></td>
                  <td><code class="hash">{o.sha256}</code></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </div>
  );
}
