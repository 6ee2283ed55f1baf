// Experiments: the list with averages, and the comparison of one or more experiments with a
// baseline (rows matched on input, per-row score deltas, improvements and regressions).
import { ColumnDef } from "@tanstack/react-table";
import { useEffect, useMemo, useState } from "react";
import type { Project } from "../App";
import { ApiError, btql, lit, request } from "../api";
import { DataTable, fmtNumber, fmtTime, preview } from "../components/DataTable";
import { Json } from "../components/Json";
import { NotLoaded } from "../components/NotLoaded";
import { href, navigate, setParams, useRoute } from "../router";
import { Logs } from "./Logs";
import { wrapExpr } from "./logsQuery";
import { Dialog } from "../components/Dialog";

export function Experiments({ project, sub }: { project: Project; sub: string[] }) {
  if (sub[0] === "compare") return <Compare project={project} />;
  if (sub[0]) return <ExperimentView project={project} experimentId={sub[0]} />;
  return <ExperimentList project={project} />;
}

/** Copy text: with the Clipboard API where the page has it (a secure context: https or
 * localhost), else from a selected text area (a server reached over plain http at its
 * address has no navigator.clipboard: the button did nothing, and said nothing). */
async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* refused: try the text area */
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

/** "Copy id", saying it copied; where nothing could copy, the id is shown to copy by hand. */
function CopyId({ id }: { id: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button
      onClick={async () => ((await copyText(id)) ? setCopied(true) : prompt("The experiment's id (copy it):", id))}
      title={id}
      data-testid="copy-id"
    >
      {copied ? "Copied ✓" : "Copy id"}
    </button>
  );
}

/** One experiment: its rows in the logs table with the trace panel, and its details. */
function ExperimentView({ project, experimentId }: { project: Project; experimentId: string }) {
  const [exp, setExp] = useState<any>(null);
  // The baseline "Compare with the baseline" compares with: the server's (the experiment's
  // base while it exists, else the project's default, else the previous experiment), not only
  // an explicit base_exp_id.
  const [baseName, setBaseName] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  const [renameError, setRenameError] = useState<string | null>(null);
  // Its scorers (the scores its rows have, each with its average and its difference from the
  // baseline's, the server's summary) and its dataset's name.
  const [scorers, setScorers] = useState<{ id: string; scores: [string, any][] } | string | null>(null);
  const [datasetName, setDatasetName] = useState<{ id: string; name: string } | null>(null);
  const rename = async () => {
    const name = prompt("New name for the experiment", exp.name)?.trim();
    if (!name || name === exp.name) return;
    setRenameError(null);
    try {
      setExp(await request(`v1/experiment/${exp.id}`, { method: "PATCH", body: { name } }));
    } catch (e: any) {
      setRenameError(`Not renamed to “${name}”: ${e.message}`);
    }
  };
  useEffect(() => {
    setLoadError(null);
    setBaseName(null);
    let current = true; // (a late answer for the experiment shown before is dropped)
    request(`v1/experiment/${experimentId}`)
      .then((e) => {
        if (!current) return;
        setExp(e);
        request("api/base_experiment/get_id", { body: { id: e.id } })
          .then((r) => current && setBaseName(r.base_exp_name || null))
          .catch(() => {}); // 400: none
        request(`v1/experiment/${e.id}/summarize`)
          .then((r) => current && setScorers({ id: e.id, scores: Object.entries(r.scores || {}).sort(([a], [b]) => a.localeCompare(b)) }))
          .catch((err) => current && setScorers(`scorers not loaded: ${err.message}`));
        if (e.dataset_id)
          request(`v1/dataset/${e.dataset_id}`)
            .then((d) => current && setDatasetName({ id: d.id, name: d.name }))
            .catch(() => {}); // (a deleted dataset: the link says "dataset")
      })
      .catch((e) => current && setLoadError(e));
    return () => {
      current = false;
    };
  }, [experimentId]);
  if (loadError)
    return <NotLoaded what="experiment" id={experimentId} error={loadError} back={href(["p", project.id, "experiments"])} backLabel="Experiments" />;
  return (
    <div className="experiment-view">
      <div className="toolbar details" data-testid="experiment-details">
        <a href={href(["p", project.id, "experiments"])}>← Experiments</a>
        <h2>{exp?.name}</h2>
        {exp && (
          <>
            <button className="link" onClick={rename} data-testid="rename-experiment" title="Rename this experiment">
              Rename…
            </button>
            {renameError && (
              <span className="error" data-testid="experiment-rename-error">
                {renameError}
              </span>
            )}
            <span className="muted">created {fmtTime(exp.created)}</span>
            {baseName && <span data-testid="experiment-baseline">baseline {baseName}</span>}
            {exp.dataset_id && (
              <a href={href(["p", project.id, "datasets", exp.dataset_id])} data-testid="experiment-dataset" title="the dataset this experiment ran on">
                {datasetName && datasetName.id === exp.dataset_id ? `dataset ${datasetName.name}` : "dataset"}
              </a>
            )}
            {exp.dataset_id && exp.dataset_version && (
              <span className="muted" title="the dataset version this experiment is pinned to" data-testid="experiment-dataset-version">
                version {exp.dataset_version}
              </span>
            )}
            {exp.metadata && <span className="muted">{preview(exp.metadata, 80)}</span>}
            {typeof scorers === "string" && (
              <span className="error" data-testid="experiment-scorers-error">
                {scorers}
              </span>
            )}
            {scorers && typeof scorers !== "string" && scorers.id === exp.id && (
              <span className="scorers" data-testid="experiment-scorers" title="the scores of this experiment's rows: average (difference from the baseline's)">
                <span className="muted">scorers</span>{" "}
                {scorers.scores.length === 0 ? (
                  <span className="muted">no scores</span>
                ) : (
                  scorers.scores.map(([name, s]) => (
                    <span className="scorer" key={name} data-testid="experiment-scorer">
                      <span data-testid="scorer-name">{name}</span> <strong data-testid="scorer-score">{pct(s.score)}</strong>
                      {typeof s.diff === "number" && (
                        <span className={s.diff > 0 ? "up" : s.diff < 0 ? "down" : "muted"} data-testid="scorer-diff">
                          {" "}
                          ({s.diff > 0 ? "+" : ""}
                          {pct(s.diff)})
                        </span>
                      )}
                    </span>
                  ))
                )}
              </span>
            )}
            <CopyId id={exp.id} />
            <a href={href(["p", project.id, "experiments", "compare"], { exp: exp.id })} data-testid="compare-link">
              Compare with the baseline →
            </a>
          </>
        )}
      </div>
      <Logs project={project} source={{ type: "experiment", id: experimentId }} />
    </div>
  );
}

type Stats = { traces: number; errors: number; duration: number | null; tokens: number | null; cost: number | null };

function ExperimentList({ project }: { project: Project }) {
  const [experiments, setExperiments] = useState<any[] | null>(null);
  const [stats, setStats] = useState<Record<string, Stats>>({});
  const [scores, setScores] = useState<Record<string, Record<string, number>>>({});
  const [picked, setPicked] = useState<string[]>([]);
  // Of the two or more picked, the baseline: the one chosen, else the oldest (whichever was
  // picked first); the others are compared with it.
  const [chosenBase, setChosenBase] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loads, setLoads] = useState(0); // (asked again after a delete)
  // The list itself not loaded (the table said "Loading…" for ever under the error).
  const [listError, setListError] = useState(false);

  useEffect(() => {
    setListError(false);
    request("v1/experiment", { query: { project_id: project.id, limit: "1000" } })
      .catch((e) => {
        setListError(true);
        throw e;
      })
      .then(async (r) => {
        const exps = r.objects;
        setExperiments(exps);
        setPicked((p) => p.filter((id) => exps.some((e: any) => e.id === id)));
        if (!exps.length) return;
        // The figures as the server's summaries count them: per trace, of the traces summaries
        // count (the summary shape: not a trace whose root span left it, as the first run's
        // spans of an Eval re-run with upsert_id). Rows are traces; errors the traces with an
        // error on any span (the logs' Level, the Errors view); tokens a span's total_tokens,
        // else tokens (the SDK's wrappers), else prompt + completion tokens, summed over the
        // trace. Duration is the root span's end − start, averaged, as /summarize has it.
        const from = `from: experiment(${exps.map((e: any) => lit(e.id)).join(", ")})`;
        const [summary, roots] = await Promise.all([
          btql(
            [
              `${from} summary`,
              "dimensions: experiment_id",
              "measures: count(1) as traces, sum(span_type_info.has_error) as errors,",
              "  sum(metrics.total_tokens) as tokens, sum(metrics.estimated_cost) as cost",
            ].join("\n"),
          ),
          btql([from, "filter: is_root", "dimensions: experiment_id", "measures: avg(metrics.end - metrics.start) as duration"].join("\n")),
        ]);
        const durations = Object.fromEntries(roots.data.map((row: any) => [row.experiment_id, row.duration]));
        setStats(Object.fromEntries(summary.data.map((row: any) => [row.experiment_id, { ...row, duration: durations[row.experiment_id] ?? null }])));
        // Average scores per experiment (per trace, then over traces) from its summary.
        const sums = await Promise.all(
          exps.map((e: any) =>
            request(`v1/experiment/${e.id}/summarize`, { query: { comparison_experiment_id: e.id } }).catch((err: any) => ({ error: `${e.name}: ${err.message}` })),
          ),
        );
        // Scores that fail to load say so (their cells were blank, as for an experiment without scores).
        const failed = sums.filter((x: any) => x?.error).map((x: any) => x.error);
        if (failed.length) setError(`Scores not loaded: ${failed.join("; ")}`);
        setScores(
          Object.fromEntries(
            exps.map((e: any, i: number) => [e.id, Object.fromEntries(Object.values(sums[i]?.scores || {}).map((s: any) => [s.name, s.score]))]),
          ),
        );
      })
      .catch((e) => setError(e.message));
  }, [project.id, loads]);

  // Delete the picked experiments (one or more), after a confirmation; each one refused says why.
  const deletePicked = async () => {
    const names = pickedExps.map((e) => `“${e.name}”`).join(" and ");
    if (!confirm(`Delete the experiment${pickedExps.length > 1 ? "s" : ""} ${names} and ${pickedExps.length > 1 ? "their" : "its"} rows?`)) return;
    setError(null);
    const failed: string[] = [];
    for (const e of pickedExps) {
      try {
        await request(`v1/experiment/${e.id}`, { method: "DELETE" });
      } catch (err: any) {
        failed.push(`${e.name} not deleted: ${err.message}`);
      }
    }
    if (failed.length) setError(failed.join("; "));
    setLoads((n) => n + 1);
  };

  const scoreNames = useMemo(() => [...new Set(Object.values(scores).flatMap((s) => Object.keys(s)))].sort(), [scores]);
  const pickedExps = picked.map((id) => experiments?.find((e) => e.id === id)).filter(Boolean) as any[];
  const olderFirst = [...pickedExps].sort((a, b) => String(a.created).localeCompare(String(b.created)));
  const baseId = pickedExps.length >= 2 ? (chosenBase && picked.includes(chosenBase) ? chosenBase : olderFirst[0].id) : null;
  // The experiments compared with the baseline, oldest first.
  const otherIds = baseId ? olderFirst.map((e) => e.id).filter((id) => id !== baseId) : [];
  const nameOf = (id: string | null) => experiments?.find((e) => e.id === id)?.name ?? "";
  // The figures go into the rows themselves: the table caches each row's values until its data
  // changes, so a column reading a separate state would keep what it read before they arrived.
  const rows = useMemo(
    () => (experiments || []).map((e) => ({ ...e, _stats: stats[e.id], _scores: scores[e.id] })),
    [experiments, stats, scores],
  );
  const columns: ColumnDef<any, any>[] = [
    {
      id: "pick",
      header: "",
      size: 34,
      enableSorting: false,
      cell: ({ row }) => (
        <input
          type="checkbox"
          data-testid="pick-experiment"
          checked={picked.includes(row.original.id)}
          onChange={() =>
            setPicked(picked.includes(row.original.id) ? picked.filter((x) => x !== row.original.id) : [...picked, row.original.id])
          }
        />
      ),
    },
    {
      id: "name",
      header: "Experiment",
      size: 200,
      accessorFn: (e) => e.name,
      cell: (i) => (
        <span>
          <a href={href(["p", project.id, "experiments", i.row.original.id])}>{i.getValue()}</a>
          {i.row.original.id === baseId && (
            <>
              {" "}
              <span className="badge" data-testid="picked-baseline">
                baseline
              </span>
            </>
          )}
        </span>
      ),
    },
    { id: "created", header: "Created", size: 150, accessorFn: (e) => e.created, cell: (i) => fmtTime(i.getValue()) },
    ...scoreNames.map(
      (n): ColumnDef<any, any> => ({ id: "s:" + n, header: n, size: 110, accessorFn: (e) => e._scores?.[n], cell: (i) => pct(i.getValue()) }),
    ),
    { id: "traces", header: "Rows", size: 70, accessorFn: (e) => e._stats?.traces, cell: (i) => fmtNumber(i.getValue()) },
    { id: "errors", header: "Errors", size: 70, accessorFn: (e) => e._stats?.errors, cell: (i) => fmtNumber(i.getValue()) },
    { id: "duration", header: "Duration (s)", size: 100, accessorFn: (e) => e._stats?.duration, cell: (i) => fmtNumber(i.getValue(), 3) },
    { id: "tokens", header: "Tokens", size: 90, accessorFn: (e) => e._stats?.tokens, cell: (i) => fmtNumber(i.getValue()) },
    { id: "cost", header: "Cost", size: 90, accessorFn: (e) => e._stats?.cost, cell: (i) => fmtNumber(i.getValue(), 5) },
  ];
  return (
    <div className="page">
      <div className="toolbar">
        <h2>Experiments</h2>
        {baseId && (
          <label title="The experiment the others are compared with">
            Baseline{" "}
            <select value={baseId} onChange={(e) => setChosenBase(e.target.value)} data-testid="compare-pick-base">
              {olderFirst.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <button
          disabled={!baseId}
          data-testid="compare"
          onClick={() => navigate(["p", project.id, "experiments", "compare"], { exp: otherIds.join(","), base: baseId! })}
        >
          {baseId ? `Compare ${otherIds.map(nameOf).join(", ")} with ${nameOf(baseId)}` : "Compare (pick two or more)"}
        </button>
        <button disabled={!pickedExps.length} data-testid="delete-experiments" onClick={deletePicked} title="Delete the picked experiments">
          {pickedExps.length ? `Delete ${pickedExps.length === 1 ? pickedExps[0].name : `${pickedExps.length} experiments`}` : "Delete"}
        </button>
      </div>
      {error && (
        <div className="error" data-testid="experiments-error">
          {error}
        </div>
      )}
      <DataTable
        testId="experiments-table"
        columns={columns}
        data={rows}
        empty={experiments ? "No experiments" : listError ? "Experiments not loaded." : "Loading…"}
      />
    </div>
  );
}

function pct(v: unknown) {
  return v === null || v === undefined ? "" : `${(Number(v) * 100).toFixed(1)}%`;
}

/** Each root span's comparison key (JSON text of ``expr``'s value), by root_span_id; rows
 * whose key is null are left unmatched. A bad expression fails with the server's message. */
async function comparisonKeys(experimentId: string, expr: string): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  let cursor: string | null = null;
  let count = 0;
  do {
    const res = await btql(
      `select: root_span_id, ${wrapExpr(expr)} AS match_key | from: experiment(${lit(experimentId)}) | filter: is_root | limit: 1000${cursor ? ` | cursor: ${lit(cursor)}` : ""}`,
    );
    for (const r of res.data) if (r.match_key !== null && r.match_key !== undefined) keys.set(r.root_span_id, JSON.stringify(r.match_key));
    count += res.data.length;
    cursor = res.cursor;
  } while (cursor && count < 20000);
  return keys;
}

async function summaryRows(experimentId: string): Promise<any[]> {
  const rows: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await btql(
      `select: id, root_span_id, input, output, expected, scores, metrics | from: experiment(${lit(experimentId)}) summary | preview_length: 2000 | limit: 1000${cursor ? ` | cursor: ${lit(cursor)}` : ""}`,
    );
    rows.push(...res.data);
    cursor = res.cursor;
  } while (cursor && rows.length < 20000);
  return rows;
}

/** A value as JSON text with its objects' keys sorted: inputs match whatever the order of
 * their keys, as the server's summary matches them. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v,
  );
}

type Keyed = { row: any; key: string | undefined };

/** Trials (the traces of one input, or one comparison key) as one row: the first trial's
 * values, each score averaged over the trials that have it (as the server's summary counts
 * them), and `trials`, how many there are. A row without a key stands alone. */
function byTrial(list: Keyed[]): Keyed[] {
  const groups = new Map<string, { key: string | undefined; rows: any[] }>();
  list.forEach((x, i) => {
    const id = x.key === undefined ? `\u0000${i}` : x.key;
    const group = groups.get(id);
    if (group) group.rows.push(x.row);
    else groups.set(id, { key: x.key, rows: [x.row] });
  });
  return [...groups.values()].map(({ key, rows }) => {
    if (rows.length === 1) return { key, row: { ...rows[0], trials: 1 } };
    const names = new Set(rows.flatMap((r) => Object.keys(r.scores || {})));
    const scores: Record<string, number> = {};
    for (const n of names) {
      const values = rows.map((r) => r.scores?.[n]).filter((v): v is number => typeof v === "number");
      if (values.length) scores[n] = values.reduce((a, b) => a + b, 0) / values.length;
    }
    return { key, row: { ...rows[0], scores, trials: rows.length } };
  });
}

/** The compare screen's `base` for the baseline "(none)" (no `base` is the default one). */
const NO_BASE = "none";
/** The compare screen's `key` for rows matched on their whole input (no `key` is the project's). */
const WHOLE_INPUT = "input";

/** The compare screen's `exp`: the compared experiments' ids, comma-separated (`exp=a,b`), each
 * once. The first is "the experiment" (its default baseline is the server's, Swap exchanges it
 * with the baseline); the others are compared with the same baseline. */
function parseExpIds(value: string | null): string[] {
  return [...new Set((value || "").split(",").map((s) => s.trim()).filter(Boolean))];
}

/** Matched rows: one per key (the input, or the comparison key) of any compared experiment, in
 * the order the first experiment lists them, then the keys only the next ones have; `runs[i]` is
 * the i-th compared experiment's row of that key (null: it has none), `base` the baseline's. The
 * first experiment's fields are on the row itself (as with one experiment compared). */
function matchRows(base: Keyed[], runs: Keyed[][]): any[] {
  const baseByKey = new Map(base.filter((x) => x.key !== undefined).map((x) => [x.key, x.row]));
  const out: any[] = [];
  const byKey = new Map<string, any>();
  runs.forEach((list, i) => {
    for (const { row, key } of list) {
      let r = key !== undefined ? byKey.get(key) : undefined;
      if (!r) {
        r = { key, input: row.input, base: (key !== undefined && baseByKey.get(key)) || null, runs: runs.map(() => null) };
        out.push(r);
        if (key !== undefined) byKey.set(key, r);
      }
      r.runs[i] = row;
    }
  });
  return out.map((r) => {
    const first = r.runs.find(Boolean);
    return { ...(r.runs[0] || {}), ...r, id: first.id, trials: Math.max(...r.runs.map((x: any) => x?.trials ?? 0)) };
  });
}

function Compare({ project }: { project: Project }) {
  const { params } = useRoute();
  const expParam = params.get("exp") || "";
  const expIds = useMemo(() => parseExpIds(expParam), [expParam]);
  const expId = expIds[0] || "";
  const [experiments, setExperiments] = useState<any[] | null>(null);
  const exp = experiments?.find((e) => e.id === expId);
  const nameOf = (id: string) => experiments?.find((e) => e.id === id)?.name;
  // The project's default baseline (Braintrust's project settings.baseline_experiment_id).
  const [settings, setSettings] = useState<Record<string, any>>({});
  const projectBase: string = settings.baseline_experiment_id || "";
  // The default baseline is the server's (what summarize() in the SDK compares with): the
  // experiment's base while it exists, else the project's default, else the previous one.
  // null while the server is asked; "" when it has none (a project's first experiment).
  // Kept with the experiment it is of: another experiment's (the one shown before a swap or a
  // link) is not this one's.
  const [defaultBaseOf, setDefaultBaseOf] = useState<{ exp: string; base: string } | null>(null);
  const defaultBase = defaultBaseOf && defaultBaseOf.exp === expId ? defaultBaseOf.base : null;
  // Asked again after "Set as baseline" and "Make project default", which change it: a later
  // `compare?exp=<id>` in this page showed the default as it was before.
  const [baseChanges, setBaseChanges] = useState(0);
  useEffect(() => {
    if (!expId) return;
    // An answer for the experiment shown before (a swap, a link) arriving late is dropped: it
    // set that experiment's baseline ("none" for a project's first) on this one.
    let current = true;
    request("api/base_experiment/get_id", { body: { id: expId } })
      .then((r) => current && setDefaultBaseOf({ exp: expId, base: r.base_exp_id || "" }))
      .catch(() => current && setDefaultBaseOf({ exp: expId, base: "" })); // 400: none
    return () => {
      current = false;
    };
  }, [expId, baseChanges]);
  // The baseline "(none)" is `base=none` in the URL: without a `base` the default came back
  // (picking "(none)" did nothing, and a link could not say it).
  const baseParam = params.get("base") || "";
  const baseId = baseParam === NO_BASE ? "" : baseParam || defaultBase || "";
  // The experiments compared with the baseline: the first, and the others but the baseline.
  const compared = expId ? [expId, ...expIds.slice(1).filter((id) => id !== baseId)] : [];
  const comparedKey = compared.join(",");
  const many = compared.length > 1;
  // Nothing to load (the table said "Loading…" for ever): an experiment that is not in this
  // project (deleted, a link's typo), or one without a baseline until one is picked.
  const missingIds = experiments === null ? [] : compared.filter((id) => !experiments.some((e) => e.id === id));
  const missing = missingIds.length > 0;
  const noBase = !baseId && (baseParam === NO_BASE || defaultBase === "");
  // "improved:<score>" | "regressed:<score>"; `in`: the compared experiment it is of (none:
  // any of them).
  const only = params.get("only") || "";
  const onlyIn = params.get("in") || "";
  const [summaries, setSummaries] = useState<any[] | null>(null);
  const [diff, setDiff] = useState<any | null>(null);
  const [rows, setRows] = useState<any[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    request("v1/experiment", { query: { project_id: project.id, limit: "1000" } })
      .then((r) => setExperiments(r.objects))
      .catch((e) => setError(e.message));
    request(`v1/project/${project.id}`).then((p) => setSettings(p.settings || {})).catch(() => {});
  }, [project.id]);

  // Each button sends only the setting it changes (the server merges it into the stored
  // settings): the whole object the page loaded put back what another tab changed meanwhile.
  const makeProjectDefault = () =>
    request(`v1/project/${project.id}`, { method: "PATCH", body: { settings: { baseline_experiment_id: baseId } } })
      .then((p) => {
        setSettings(p.settings || {});
        setBaseChanges((n) => n + 1);
      })
      .catch((e) => setError(String(e.message || e)));

  // Rows are matched on their input, or on a BTQL expression over the root span (the
  // comparison key: in the URL, else the project's settings.comparison_key).
  // `key=input` (the field cleared) is the whole input also in a project that has a key:
  // without a `key` the project's came back (the field showed nothing, rows matched on it).
  const projectKey = (settings.comparison_key ?? "").trim();
  const keyField = (params.get("key") ?? projectKey).trim(); // as the field shows it
  const keyExpr = keyField === WHOLE_INPUT ? "" : keyField; // "": the whole input
  const [keyText, setKeyText] = useState(keyField);
  useEffect(() => setKeyText(keyField), [keyField]);
  const applyKey = () => setParams({ key: keyText.trim() || (projectKey ? WHOLE_INPUT : "") });

  useEffect(() => {
    // (Nothing to compare any more — no experiment, or the baseline "(none)" — shows no rows
    // and no summary: the previous comparison's stayed on the screen.)
    setRows(null);
    setSummaries(null);
    const ids = comparedKey ? comparedKey.split(",") : [];
    if (!ids.length || !baseId) return;
    setError(null);
    // Traces matched on the key the table matches rows on (the URL's, else the project's;
    // "": the whole input), not on the project's saved one.
    // Answers of a comparison no longer shown (a swap, another baseline) are dropped.
    let current = true;
    Promise.all(
      ids.map((id) => request(`v1/experiment/${id}/summarize?comparison_key=${encodeURIComponent(keyExpr)}`, { query: { comparison_experiment_id: baseId } })),
    )
      .then((s) => current && setSummaries(s))
      .catch((e) => current && setError(e.message));
    // Each experiment's rows in one query (its pages of 1000), not one request per row.
    const keyed = (id: string) =>
      Promise.all([summaryRows(id), keyExpr ? comparisonKeys(id, keyExpr) : null]).then(([rs, keys]) =>
        byTrial(rs.map((r) => ({ row: r, key: keys ? keys.get(r.root_span_id) : canonical(r.input) }))),
      );
    Promise.all([keyed(baseId), ...ids.map(keyed)])
      .then(([b, ...runs]) => current && setRows(matchRows(b, runs)))
      .catch((e) => current && setError(e.message));
    return () => {
      current = false;
    };
  }, [comparedKey, baseId, keyExpr]);

  const scoreNames = useMemo(
    () => [...new Set((rows || []).flatMap((r) => [...r.runs.flatMap((x: any) => Object.keys(x?.scores || {})), ...Object.keys(r.base?.scores || {})]))].sort(),
    [rows],
  );
  // The i-th compared experiment's change of a score on a row, against the baseline's. Scores
  // equal but for float noise (0.1 + 0.2 against 0.3) are no change, as in the server's
  // summary (math.isclose with rel_tol 1e-9, abs_tol 1e-12).
  const delta = (r: any, n: string, i: number) => {
    const run = r.runs?.[i];
    if (!r.base || run?.scores?.[n] == null || r.base.scores?.[n] == null) return null;
    const [a, b] = [run.scores[n], r.base.scores[n]];
    return Math.abs(a - b) <= Math.max(1e-9 * Math.max(Math.abs(a), Math.abs(b)), 1e-12) ? 0 : a - b;
  };
  // Improvements and regressions per compared experiment and score, over the rows as matched
  // here (on the input, as the server's summary counts them, or on the comparison key).
  const changes = useMemo(
    () =>
      compared.map((_id, i) => {
        const out: Record<string, { improvements: number; regressions: number }> = {};
        for (const n of scoreNames) {
          const ds = (rows || []).map((r) => delta(r, n, i)).filter((d): d is number => d !== null);
          out[n] = { improvements: ds.filter((d) => d > 0).length, regressions: ds.filter((d) => d < 0).length };
        }
        return out;
      }),
    [rows, scoreNames, comparedKey], // eslint-disable-line react-hooks/exhaustive-deps
  );
  // A row's change, as one sort key: the sum of its score drops (in every compared
  // experiment) when one dropped (negative), else the sum of its gains (positive), else 0.
  const change = (r: any) => {
    const ds = compared.flatMap((_id, i) => scoreNames.map((n) => delta(r, n, i) ?? 0));
    const down = ds.reduce((s, d) => s + Math.min(0, d), 0);
    return down < 0 ? down : ds.reduce((s, d) => s + Math.max(0, d), 0);
  };
  const shown = useMemo(() => {
    let out = rows || [];
    if (only) {
      // "improved:<score>": the score's name may hold colons itself (ragas:faithfulness).
      const kind = only.slice(0, only.indexOf(":"));
      const name = only.slice(only.indexOf(":") + 1);
      // Of one compared experiment (`in`), else of any of them.
      const inIdx = compared.indexOf(onlyIn);
      const which = inIdx >= 0 ? [inIdx] : compared.map((_id, i) => i);
      out = out.filter((r) =>
        which.some((i) => {
          const d = delta(r, name, i);
          return d !== null && (kind === "improved" ? d > 0 : d < 0);
        }),
      );
    }
    return out;
  }, [rows, only, onlyIn, scoreNames, comparedKey]); // eslint-disable-line react-hooks/exhaustive-deps

  // One column group per compared experiment: its output, each score with its change against
  // the baseline, its duration's change. The first one's columns keep their ids (output, d:<score>,
  // duration); the i-th's are prefixed `x<i>.`. With several, each header names its experiment.
  const group = (id: string, i: number): ColumnDef<any, any>[] => {
    const prefix = i === 0 ? "" : `x${i}.`;
    const of = many ? ` (${nameOf(id) ?? "experiment"})` : "";
    return [
      {
        id: prefix + "output",
        header: `Output (${nameOf(id) ?? "experiment"})`,
        size: 200,
        accessorFn: (r) => preview(r.runs[i]?.output),
        cell: (c) => c.getValue(),
      },
      ...scoreNames.map(
        (n): ColumnDef<any, any> => ({
          id: `${prefix}d:${n}`,
          header: `${n} Δ${of}`,
          size: 150,
          accessorFn: (r) => delta(r, n, i),
          sortUndefined: "last",
          cell: (c) => {
            const run = c.row.original.runs[i];
            const d = c.getValue() as number | null;
            return (
              <span>
                {pct(run?.scores?.[n])}{" "}
                {d !== null && d !== 0 && (
                  <span className={d > 0 ? "up" : "down"} data-testid={d > 0 ? "improved" : "regressed"}>
                    {d > 0 ? "▲ +" : "▼ "}
                    {(d * 100).toFixed(1)}
                  </span>
                )}
              </span>
            );
          },
        }),
      ),
      {
        id: prefix + "duration",
        header: `Duration Δ (s)${of}`,
        size: 120,
        accessorFn: (r) => (r.base && r.runs[i] ? (r.runs[i].metrics?.duration ?? 0) - (r.base.metrics?.duration ?? 0) : null),
        cell: (c) => fmtNumber(c.getValue(), 3),
      },
    ];
  };
  const columns: ColumnDef<any, any>[] = [
    {
      id: "input",
      header: "Input",
      size: 260,
      accessorFn: (r) => preview(r.input),
      cell: (i) => (
        <span>
          {i.getValue()}
          {i.row.original.trials > 1 && (
            <span className="muted" title="trials of this input: scores are their averages" data-testid="trials">
              {" "}
              ×{i.row.original.trials}
            </span>
          )}
        </span>
      ),
    },
    { id: "base_output", header: `Output (${nameOf(baseId) ?? "baseline"})`, size: 200, accessorFn: (r) => preview(r.base?.output), cell: (i) => i.getValue() },
    ...compared.flatMap(group),
    {
      id: "regressions",
      header: "Change",
      size: 110,
      accessorFn: change,
      cell: (i) => {
        const v = i.getValue() as number;
        if (!v) return "";
        const title = `${v > 0 ? "+" : ""}${(v * 100).toFixed(1)} points over the scores${many ? " of every compared experiment" : ""}`;
        return (
          <span className={v < 0 ? "down" : "up"} title={title}>
            {v < 0 ? "regression" : "improvement"}
          </span>
        );
      },
    },
  ];
  // A filter of the summary cards: the score's rows improved (regressed) in the card's
  // experiment (`in`, with several compared); a second click shows every row again.
  const toggleOnly = (kind: string, name: string, id: string) => {
    const on = only === `${kind}:${name}` && (!many || onlyIn === id);
    setParams({ only: on ? undefined : `${kind}:${name}`, in: on || !many ? undefined : id });
  };
  const setExps = (ids: string[]) => setParams({ exp: ids.join(",") });

  return (
    <div className="page">
      <div className="toolbar">
        <a href={href(["p", project.id, "experiments"])}>← Experiments</a>
        <label>
          Experiment{" "}
          <select
            value={expId}
            // The baseline picked as the experiment: the two swap (it was compared with itself,
            // the baseline menu showing "(none)").
            onChange={(e) => {
              const rest = expIds.slice(1).filter((id) => id !== e.target.value);
              setParams(
                e.target.value === baseId ? { exp: [e.target.value, ...rest].join(","), base: expId } : { exp: [e.target.value, ...rest].join(",") },
              );
            }}
            data-testid="compare-exp"
          >
            {!expId && <option value="">Pick one…</option>}
            {(experiments || []).map((e) => (
              <option key={e.id} value={e.id}>
                {e.name}
              </option>
            ))}
          </select>
        </label>
        {compared.slice(1).map((id) => (
          <span className="compare-also" key={id} data-testid="compare-also">
            {nameOf(id) ?? id}{" "}
            <button className="link" title="Stop comparing this experiment" data-testid="compare-remove" onClick={() => setExps(expIds.filter((x) => x !== id))}>
              ×
            </button>
          </span>
        ))}
        {expId && (
          <select
            value="" // (it shows its prompt again once one is added)
            data-testid="compare-add"
            title="Compare one more experiment with the baseline"
            onChange={(e) => e.target.value && setExps([...expIds, e.target.value])}
          >
            <option value="">+ Experiment…</option>
            {(experiments || [])
              .filter((e) => e.id !== baseId && !compared.includes(e.id))
              .map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name}
                </option>
              ))}
          </select>
        )}
        <label>
          Baseline{" "}
          <select
            value={baseId || NO_BASE}
            // (one of the compared experiments picked as the baseline stops being compared)
            onChange={(e) => setParams({ base: e.target.value })}
            data-testid="compare-base"
          >
            <option value={NO_BASE}>(none)</option>
            {(experiments || [])
              .filter((e) => e.id !== expId)
              .map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name}
                </option>
              ))}
          </select>
        </label>
        {expId && baseId && (
          <button
            onClick={() => setParams({ exp: [baseId, ...expIds.slice(1).filter((id) => id !== baseId)].join(","), base: expId })}
            data-testid="compare-swap"
            title={`Compare the baseline with ${many ? "the others and " : ""}this experiment instead`}
          >
            ⇄ Swap
          </button>
        )}
        {exp && baseId && baseId !== exp.id && exp.base_exp_id !== baseId && (
          <button
            onClick={() =>
              request(`v1/experiment/${exp.id}`, { method: "PATCH", body: { base_exp_id: baseId } })
                .then(() => {
                  setExperiments((experiments || []).map((e) => (e.id === exp.id ? { ...e, base_exp_id: baseId } : e)));
                  setBaseChanges((n) => n + 1);
                })
                .catch((e) => setError(e.message))
            }
            data-testid="set-baseline"
            title={`Make it ${exp.name}'s baseline (its base_exp_id)`}
          >
            Set as baseline
          </button>
        )}
        <label title="A BTQL expression over each trace's root span, e.g. input.question or metadata.case_id; empty: the whole input">
          Match rows on{" "}
          <input
            data-testid="compare-key"
            value={keyText}
            placeholder="input"
            onChange={(e) => setKeyText(e.target.value)}
            onKeyDown={(e) => e.key === "Enter" && applyKey()}
            onBlur={() => keyText.trim() !== keyField && applyKey()}
          />
        </label>
        {keyExpr !== (projectKey === WHOLE_INPUT ? "" : projectKey) && (
          <button
            data-testid="save-compare-key"
            onClick={() =>
              request(`v1/project/${project.id}`, { method: "PATCH", body: { settings: { comparison_key: keyExpr || null } } })
                .then((p) => setSettings(p.settings || {}))
                .catch((e) => setError(String(e.message || e)))
            }
          >
            Save as the project's key
          </button>
        )}
        {baseId && baseId === projectBase ? (
          <span className="muted" data-testid="project-baseline">project default</span>
        ) : (
          baseId && (
            <button onClick={makeProjectDefault} data-testid="make-project-baseline" title="Compare every experiment of this project with it unless the experiment names its own baseline">
              Make project default
            </button>
          )
        )}
      </div>
      {error && <div className="error">{error}</div>}
      {missingIds.map((id) => (
        <div className="error" data-testid="compare-missing" key={id}>
          No experiment with id <code>{id}</code> in this project: it was deleted, or the link names another one.
        </div>
      ))}
      {!expId && (
        <div className="muted" data-testid="compare-no-exp">
          Pick the experiment to compare (the link names none).
        </div>
      )}
      {!missing && noBase && (
        <div className="muted" data-testid="compare-no-base">
          {baseParam === NO_BASE
            ? "Baseline “(none)”: nothing to compare with. Pick a baseline to compare."
            : "This experiment has no baseline (no base experiment, no project default, no earlier experiment): pick one to compare with."}
        </div>
      )}
      {summaries && (
        <div data-testid="compare-summary">
          {summaries.map((summary, i) => (
            <div className="summary-cards" key={compared[i]} data-testid="compare-summary-exp" data-exp={compared[i]}>
              {many && (
                <div className="summary-exp" data-testid="compare-summary-name">
                  {nameOf(compared[i])}
                  <div className="muted">vs {nameOf(baseId)}</div>
                </div>
              )}
              {Object.values(summary.scores || {}).map((s: any) => (
                <div className="card" key={s.name} data-testid="score-card" data-score={s.name}>
                  <div className="muted">{s.name}</div>
                  <div className="big" data-testid="score-avg">
                    {pct(s.score)}
                  </div>
                  <div className={s.diff > 0 ? "up" : s.diff < 0 ? "down" : ""} data-testid="score-diff">
                    {s.diff != null ? `${s.diff > 0 ? "+" : ""}${(s.diff * 100).toFixed(1)} pts` : ""}
                  </div>
                  <button className="link up" onClick={() => toggleOnly("improved", s.name, compared[i])} data-testid="filter-improved">
                    {changes[i]?.[s.name]?.improvements ?? s.improvements} improvements
                  </button>{" "}
                  <button className="link down" onClick={() => toggleOnly("regressed", s.name, compared[i])} data-testid="filter-regressed">
                    {changes[i]?.[s.name]?.regressions ?? s.regressions} regressions
                  </button>
                </div>
              ))}
              {Object.values(summary.metrics || {}).map((m: any) => (
                <div className="card" key={m.name} data-testid="metric-card" data-metric={m.name}>
                  <div className="muted">{m.name}</div>
                  <div className="big">
                    {fmtNumber(m.metric, 3)} {m.unit}
                  </div>
                  {/* The change relative to the baseline's mean (1.2 s against 1.0 s: +20%). */}
                  <div className={m.diff < 0 ? "up" : m.diff > 0 ? "down" : ""} data-testid="metric-diff">
                    {m.diff != null ? `${m.diff > 0 ? "+" : ""}${(m.diff * 100).toFixed(1)}%` : ""}
                  </div>
                </div>
              ))}
            </div>
          ))}
        </div>
      )}
      {only && (
        <div className="muted" data-testid="compare-only">
          Showing rows {only.replace(":", " on ")}
          {many && ` in ${onlyIn && compared.includes(onlyIn) ? nameOf(onlyIn) : "any compared experiment"}`} ·{" "}
          <button className="link" onClick={() => setParams({ only: undefined, in: undefined })}>
            show all
          </button>
        </div>
      )}
      <div className="toolbar">
        <button onClick={() => setParams({ sort: "regressions" })} data-testid="sort-regressions">
          Sort by regressions
        </button>
      </div>
      <CompareTable columns={columns} rows={shown} sortByRegressions={params.get("sort") === "regressions"} loading={!rows && !error && !missing && !noBase && !!expId} onOpen={setDiff} />
      {diff && <DiffView row={diff} names={compared.map((id) => nameOf(id) ?? "experiment")} baseName={nameOf(baseId)} onClose={() => setDiff(null)} />}
    </div>
  );
}

/** Diff mode: one matched row, field by field, each compared experiment beside the baseline
 * (a field that differs from the baseline's is marked). */
function DiffView({ row, names, baseName, onClose }: { row: any; names: string[]; baseName?: string; onClose: () => void }) {
  const fields = ["output", "expected", "scores", "metrics"];
  const width = { width: `${Math.floor(90 / (names.length + 1))}%` }; // (each column alike)
  return (
    <Dialog testId="diff-view" wide closeOnBackdrop onClose={onClose}>
      <h3>Row comparison</h3>
      <h4>Input</h4>
      <div className="json">
        <Json value={row.input} />
      </div>
      <table className="simple diff">
        <thead>
          <tr>
            <th />
            {names.map((name, i) => (
              <th key={i} data-testid="diff-exp">
                {name}
              </th>
            ))}
            <th data-testid="diff-base">{baseName ?? "baseline"}</th>
          </tr>
        </thead>
        <tbody>
          {fields.map((f) => (
            <tr key={f} data-field={f}>
              <th>{f}</th>
              {names.map((_name, i) => (
                <td key={i} style={width} className={JSON.stringify(row.runs?.[i]?.[f]) !== JSON.stringify(row.base?.[f]) ? "changed" : ""}>
                  <div className="json">{row.runs?.[i] ? <Json value={row.runs[i][f]} /> : <span className="muted">no row</span>}</div>
                </td>
              ))}
              <td style={width}>
                <div className="json">
                  <Json value={row.base?.[f]} />
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="buttons">
        <button onClick={onClose}>Close</button>
      </div>
    </Dialog>
  );
}

function CompareTable({
  columns,
  rows,
  sortByRegressions,
  loading,
  onOpen,
}: {
  columns: ColumnDef<any, any>[];
  rows: any[];
  sortByRegressions: boolean;
  loading: boolean;
  onOpen: (row: any) => void;
}) {
  const regression = columns.find((c) => c.id === "regressions") as any;
  const data = sortByRegressions ? [...rows].sort((a, b) => regression.accessorFn(a) - regression.accessorFn(b)) : rows;
  return <DataTable testId="compare-table" columns={columns} data={data} onRowClick={onOpen} empty={loading ? "Loading…" : "No rows"} />;
}
