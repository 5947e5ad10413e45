/**
 * One analysis window's drift report (report.json, from the API's drift report routes): per
 * feature the baseline and current histograms the analyzer compared, PSI / KS / JS (χ² for
 * categories), and whether it drifted. Windows newest first, paged.
 */
import { useState } from 'preact/hooks';
import { driftWindowEnd, type CaretakerClient, type DriftReportDocument, type FeatureEntry } from '../../lib/client/core';
import { BarChart, type Bin } from './chart';
import { num, Show, Status, time, useAsync } from './ui';

const SIDES = ['baseline', 'current'] as const;

const share = (counts: readonly number[]) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
};

/** The histogram the statistics were computed from: the baseline's bins (k inner edges, k+1 bins) or the categories. */
export function binsOf(feature: FeatureEntry): Bin[] {
  if (feature.type === 'numeric') {
    const { edges, baseline, current } = feature.distribution;
    const base = share(baseline);
    const cur = share(current);
    const f = (x: number | undefined) => (x === undefined ? '' : Math.abs(x) >= 1000 || (x !== 0 && Math.abs(x) < 0.01) ? x.toPrecision(3) : String(Number(x.toFixed(2))));
    return base.map((b, i) => ({
      label: i === 0 ? `≤ ${f(edges[0])}` : i === edges.length ? `> ${f(edges[i - 1])}` : `${f(edges[i - 1])}–${f(edges[i])}`,
      values: [b, cur[i] ?? 0],
    }));
  }
  const categories = feature.distribution.categories;
  const base = share(categories.map((c) => c.baseline));
  const cur = share(categories.map((c) => c.current));
  return categories.map((c, i) => ({ label: c.name, values: [base[i] ?? 0, cur[i] ?? 0] }));
}

function stats(feature: FeatureEntry): string {
  const second = feature.type === 'numeric' ? `KS ${num(feature.ks.statistic, 3)} (p ${num(feature.ks.pValue, 3)})` : `χ² p ${num(feature.chiSquare.pValue, 3)}`;
  return `PSI ${num(feature.psi, 3)} · ${second} · JS ${num(feature.jsDistance, 3)}`;
}

export function DriftReports({ client, model }: { client: CaretakerClient; model: string }) {
  // Page tokens of the pages shown so far (undefined: the newest page).
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const token = tokens[tokens.length - 1];
  const [list] = useAsync(() => client.listDriftReports(model, { limit: 25, ...(token !== undefined ? { nextToken: token } : {}) }), [client, model, token]);
  return (
    <Show value={list}>
      {(page) => {
        const window = picked ?? page.items[0];
        return (
          <div data-testid="drift-reports">
            {window === undefined ? (
              <p data-testid="no-reports">No drift report for {model} yet: the analyzer writes one per window once the live endpoint has captured traffic.</p>
            ) : (
              <>
                <p>
                  <label>
                    Window ending{' '}
                    <select data-testid="report-window" value={window} onChange={(e) => setPicked((e.target as HTMLSelectElement).value)}>
                      {page.items.map((id) => (
                        <option key={id} value={id}>{time(driftWindowEnd(id))}</option>
                      ))}
                    </select>{' '}
                    {tokens.length > 1 ? <button type="button" class="tab" onClick={() => { setTokens(tokens.slice(0, -1)); setPicked(undefined); }}>Newer</button> : null}
                    {page.nextToken !== undefined ? <button type="button" class="tab" onClick={() => { setTokens([...tokens, page.nextToken]); setPicked(undefined); }}>Older</button> : null}
                  </label>
                </p>
                <Report client={client} model={model} window={window} />
              </>
            )}
          </div>
        );
      }}
    </Show>
  );
}

function Report({ client, model, window }: { client: CaretakerClient; model: string; window: string }) {
  const [found] = useAsync(() => client.getDriftReport(model, window), [client, model, window]);
  return (
    <Show value={found}>
      {({ report }) => (
        <>
          <Summary report={report} />
          <div class="grid">
            {report.features.map((feature) => (
              <div key={feature.name} data-testid="feature-histogram" data-feature={feature.name}>
                <BarChart title={feature.name} sides={SIDES} bins={binsOf(feature)} />
                <p class="muted">
                  {feature.drifted ? <Status status="DRIFTED" /> : null} {stats(feature)}
                </p>
                {feature.warnings.map((w) => (
                  <p key={w} class="muted">{w}</p>
                ))}
              </div>
            ))}
          </div>
        </>
      )}
    </Show>
  );
}

function Summary({ report }: { report: DriftReportDocument }) {
  return (
    <div class="card" data-testid="report-summary">
      <p>
        <Status status={report.status.toUpperCase().replace(/-/g, '_')} /> {report.window ? `${time(report.window.start)} – ${time(report.window.end)}` : null}: {report.current.records} records against the baseline of
        version {report.baseline.version ?? '—'} ({report.baseline.rows} rows). DriftScore {num(report.driftScore, 3)}, threshold PSI {report.psiThreshold}
        {report.drifted.length > 0 ? `; drifted: ${report.drifted.join(', ')}` : ''}.
      </p>
      {report.warnings.map((w) => (
        <p key={w} class="muted">{w}</p>
      ))}
    </div>
  );
}
