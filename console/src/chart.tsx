/**
 * A line chart in inline SVG: a few series over time, an optional threshold line, the value
 * range and the time span labelled. No chart library: the drift view needs lines, not a toolkit.
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
