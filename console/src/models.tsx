/** Models: each model's live and latest version, status, objective metric, drift now and over the week, last run. */
import type { CaretakerClient, ModelListItem } from '../../lib/client/core';
import { LineChart } from './chart';
import { href } from './router';
import { num, Show, Status, time, useAsync } from './ui';

export function ModelsPage({ client }: { client: CaretakerClient }) {
  const [models] = useAsync(() => client.listModels(), [client]);
  return (
    <section>
      <h1>Models</h1>
      <Show value={models}>
        {({ models: list }) =>
          list.length === 0 ? <p>No models are configured.</p> : list.map((model) => <ModelCard key={model.name} client={client} model={model} />)
        }
      </Show>
    </section>
  );
}

function ModelCard({ client, model }: { client: CaretakerClient; model: ModelListItem }) {
  const latest = model.latestVersion;
  const [details] = useAsync(async () => {
    const [version, metrics] = await Promise.all([latest ? client.getVersion(model.name, latest.version) : Promise.resolve(undefined), client.modelMetrics(model.name)]);
    return { version, metrics };
  }, [client, model.name, latest?.version]);
  const metricName = model.objective.metricName;
  return (
    <article class="card" data-testid={`model-${model.name}`}>
      <h2>
        <a href={href.model(model.name)}>{model.name}</a>
      </h2>
      <table class="facts">
        <tbody>
          <tr>
            <th>live version</th>
            <td data-testid="live-version">{model.liveVersion !== undefined ? <a href={href.version(model.name, model.liveVersion)}>v{model.liveVersion}</a> : 'none'}</td>
          </tr>
          <tr>
            <th>latest version</th>
            <td>
              {latest ? (
                <>
                  <a href={href.version(model.name, latest.version)}>v{latest.version}</a> <Status status={latest.status} /> <span class="muted">{time(latest.createdAt)}</span>
                </>
              ) : (
                'none yet'
              )}
            </td>
          </tr>
        </tbody>
      </table>
      <Show value={details}>
        {({ version, metrics }) => {
          const scores = metrics.driftScore.values;
          const now = scores[scores.length - 1];
          return (
            <>
              <table class="facts">
                <tbody>
                  <tr>
                    <th>{metricName} (latest)</th>
                    <td>{num(version?.metrics[metricName])}</td>
                  </tr>
                  <tr>
                    <th>drift</th>
                    <td>
                      DriftScore {num(now, 3)} · alarm {metrics.alarm ? <Status status={metrics.alarm.state} /> : 'not found'} · <a href={href.drift(model.name)}>drift view</a>
                    </td>
                  </tr>
                  <tr>
                    <th>last run</th>
                    <td>{version?.run ? <><a href={href.run(version.run.runId)}>{version.run.runId}</a> <Status status={version.run.status} /> {time(version.run.startedAt)}</> : '—'}</td>
                  </tr>
                </tbody>
              </table>
              <div class="grid">
                <LineChart title="DriftScore, last 7 days" series={[{ name: 'DriftScore', ...metrics.driftScore }]} domain={[metrics.from, metrics.to]} />
              </div>
            </>
          );
        }}
      </Show>
    </article>
  );
}

/** One model: its versions, newest first. */
export function ModelPage({ client, model }: { client: CaretakerClient; model: string }) {
  const [versions] = useAsync(() => client.listVersions(model, { limit: 50 }), [client, model]);
  return (
    <section>
      <h1>{model}</h1>
      <p>
        <a href={href.drift(model)}>Drift</a> · <a href={href.audit({ model })}>Audit trail</a>
      </p>
      <Show value={versions}>
        {(page) => (
          <table class="list">
            <thead>
              <tr>
                <th>version</th>
                <th>status</th>
                <th>metric</th>
                <th>dataset</th>
                <th>requested by</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((v) => (
                <tr key={v.version}>
                  <td>
                    <a href={href.version(model, v.version)}>v{v.version}</a>
                  </td>
                  <td>
                    <Status status={v.status} />
                  </td>
                  <td>
                    {v.comparison.metricName} {num(v.comparison.candidate)}
                  </td>
                  <td>{v.datasetVersion}</td>
                  <td>{v.requestedBy}</td>
                  <td>{time(v.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </section>
  );
}
