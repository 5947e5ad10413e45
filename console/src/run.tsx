/**
 * A run as a timeline: started, version registered (waiting for approval), decided, deployed,
 * ended — from the run record, its version and the audit trail, with the time each step took
 * and the failure cause when it failed; and, below, the execution's own states
 * (`GET /runs/{runId}/timeline`, from Step Functions' history): its phases and every state entered,
 * with durations, retries and the failure cause.
 */
import type { AuditEvent, CaretakerClient, RunRecord, RunRequestView, RunTimeline } from '../../lib/client/core';
import { href } from './router';
import { duration, ErrorBox, person, Show, Status, time, useAsync } from './ui';

interface Moment {
  readonly at: string;
  readonly what: string;
  readonly detail?: string;
}

export function RunPage({ client, runId }: { client: CaretakerClient; runId: string }) {
  const [data] = useAsync(async () => {
    const found = await client.getRun(runId);
    // A retraining request that started no run (yet): QUEUED, or SUPPRESSED with the starter's reason.
    if (!isRun(found)) return { kind: 'request' as const, request: found };
    const run = found;
    const [version, audit] = await Promise.all([
      run.version !== undefined ? client.getVersion(run.model, run.version) : Promise.resolve(undefined),
      client.listAudit({ model: run.model, from: run.startedAt, limit: 100 }),
    ]);
    return { kind: 'run' as const, run, version, audit: audit.items.filter((e) => e.runId === runId || (run.version !== undefined && e.version === run.version)) };
  }, [client, runId]);
  return (
    <section>
      <h1>Run {runId}</h1>
      <Show value={data}>
        {(d) =>
          d.kind === 'request' ? (
            <Request request={d.request} />
          ) : (
            <>
              <Timeline run={d.run} moments={moments(d.run, d.version?.createdAt, d.version?.deployedAt, d.audit)} />
              {d.run.executionArn ? <Execution client={client} runId={runId} /> : null}
            </>
          )
        }
      </Show>
    </section>
  );
}

function isRun(run: RunRecord | RunRequestView): run is RunRecord {
  return run.status !== 'QUEUED' && run.status !== 'SUPPRESSED';
}

function Request({ request }: { request: RunRequestView }) {
  return (
    <p data-testid="run-request">
      <Status status={request.status} /> retraining request for <a href={href.model(request.model)}>{request.model}</a>
      {request.requestedBy ? <> by {person(request.requestedBy)}</> : null}
      {request.requestedAt ? <> at {time(request.requestedAt)}</> : null}: {request.status === 'QUEUED' ? 'waiting for the starter to start it.' : `not started — ${request.reason ?? 'suppressed'}`}
    </p>
  );
}

function moments(run: RunRecord, registeredAt: string | undefined, deployedAt: string | undefined, audit: readonly AuditEvent[]): Moment[] {
  const list: Moment[] = [{ at: run.startedAt, what: 'started', detail: `${run.trigger.kind} trigger by ${person(run.requestedBy)}: ${run.trigger.reason}` }];
  if (registeredAt && run.version !== undefined) list.push({ at: registeredAt, what: `v${run.version} registered, waiting for approval` });
  for (const event of audit) {
    if (event.type === 'RUN_REQUESTED' || event.type === 'VERSION_REGISTERED') continue;
    list.push({ at: event.at, what: event.type.toLowerCase().replace(/_/g, ' '), detail: `${person(event.actor)}${event.reason ? `: ${event.reason}` : ''}` });
  }
  if (deployedAt && !audit.some((e) => e.type === 'DEPLOYED')) list.push({ at: deployedAt, what: 'deployed (live)' });
  if (run.endedAt) list.push({ at: run.endedAt, what: `ended ${run.status}`, detail: run.reason });
  return list.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function Timeline({ run, moments: list }: { run: RunRecord; moments: readonly Moment[] }) {
  const end = run.endedAt ? Date.parse(run.endedAt) : Date.now();
  return (
    <>
      <p>
        <Status status={run.status} /> model <a href={href.model(run.model)}>{run.model}</a>, dataset {run.datasetVersion}
        {run.version !== undefined ? <>, version <a href={href.version(run.model, run.version)}>v{run.version}</a></> : null}
        {run.currentState ? <>, current state <code>{run.currentState}</code></> : null}. Total {duration(end - Date.parse(run.startedAt))}
        {run.endedAt ? '' : ' so far'}.
      </p>
      {run.failure ? (
        <div class="error" role="alert" data-testid="failure">
          <strong>Failed in {run.failure.state}</strong>: {run.failure.error} — {run.failure.cause}
        </div>
      ) : null}
      {run.rejection ? <p data-testid="rejection">Rejected: {JSON.stringify(run.rejection)}</p> : null}
      <ol class="timeline" data-testid="timeline">
        {list.map((m, i) => {
          const next = list[i + 1];
          const took = next ? Date.parse(next.at) - Date.parse(m.at) : run.endedAt ? undefined : Date.now() - Date.parse(m.at);
          return (
            <li key={`${m.at}${m.what}`}>
              <span class="when">{time(m.at)}</span> <strong>{m.what}</strong>
              {m.detail ? <span class="muted"> — {m.detail}</span> : null}
              {took !== undefined ? <span class="took"> {next ? 'then' : 'for'} {duration(took)}</span> : null}
            </li>
          );
        })}
      </ol>
    </>
  );
}

/** The execution's states from its history: phases with durations, then each state entered. */
function Execution({ client, runId }: { client: CaretakerClient; runId: string }) {
  const [timeline] = useAsync(() => client.getRunTimeline(runId), [client, runId]);
  if (timeline.state === 'error') return <ErrorBox error={timeline.error} title="The execution history could not be read" />;
  return (
    <section data-testid="execution">
      <h2>Execution</h2>
      <Show value={timeline}>{(t) => <ExecutionView timeline={t} />}</Show>
    </section>
  );
}

function took(item: { readonly enteredAt: string; readonly durationMs?: number | undefined }): string {
  return item.durationMs !== undefined ? duration(item.durationMs) : `${duration(Date.now() - Date.parse(item.enteredAt))} so far`;
}

function ExecutionView({ timeline: t }: { timeline: RunTimeline }) {
  return (
    <>
      <p>
        <Status status={t.executionStatus} /> started {time(t.startedAt)}
        {t.stoppedAt ? <>, stopped {time(t.stoppedAt)}</> : null}, {t.durationMs !== undefined ? duration(t.durationMs) : `${duration(Date.now() - Date.parse(t.startedAt))} so far`}.
        {t.truncated ? <span class="muted"> The history is longer than shown; the newest states are missing.</span> : null}
      </p>
      {t.failure ? (
        <div class="error" role="alert" data-testid="execution-failure">
          <strong>Failed{t.failure.state ? <> in {t.failure.state}</> : null}</strong>: {t.failure.error}
          {t.failure.cause ? <> — {t.failure.cause}</> : null}
        </div>
      ) : null}
      <ol class="phases" data-testid="phases">
        {t.phases.map((p) => (
          <li key={`${p.phase}${p.enteredAt}`} class={`phase phase-${p.outcome}`} data-phase={p.phase}>
            <strong>{p.phase}</strong> <span class="took">{took(p)}</span>
            {p.outcome === 'failed' ? <span class="status status-failed"> failed</span> : null}
          </li>
        ))}
      </ol>
      <table class="states" data-testid="states">
        <thead>
          <tr>
            <th>State</th>
            <th>Type</th>
            <th>Phase</th>
            <th>Entered</th>
            <th>Took</th>
            <th>Retries</th>
            <th>Outcome</th>
          </tr>
        </thead>
        <tbody>
          {t.states.map((s) => (
            <tr key={`${s.state}${s.enteredAt}`} data-state={s.state}>
              <td>
                <code>{s.state}</code>
              </td>
              <td>{s.type}</td>
              <td>{s.phase}</td>
              <td class="when">{time(s.enteredAt)}</td>
              <td>{took(s)}</td>
              <td>{s.retries > 0 ? s.retries : ''}</td>
              <td>
                {s.outcome}
                {s.error ? (
                  <span class="muted" data-testid="state-error">
                    {' '}
                    {s.error}
                    {s.cause ? `: ${s.cause}` : ''}
                  </span>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
