/**
 * Charts in inline SVG. A line chart: a few series over time, an optional threshold line, the
 * value range and the time span labelled. A bar chart: baseline vs current histograms. No chart
 * library: the drift view needs lines and bars, not a toolkit.
 */
export interface Series {
  readonly name: string;
  readonly timestamps: readonly string[];
  readonly values: readonly number[];
}

const COLORS = ['#2563eb', '#d97706', '#059669', '#9333ea'];
const W = 480;
const H = 160;
const PAD = { left: 44, right: 8, top: 10, bottom: 22 };

/** `domain`: the time window to draw (default: the points' own span). */
export function LineChart({ title, series, threshold, testId, domain }: { title: string; series: readonly Series[]; threshold?: { value: number; label: string }; testId?: string; domain?: readonly [string, string] }) {
  const points = series.flatMap((s) => s.timestamps.map((t, i) => ({ t: Date.parse(t), v: s.values[i] ?? Number.NaN }))).filter((p) => Number.isFinite(p.t) && Number.isFinite(p.v));
  const empty = points.length === 0;
  const t0 = domain ? Date.parse(domain[0]) : Math.min(...points.map((p) => p.t));
  const t1 = domain ? Date.parse(domain[1]) : Math.max(...points.map((p) => p.t));
  const values = [...points.map((p) => p.v), ...(threshold ? [threshold.value] : [])];
  const v0 = Math.min(0, ...values);
  const v1 = Math.max(...values, v0 + 1e-9);
  const x = (t: number) => PAD.left + (t1 === t0 ? (W - PAD.left - PAD.right) / 2 : ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right));
  const y = (v: number) => H - PAD.bottom - ((v - v0) / (v1 - v0)) * (H - PAD.top - PAD.bottom);
  return (
    <figure class="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      {empty ? (
        <p class="muted" data-testid="chart-empty">No data points in this window.</p>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={title}>
          <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} stroke="#9ca3af" />
          <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} stroke="#9ca3af" />
          <text x={PAD.left - 4} y={y(v1) + 4} text-anchor="end" class="axis">{v1.toFixed(2)}</text>
          <text x={PAD.left - 4} y={y(v0) + 4} text-anchor="end" class="axis">{v0.toFixed(2)}</text>
          <text x={PAD.left} y={H - 6} class="axis">{new Date(t0).toISOString().slice(5, 16).replace('T', ' ')}</text>
          <text x={W - PAD.right} y={H - 6} text-anchor="end" class="axis">{new Date(t1).toISOString().slice(5, 16).replace('T', ' ')}</text>
          {threshold ? (
            <g>
              <line x1={PAD.left} x2={W - PAD.right} y1={y(threshold.value)} y2={y(threshold.value)} stroke="#dc2626" stroke-dasharray="4 3" />
              <text x={W - PAD.right} y={y(threshold.value) - 3} text-anchor="end" class="axis threshold">{threshold.label}</text>
            </g>
          ) : null}
          {series.map((s, index) => {
            const color = COLORS[index % COLORS.length] ?? '#000';
            const pts = s.timestamps.map((t, i) => [x(Date.parse(t)), y(s.values[i] ?? 0)] as const);
            return (
              <g key={s.name} data-series={s.name}>
                <polyline fill="none" stroke={color} stroke-width="2" points={pts.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')} />
                {pts.map(([px, py], i) => (
                  <circle key={i} cx={px} cy={py} r="2.5" fill={color} />
                ))}
              </g>
            );
          })}
        </svg>
      )}
      {series.length > 1 ? (
        <div class="legend">
          {series.map((s, index) => (
            <span key={s.name} class={`swatch swatch-${index % COLORS.length}`}>{s.name}</span>
          ))}
        </div>
      ) : null}
    </figure>
  );
}

/** One histogram bin or category: its label and each side's share (0–1). */
export interface Bin {
  readonly label: string;
  readonly values: readonly number[];
}

const BAR_H = 170;
const BAR_PAD = { left: 40, right: 8, top: 10, bottom: 34 };

/**
 * Grouped bars in inline SVG: one group per bin or category, one bar per side (baseline,
 * current), each side's share of its values. Labels are shortened to fit; the full label is the
 * bar's tooltip (`<title>`).
 */
export function BarChart({ title, sides, bins, testId }: { title: string; sides: readonly string[]; bins: readonly Bin[]; testId?: string }) {
  const top = Math.max(1e-9, ...bins.flatMap((b) => b.values.filter((v) => Number.isFinite(v))));
  const band = (W - BAR_PAD.left - BAR_PAD.right) / Math.max(1, bins.length);
  const bar = (band * 0.8) / Math.max(1, sides.length);
  const y = (v: number) => BAR_H - BAR_PAD.bottom - (v / top) * (BAR_H - BAR_PAD.top - BAR_PAD.bottom);
  const every = Math.max(1, Math.ceil(bins.length / 8));
  return (
    <figure class="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      {bins.length === 0 ? (
        <p class="muted" data-testid="chart-empty">No values on either side.</p>
      ) : (
        <svg viewBox={`0 0 ${W} ${BAR_H}`} role="img" aria-label={`${title}: ${sides.join(' vs ')}`}>
          <line x1={BAR_PAD.left} y1={BAR_H - BAR_PAD.bottom} x2={W - BAR_PAD.right} y2={BAR_H - BAR_PAD.bottom} stroke="#9ca3af" />
          <text x={BAR_PAD.left - 4} y={y(top) + 4} text-anchor="end" class="axis">{`${(top * 100).toFixed(0)}%`}</text>
          <text x={BAR_PAD.left - 4} y={y(0) + 4} text-anchor="end" class="axis">0%</text>
          {bins.map((bin, i) => {
            const x0 = BAR_PAD.left + i * band + band * 0.1;
            return (
              <g key={`${i}-${bin.label}`} data-bin={bin.label}>
                {bin.values.map((v, s) => (
                  <rect key={sides[s]} data-series={sides[s]} x={x0 + s * bar} y={y(v)} width={Math.max(1, bar - 1)} height={Math.max(0, y(0) - y(v))} fill={COLORS[s % COLORS.length]}>
                    <title>{`${bin.label} — ${sides[s] ?? ''}: ${(v * 100).toFixed(1)}%`}</title>
                  </rect>
                ))}
                {i % every === 0 ? (
                  <text x={x0 + (bar * sides.length) / 2} y={BAR_H - BAR_PAD.bottom + 12} text-anchor="middle" class="axis">
                    {bin.label.length > 10 ? `${bin.label.slice(0, 9)}…` : bin.label}
                  </text>
                ) : null}
              </g>
            );
          })}
        </svg>
      )}
      <div class="legend">
        {sides.map((s, index) => (
          <span key={s} class={`swatch swatch-${index % COLORS.length}`}>{s}</span>
        ))}
      </div>
    </figure>
  );
}
