/**
 * Drift: DriftScore and per-feature PSI / KS / JS over a window, the alarm's state and its
 * runbook; then one analysis window's report, baseline vs current histograms per feature.
 */
import { useState } from 'preact/hooks';
import type { CaretakerClient } from '../../lib/client/core';
import { LineChart } from './chart';
import { DriftReports } from './drift-report';
import { href } from './router';
import { Show, Status, time, useAsync } from './ui';

const WINDOWS = { '1 day': 1, '7 days': 7, '15 days': 15 } as const;
/** README section of the drift alarm's runbook (the alarm's description names it too). */
const RUNBOOK = 'README.md#runbook-drift-alarm';

export function DriftPage({ client, model, docsUrl }: { client: CaretakerClient; model: string; docsUrl?: string }) {
  const [days, setDays] = useState<number>(7);
  const [data] = useAsync(async () => {
    const to = new Date();
    const from = new Date(to.getTime() - days * 86_400_000);
    return client.modelMetrics(model, { from: from.toISOString(), to: to.toISOString() });
  }, [client, model, days]);
  return (
    <section>
      <h1>
        <a href={href.model(model)}>{model}</a> drift
      </h1>
      <p>
        Window:{' '}
        {Object.entries(WINDOWS).map(([label, d]) => (
          <button key={label} type="button" class={d === days ? 'tab active' : 'tab'} onClick={() => setDays(d)}>
            {label}
          </button>
        ))}
      </p>
      <Show value={data}>
        {(metrics) => (
          <>
            <div class="card" data-testid="alarm">
              {metrics.alarm ? (
                <p>
                  Alarm <code>{metrics.alarm.name}</code> <Status status={metrics.alarm.state} /> since {time(metrics.alarm.updatedAt)}
                  {metrics.alarm.reason ? <span class="muted"> — {metrics.alarm.reason}</span> : null}
                </p>
              ) : (
                <p>No drift alarm state found for {model}.</p>
              )}
              <p>
                {docsUrl ? (
                  <a href={new URL(RUNBOOK, docsUrl).href} target="_blank" rel="noopener">Runbook: drift alarm</a>
                ) : (
                  <>Runbook: drift alarm, {RUNBOOK}</>
                )}
              </p>
            </div>
            <div class="grid">
              <LineChart title="DriftScore (largest feature PSI)" series={[{ name: 'DriftScore', ...metrics.driftScore }]} domain={[metrics.from, metrics.to]} />
              <LineChart title="Model quality on labelled traffic" series={[{ name: 'ModelQuality', ...metrics.modelQuality }]} domain={[metrics.from, metrics.to]} />
            </div>
            <h2>Per feature</h2>
            {metrics.features.length === 0 ? <p data-testid="no-features">No feature has drift metrics in this window yet: the analyzer publishes them once the live endpoint has captured traffic.</p> : null}
            <div class="grid">
              {metrics.features.map((f) => (
                <LineChart
                  key={f.feature}
                  testId="feature-chart"
                  title={f.feature}
                  domain={[metrics.from, metrics.to]}
                  series={[
                    { name: 'PSI', ...f.psi },
                    { name: 'KS', ...f.ksStatistic },
                    { name: 'JS', ...f.jsDistance },
                  ]}
                />
              ))}
            </div>
            <p class="muted">
              {time(metrics.from)} – {time(metrics.to)}, one point per {metrics.periodSeconds} s (maximum of the period).
            </p>
          </>
        )}
      </Show>
      <h2>Baseline vs current, per analysis window</h2>
      <DriftReports client={client} model={model} />
    </section>
  );
}
