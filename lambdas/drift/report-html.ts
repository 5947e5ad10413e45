/**
 * A drift report as one self-contained HTML page: inline CSS and inline SVG, no scripts, and
 * nothing fetched from anywhere (no external src, href, @import or url()), so it opens the
 * same from S3, an email attachment or a laptop offline. The analyzer and `caretaker drift
 * --html` both render with this module, from the document `report.ts` builds.
 *
 * The summary comes first (status, the alarm threshold, records, drifted features); then a
 * table of every feature; then per feature its chart (numeric: baseline vs current share of
 * each bin; categorical: baseline vs current share of each category) and its statistics.
 */
import type { DriftReportDocument, FeatureEntry } from './report';
import { OVERFLOW_CATEGORY } from './window';

/** Most categories drawn per feature; the rest are summed in one bar. */
const MAX_CATEGORY_BARS = 25;

/** How every number on the page is written (tests compare the page with report.json through it). */
export function formatNumber(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs < 1e-4 || abs >= 1e7) return x.toExponential(2);
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(4)));
}

export function formatPercent(x: number): string {
  return `${formatNumber(Math.round(x * 1e4) / 100)} %`;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const STATUS_TEXT = {
  drifted: 'Drift detected',
  'no-drift': 'No drift',
  'too-few-records': 'Too few records to judge drift',
} as const;

export function renderReportHtml(doc: DriftReportDocument): string {
  const title = doc.model ? `Drift report: ${doc.model}${doc.window ? `, window ending ${doc.window.end}` : ''}` : 'Drift report';
  const rows: [string, string][] = [
    ['Status', STATUS_TEXT[doc.status]],
    ['Alarm threshold', `a feature drifts when its PSI is above ${formatNumber(doc.psiThreshold)}`],
    ['Drift score (largest PSI)', formatNumber(doc.driftScore)],
    ['Drifted features', `${doc.drifted.length} of ${doc.features.length}`],
    ['Current records', `${doc.current.records} (at least ${doc.minRecords} needed)`],
    ['Malformed records', String(doc.current.malformedRecords)],
    ['Baseline', `${doc.baseline.version === null ? '' : `version ${doc.baseline.version}, `}${doc.baseline.rows} rows`],
    ['Baseline source', doc.baseline.location],
    ['Current source', doc.current.location],
    ...(doc.window ? ([['Window', `${doc.window.start} → ${doc.window.end}`]] as [string, string][]) : []),
    ['Generated', doc.generatedAt],
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="status status-${doc.status}" data-status="${doc.status}">${escapeHtml(STATUS_TEXT[doc.status])}</p>
</header>
<section id="summary">
<h2>Summary</h2>
<dl>${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
${doc.drifted.length > 0 ? `<p>Drifted, largest PSI first: ${doc.drifted.map((name) => `<a href="#${anchor(doc, name)}">${escapeHtml(name)}</a>`).join(', ')}</p>` : ''}
${doc.warnings.length > 0 ? `<ul class="warnings">${doc.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>` : ''}
</section>
<section id="features">
<h2>Features</h2>
<table>
<thead><tr><th>feature</th><th>type</th><th>PSI</th><th>JS distance</th><th>test</th><th>statistic</th><th>p-value</th><th>missing (baseline → current)</th><th></th></tr></thead>
<tbody>
${doc.features.map((f) => summaryRow(doc, f)).join('\n')}
</tbody>
</table>
</section>
${doc.features.map((f) => featureSection(doc, f)).join('\n')}
<footer>${escapeHtml(doc.format)}: PSI = Σ (a − e)·ln(a/e) over bin (or category) shares floored at 1e-4; Jensen–Shannon distance in base 2; two-sample KS with the asymptotic p-value; Pearson χ² homogeneity test without continuity correction. Bins are the baseline's deciles.</footer>
</body>
</html>
`;
}

function anchor(doc: DriftReportDocument, name: string): string {
  return `feature-${doc.features.findIndex((f) => f.name === name)}`;
}

function test(f: FeatureEntry): { name: string; statistic: number | null; pValue: number | null } {
  return f.type === 'numeric'
    ? { name: 'KS', statistic: f.ks.statistic, pValue: f.ks.pValue }
    : { name: `χ² (${f.chiSquare.degreesOfFreedom} dof)`, statistic: f.chiSquare.statistic, pValue: f.chiSquare.pValue };
}

function summaryRow(doc: DriftReportDocument, f: FeatureEntry): string {
  const t = test(f);
  const flag = f.drifted ? '<span class="flag drifted">drifted</span>' : f.smallSample ? '<span class="flag small">small sample</span>' : '';
  return `<tr data-feature="${escapeHtml(f.name)}"${f.drifted ? ' class="drifted"' : ''}><td><a href="#${anchor(doc, f.name)}">${escapeHtml(f.name)}</a></td><td>${f.type}</td><td class="psi">${formatNumber(f.psi)}</td><td class="js">${formatNumber(f.jsDistance)}</td><td>${escapeHtml(t.name)}</td><td class="statistic">${formatNumber(t.statistic)}</td><td class="p-value">${formatNumber(t.pValue)}</td><td class="missing">${formatPercent(f.missingRate.baseline)} → ${formatPercent(f.missingRate.current)}</td><td>${flag}</td></tr>`;
}

function featureSection(doc: DriftReportDocument, f: FeatureEntry): string {
  const t = test(f);
  const stats: [string, string][] = [
    ['PSI', `${formatNumber(f.psi)} (threshold ${formatNumber(doc.psiThreshold)})`],
    ['Jensen–Shannon distance', formatNumber(f.jsDistance)],
    [`${t.name} statistic`, formatNumber(t.statistic)],
    [`${t.name} p-value`, formatNumber(t.pValue)],
    ['Missing, baseline', formatPercent(f.missingRate.baseline)],
    ['Missing, current', formatPercent(f.missingRate.current)],
  ];
  if (f.type === 'numeric') {
    stats.push(['Values (baseline / current)', `${f.distribution.values.baseline} / ${f.distribution.values.current}`]);
    stats.push(['KS sample (baseline / current)', `${f.distribution.ksSample.baseline} / ${f.distribution.ksSample.current}`]);
  }
  return `<section class="feature" id="${anchor(doc, f.name)}" data-feature="${escapeHtml(f.name)}">
<h2>${escapeHtml(f.name)} <small>${f.type}${f.drifted ? ' · drifted' : ''}</small></h2>
${f.warnings.length > 0 ? `<ul class="warnings">${f.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>` : ''}
<div class="row">
${f.type === 'numeric' ? numericChart(f) : categoricalChart(f)}
<dl>${stats.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
</div>
</section>`;
}

const BASE_COLOUR = '#7a8aa6';
const CURRENT_COLOUR = '#d9822b';

function legend(x: number, y: number): string {
  return `<g class="legend" font-size="11"><rect x="${x}" y="${y}" width="10" height="10" fill="${BASE_COLOUR}"/><text x="${x + 14}" y="${y + 9}">baseline</text><rect x="${x + 80}" y="${y}" width="10" height="10" fill="${CURRENT_COLOUR}"/><text x="${x + 94}" y="${y + 9}">current</text></g>`;
}

function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

function numericChart(f: FeatureEntry & { type: 'numeric' }): string {
  const { edges, baseline } = f.distribution;
  const current = shares(f.distribution.current);
  const bins = baseline.length;
  const labels = Array.from({ length: bins }, (_, i) =>
    bins === 1 ? 'all' : i === 0 ? `≤ ${formatNumber(edges[0])}` : i === bins - 1 ? `> ${formatNumber(edges[i - 1])}` : `(${formatNumber(edges[i - 1])}, ${formatNumber(edges[i])}]`,
  );
  return barChart(`Share of values per bin of ${f.name}`, labels, baseline, current, f.distribution.current);
}

function categoricalChart(f: FeatureEntry & { type: 'categorical' }): string {
  const all = [...f.distribution.categories].sort((a, b) => b.baseline + b.current - (a.baseline + a.current));
  const base = shares(all.map((c) => c.baseline));
  const cur = shares(all.map((c) => c.current));
  const shown = all.slice(0, MAX_CATEGORY_BARS);
  const labels = shown.map((c) => (c.name === OVERFLOW_CATEGORY ? '(other)' : c.name));
  const b = base.slice(0, MAX_CATEGORY_BARS);
  const c = cur.slice(0, MAX_CATEGORY_BARS);
  const counts = shown.map((x) => x.current);
  if (all.length > MAX_CATEGORY_BARS) {
    labels.push(`${all.length - MAX_CATEGORY_BARS} more`);
    b.push(base.slice(MAX_CATEGORY_BARS).reduce((s, x) => s + x, 0));
    c.push(cur.slice(MAX_CATEGORY_BARS).reduce((s, x) => s + x, 0));
    counts.push(all.slice(MAX_CATEGORY_BARS).reduce((s, x) => s + x.current, 0));
  }
  return barChart(`Share of values per category of ${f.name}`, labels, b, c, counts);
}

/** Horizontal grouped bars: one baseline and one current bar per label, as shares of the side's values. */
function barChart(title: string, labels: readonly string[], baseline: readonly number[], current: readonly number[], currentCounts: readonly number[]): string {
  const labelWidth = 150;
  const plotWidth = 360;
  const rowHeight = 22;
  const top = 22;
  const height = top + labels.length * rowHeight + 8;
  const max = Math.max(...baseline, ...current, 1e-9);
  const bars = labels
    .map((label, i) => {
      const y = top + i * rowHeight;
      const b = baseline[i] ?? 0;
      const c = current[i] ?? 0;
      const wb = (b / max) * plotWidth;
      const wc = (c / max) * plotWidth;
      const text = label.length > 22 ? `${label.slice(0, 21)}…` : label;
      return `<g class="bin" data-baseline="${b}" data-current="${c}"><title>${escapeHtml(label)}: baseline ${formatPercent(b)}, current ${formatPercent(c)} (${currentCounts[i] ?? 0} values)</title><text x="${labelWidth - 6}" y="${y + 13}" text-anchor="end" font-size="11">${escapeHtml(text)}</text><rect class="baseline" x="${labelWidth}" y="${y + 2}" width="${wb.toFixed(1)}" height="8" fill="${BASE_COLOUR}"/><rect class="current" x="${labelWidth}" y="${y + 10}" width="${wc.toFixed(1)}" height="8" fill="${CURRENT_COLOUR}"/><text x="${labelWidth + Math.max(wb, wc) + 4}" y="${y + 15}" font-size="10" fill="#555">${formatPercent(c)}</text></g>`;
    })
    .join('');
  return `<svg class="chart" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${labelWidth + plotWidth + 60} ${height}" width="${labelWidth + plotWidth + 60}" height="${height}">${legend(labelWidth, 4)}${bars}</svg>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0 auto;max-width:1100px;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:24px 0 8px}h2 small{font-weight:normal;color:#667}
.status{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600}
.status-drifted{background:#fde2e1;color:#8a1c17}.status-no-drift{background:#e2f5e6;color:#1d5e2c}.status-too-few-records{background:#fff4d6;color:#6b4e00}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:8px 0}dt{color:#556}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e3e6ec;padding:4px 6px;text-align:left}
td.psi,td.js,td.statistic,td.p-value{font-variant-numeric:tabular-nums}tr.drifted td{background:#fff5f4}
.flag{font-size:11px;padding:1px 6px;border-radius:3px}.flag.drifted{background:#8a1c17;color:#fff}.flag.small{background:#fff4d6;color:#6b4e00}
.warnings{background:#fff9e6;border-left:3px solid #e0b000;padding:6px 6px 6px 26px;margin:8px 0}
.feature{border-top:1px solid #e3e6ec;margin-top:16px}.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
svg.chart{max-width:100%;height:auto}footer{margin-top:32px;color:#667;font-size:12px}
`;
