// A small SVG bar chart for grouped query results: one group of bars per dimension value,
// one bar per measure. Written here instead of a chart library: this is the one chart the
// UI draws, and it costs no bundle weight.
const COLORS = ["#4f6bed", "#e8833a", "#2e9d6a", "#c2417f", "#8a63d2", "#b59a1b"];

export function BarChart({ rows, x, ys }: { rows: any[]; x: string; ys: string[] }) {
  const data = rows.slice(0, 60);
  const max = Math.max(1e-9, ...data.flatMap((r) => ys.map((y) => Math.abs(Number(r[y]) || 0))));
  const height = 220;
  const group = Math.max(18, ys.length * 12 + 8);
  const width = Math.max(320, data.length * group + 60);
  return (
    <div className="chart" data-testid="chart">
      <svg width={width} height={height + 70}>
        <line x1={50} y1={height} x2={width} y2={height} stroke="#999" />
        <text x={4} y={12} fontSize={11}>{fmt(max)}</text>
        <text x={4} y={height} fontSize={11}>0</text>
        {data.map((r, i) =>
          ys.map((y, j) => {
            const v = Math.abs(Number(r[y]) || 0);
            const h = (v / max) * (height - 10);
            return (
              <rect key={`${i}-${y}`} x={54 + i * group + j * 12} y={height - h} width={10} height={h} fill={COLORS[j % COLORS.length]}>
                <title>{`${label(r[x])} · ${y}: ${r[y]}`}</title>
              </rect>
            );
          }),
        )}
        {data.map((r, i) => (
          <text key={i} fontSize={10} transform={`translate(${54 + i * group + 4}, ${height + 8}) rotate(45)`}>
            {label(r[x]).slice(0, 16)}
          </text>
        ))}
      </svg>
      <div className="legend">
        {ys.map((y, j) => (
          <span key={y}>
            <i style={{ background: COLORS[j % COLORS.length] }} /> {y}
          </span>
        ))}
      </div>
    </div>
  );
}

function label(v: unknown): string {
  return v === null || v === undefined ? "(null)" : typeof v === "string" ? v : JSON.stringify(v);
}

function fmt(n: number): string {
  return Math.abs(n) >= 1000 ? n.toLocaleString("en-US", { maximumFractionDigits: 0 }) : String(+n.toPrecision(3));
}
