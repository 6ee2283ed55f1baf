// A dataset's Runs: the experiments run on it (dataset_id) as a chart of their average scores
// over time, where a drag selects a time range, and a table under a Basic or SQL filter (all
// kept in the URL: rfrom, rto, rtab, rname, rscore, rop, rval, rafter, rbefore, rsql). And one
// row's runs (RowRuns): the experiment rows whose origin points at that dataset row.
import { useEffect, useMemo, useRef, useState } from "react";
import type { Project } from "../App";
import { btql, lit, request } from "../api";
import { fmtTime } from "../components/DataTable";
import { href, setParams, useRoute } from "../router";
import { filterRuns, FilterError, Run } from "./runsFilter";

const COLORS = ["#4f6bed", "#e8833a", "#2e9d6a", "#c2417f", "#8a63d2", "#b59a1b"];
const pct = (v: any) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "–");

/** The Basic tab's fields as one SQL condition (the same evaluator as the SQL tab). */
export function basicToSql(p: { name?: string; score?: string; op?: string; val?: string; after?: string; before?: string }): string {
  const parts: string[] = [];
  if (p.name) parts.push(`name ILIKE ${lit(`%${p.name}%`)}`);
  if (p.score && p.val !== undefined && p.val !== "" && !isNaN(Number(p.val)))
    parts.push(`scores.${p.score} ${p.op === "le" ? "<=" : ">="} ${Number(p.val) / 100}`);
  if (p.after) parts.push(`created >= ${lit(p.after)}`);
  if (p.before) parts.push(`created <= ${lit(p.before)}`);
  return parts.join(" AND ");
}

export function DatasetRuns({ project, datasetId }: { project: Project; datasetId: string }) {
  const { params } = useRoute();
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  useEffect(() => {
    request("v1/experiment", { query: { project_id: project.id, limit: "1000" } })
      .then(async (r) => {
        const mine = r.objects.filter((e: any) => e.dataset_id === datasetId);
        const sums = await Promise.all(
          mine.map((e: any) => request(`v1/experiment/${e.id}/summarize`, { query: { comparison_experiment_id: e.id } }).catch(() => null)),
        );
        const all = mine.map((e: any, i: number) => ({
          ...e,
          scores: Object.fromEntries(Object.values(sums[i]?.scores || {}).map((s: any) => [s.name, s.score])),
        }));
        all.sort((a: Run, b: Run) => (a.created < b.created ? -1 : 1));
        setRuns(all);
      })
      .catch((e) => setLoadError(e.message));
  }, [project.id, datasetId]);

  const tab = params.get("rtab") === "sql" ? "sql" : "basic";
  const basic = {
    name: params.get("rname") || "",
    score: params.get("rscore") || "",
    op: params.get("rop") || "ge",
    val: params.get("rval") || "",
    after: params.get("rafter") || "",
    before: params.get("rbefore") || "",
  };
  const sql = params.get("rsql") || "";
  const condition = tab === "sql" ? sql : basicToSql(basic);
  const from = params.get("rfrom") || "";
  const to = params.get("rto") || "";
  const scoreNames = useMemo(() => [...new Set((runs || []).flatMap((r) => Object.keys(r.scores)))].sort(), [runs]);

  let filtered: Run[] = [];
  let filterError: string | null = null;
  try {
    filtered = filterRuns(runs || [], condition);
  } catch (e) {
    if (!(e instanceof FilterError)) throw e;
    filterError = e.message;
  }
  const inRange = (r: Run) => (!from || Date.parse(r.created) >= Date.parse(from)) && (!to || Date.parse(r.created) <= Date.parse(to));
  const shown = filtered.filter(inRange);

  if (loadError) return <div className="error">{loadError}</div>;
  if (!runs) return <div className="empty">Loading…</div>;
  return (
    <div data-testid="runs-panel">
      <RunsFilter tab={tab} basic={basic} sql={sql} scoreNames={scoreNames} />
      {filterError && (
        <div className="error" data-testid="runs-filter-error">
          Filter: {filterError}
        </div>
      )}
      <RunsChart runs={filtered} scoreNames={scoreNames} from={from} to={to} />
      <div className="toolbar">
        <span className="muted" data-testid="runs-count">
          {shown.length} of {runs.length} experiment{runs.length === 1 ? "" : "s"}
        </span>
        {(from || to) && (
          <span data-testid="runs-range">
            · created {from ? fmtTime(from) : "…"} to {to ? fmtTime(to) : "…"}{" "}
            <button className="link" onClick={() => setParams({ rfrom: undefined, rto: undefined })} data-testid="runs-clear-range">
              clear
            </button>
          </span>
        )}
      </div>
      <table className="simple" data-testid="dataset-runs">
        <thead>
          <tr>
            <th>Experiment</th>
            <th>Created</th>
            <th>Dataset version</th>
            <th>Scores</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.id} data-testid="dataset-run" data-id={e.id}>
              <td>
                <a href={href(["p", project.id, "experiments", e.id])}>{e.name}</a>
              </td>
              <td>{fmtTime(e.created)}</td>
              <td>
                <code>{e.dataset_version || "latest"}</code>
              </td>
              <td>
                {Object.entries(e.scores)
                  .map(([n, s]) => `${n} ${pct(s)}`)
                  .join(" · ")}
              </td>
            </tr>
          ))}
          {shown.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                {runs.length === 0 ? "No experiment has run on this dataset." : "No experiment matches the filter and time range."}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

type Basic = { name: string; score: string; op: string; val: string; after: string; before: string };

function RunsFilter({ tab, basic, sql, scoreNames }: { tab: string; basic: Basic; sql: string; scoreNames: string[] }) {
  const [b, setB] = useState(basic);
  const [s, setS] = useState(sql);
  useEffect(() => setB(basic), [JSON.stringify(basic)]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => setS(sql), [sql]);
  const active = tab === "sql" ? !!sql : !!basicToSql(basic);
  const clear = { rname: undefined, rscore: undefined, rop: undefined, rval: undefined, rafter: undefined, rbefore: undefined, rsql: undefined };
  return (
    <div className="runs-filter" data-testid="runs-filter">
      <div className="subtabs">
        <span className="muted">Filter:</span>
        <button className={tab === "basic" ? "on" : ""} onClick={() => setParams({ rtab: undefined })} data-testid="runs-tab-basic">
          Basic
        </button>
        <button className={tab === "sql" ? "on" : ""} onClick={() => setParams({ rtab: "sql" })} data-testid="runs-tab-sql">
          SQL
        </button>
      </div>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (tab === "sql") setParams({ rsql: s });
          else setParams({ rname: b.name, rscore: b.score, rop: b.score && b.op !== "ge" ? b.op : undefined, rval: b.val, rafter: b.after, rbefore: b.before });
        }}
      >
        {tab === "basic" ? (
          <>
            <input placeholder="name contains…" value={b.name} onChange={(e) => setB({ ...b, name: e.target.value })} data-testid="runs-name" />
            <select value={b.score} onChange={(e) => setB({ ...b, score: e.target.value })} data-testid="runs-score">
              <option value="">(any score)</option>
              {scoreNames.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
            <select value={b.op} onChange={(e) => setB({ ...b, op: e.target.value })} data-testid="runs-op">
              <option value="ge">≥</option>
              <option value="le">≤</option>
            </select>
            <input style={{ width: "5em" }} placeholder="%" value={b.val} onChange={(e) => setB({ ...b, val: e.target.value })} data-testid="runs-value" />
            <span className="muted">%</span>
            <input placeholder="created after (2026-11-01)" value={b.after} onChange={(e) => setB({ ...b, after: e.target.value })} data-testid="runs-after" />
            <input placeholder="created before" value={b.before} onChange={(e) => setB({ ...b, before: e.target.value })} data-testid="runs-before" />
          </>
        ) : (
          <input
            className="filter-input"
            placeholder="scores.correct >= 0.5 AND name LIKE 'prompt-%' AND created > '2026-11-01'"
            value={s}
            onChange={(e) => setS(e.target.value)}
            data-testid="runs-sql"
          />
        )}
        <button data-testid="runs-apply">Apply</button>
        {active && (
          <button type="button" onClick={() => setParams(clear)} data-testid="runs-clear-filter">
            Clear
          </button>
        )}
        {tab === "sql" && (
          <span className="muted">
            fields: <code>name</code>, <code>created</code>, <code>scores.&lt;name&gt;</code> (0–1), <code>metadata.*</code>, <code>dataset_version</code>
          </span>
        )}
      </form>
    </div>
  );
}

const W = 760;
const H = 200;
const PAD = { l: 44, r: 16, t: 10, b: 28 };

/** Average score per score name over experiment creation time; drag across it to pick a range. */
function RunsChart({ runs, scoreNames, from, to }: { runs: Run[]; scoreNames: string[]; from: string; to: string }) {
  const svg = useRef<SVGSVGElement>(null);
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const times = runs.map((r) => Date.parse(r.created));
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (!runs.length) (t0 = Date.now() - 3600e3), (t1 = Date.now());
  const span = Math.max(t1 - t0, 1000);
  t0 -= span * 0.05;
  t1 += span * 0.05;
  const x = (t: number) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const tOf = (px: number) => t0 + ((Math.min(Math.max(px, PAD.l), W - PAD.r) - PAD.l) / (W - PAD.l - PAD.r)) * (t1 - t0);
  const y = (v: number) => PAD.t + (1 - Math.min(Math.max(v, 0), 1)) * (H - PAD.t - PAD.b);
  const px = (e: { clientX: number }) => e.clientX - svg.current!.getBoundingClientRect().left;
  // While dragging, follow the mouse on the whole window (a drag may end outside the chart).
  const dragging = drag !== null;
  useEffect(() => {
    if (!dragging) return;
    const move = (e: MouseEvent) => setDrag((d) => d && { ...d, b: px(e) });
    const up = (e: MouseEvent) => {
      setDrag((d) => {
        if (d && Math.abs(d.a - px(e)) >= 4) {
          // a drag, not a click: the range between its ends
          const [lo, hi] = [Math.min(d.a, px(e)), Math.max(d.a, px(e))];
          setTimeout(() => setParams({ rfrom: new Date(tOf(lo)).toISOString(), rto: new Date(tOf(hi)).toISOString() }));
        }
        return null;
      });
    };
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up);
    return () => {
      window.removeEventListener("mousemove", move);
      window.removeEventListener("mouseup", up);
    };
  }, [dragging, t0, t1]); // eslint-disable-line react-hooks/exhaustive-deps
  const sel = drag
    ? [Math.min(drag.a, drag.b), Math.max(drag.a, drag.b)]
    : from || to
      ? [from ? x(Date.parse(from)) : PAD.l, to ? x(Date.parse(to)) : W - PAD.r]
      : null;
  return (
    <div className="chart" data-testid="runs-chart">
      <svg
        ref={svg}
        width={W}
        height={H}
        style={{ cursor: "crosshair", userSelect: "none" }}
        onMouseDown={(e) => {
          e.preventDefault();
          setDrag({ a: px(e), b: px(e) });
        }}
        data-testid="runs-chart-svg"
      >
        <line x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} stroke="#999" />
        <line x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} stroke="#999" />
        {[0, 0.5, 1].map((v) => (
          <text key={v} x={4} y={y(v) + 4} fontSize={11}>
            {v * 100}%
          </text>
        ))}
        <text x={PAD.l} y={H - 8} fontSize={10}>
          {fmtTime(new Date(t0).toISOString())}
        </text>
        <text x={W - PAD.r} y={H - 8} fontSize={10} textAnchor="end">
          {fmtTime(new Date(t1).toISOString())}
        </text>
        {sel && <rect x={sel[0]} y={PAD.t} width={Math.max(sel[1] - sel[0], 1)} height={H - PAD.t - PAD.b} fill="#4f6bed22" stroke="#4f6bed" data-testid="runs-selection" />}
        {scoreNames.map((n, j) => {
          const pts = runs.filter((r) => typeof r.scores[n] === "number").map((r) => [x(Date.parse(r.created)), y(r.scores[n]), r] as const);
          const color = COLORS[j % COLORS.length];
          return (
            <g key={n}>
              <polyline points={pts.map(([a, b]) => `${a},${b}`).join(" ")} fill="none" stroke={color} strokeOpacity={0.5} />
              {pts.map(([a, b, r]) => (
                <circle key={r.id} cx={a} cy={b} r={4} fill={color} data-testid="runs-point" data-run={r.id} data-score={n}>
                  <title>{`${r.name} · ${fmtTime(r.created)} · ${n}: ${pct(r.scores[n])}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
      <div className="legend">
        {scoreNames.map((n, j) => (
          <span key={n}>
            <i style={{ background: COLORS[j % COLORS.length] }} /> {n}
          </span>
        ))}
        <span className="muted">Drag across the chart to pick a time range.</span>
      </div>
    </div>
  );
}

/** One dataset row's runs: experiment rows whose origin is this row (found with BTQL). */
export function RowRuns({ projectId, datasetId, rowId }: { projectId: string; datasetId: string; rowId: string }) {
  const [state, setState] = useState<{ rows: any[]; names: Record<string, string> } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    (async () => {
      const exps = (await request("v1/experiment", { query: { project_id: projectId, limit: "1000" } })).objects;
      const names = Object.fromEntries(exps.map((e: any) => [e.id, e.name]));
      if (!exps.length) return { rows: [], names };
      const res = await btql(
        `select: id, experiment_id, root_span_id, created, scores, output | from: experiment(${exps.map((e: any) => lit(e.id)).join(", ")})` +
          ` | filter: origin.object_type = 'dataset' AND origin.object_id = ${lit(datasetId)} AND origin.id = ${lit(rowId)} | sort: created desc | limit: 200`,
      );
      return { rows: res.data, names };
    })()
      .then((s) => live && setState(s))
      .catch((e) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [projectId, datasetId, rowId]);
  return (
    <div className="row-runs" data-testid="row-runs">
      <h4>Runs</h4>
      <p className="muted">Experiment rows whose origin is this row. Only experiments that set origin appear (the SDK's Eval does when its data comes from a dataset).</p>
      {error && <div className="error">{error}</div>}
      {!state && !error && <div className="muted">Loading…</div>}
      {state && (
        <table className="simple" data-testid="row-runs-table">
          <thead>
            <tr>
              <th>Experiment</th>
              <th>Time</th>
              <th>Scores</th>
              <th>Output</th>
            </tr>
          </thead>
          <tbody>
            {state.rows.map((r) => (
              <tr key={`${r.experiment_id}/${r.id}`} data-testid="row-run" data-experiment={r.experiment_id} data-id={r.id}>
                <td>
                  <a href={href(["p", projectId, "experiments", r.experiment_id], { trace: r.root_span_id, span: r.id })} data-testid="row-run-trace">
                    {state.names[r.experiment_id] || r.experiment_id}
                  </a>
                </td>
                <td>{fmtTime(r.created)}</td>
                <td data-testid="row-run-scores">
                  {Object.entries(r.scores || {})
                    .sort()
                    .map(([n, s]) => `${n} ${pct(s)}`)
                    .join(" · ")}
                </td>
                <td className="clip">{typeof r.output === "string" ? r.output : JSON.stringify(r.output)}</td>
              </tr>
            ))}
            {state.rows.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  No experiment row has this row as its origin.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}
