// The BTQL sandbox: editor, results table or chart, downloads and saved queries (on the server
// as the project's sandbox views, see sandboxSaved.ts; the URL carries the query to share it).
import { ColumnDef } from "@tanstack/react-table";
import { useEffect, useMemo, useState } from "react";
import type { Project } from "../App";
import { ApiError, btql, downloadBtql, FORMATS } from "../api";
import { BarChart } from "../components/BarChart";
import { BtqlEditor, fieldPaths, QueryErrorMark } from "../components/BtqlEditor";
import { withHint } from "../components/btqlHints";
import { DataTable, preview } from "../components/DataTable";
import { setParams, useRoute } from "../router";
import { unboundedLogsQuery } from "./sandboxRange";
import { Saved, SavedStore, savedStore } from "./sandboxSaved";

/** Dimension and measure aliases of a grouped query, for the chart. */
function groupedAliases(query: string, row: any): { dims: string[]; measures: string[] } | null {
  if (!/\bdimensions\s*:/i.test(query) && !/\bgroup\s+by\b/i.test(query)) return null;
  if (!row) return null;
  const keys = Object.keys(row);
  const measures = keys.filter((k) => typeof row[k] === "number");
  const dims = keys.filter((k) => !measures.includes(k));
  return measures.length ? { dims: dims.length ? dims : [keys[0]], measures } : null;
}

export function Sandbox({ project }: { project: Project }) {
  const { params } = useRoute();
  const initial = params.get("q") || `select: id, created, input, output, scores\nfrom: project_logs('${project.name}')\nlimit: 20`;
  const [text, setText] = useState(initial);
  const [ran, setRan] = useState<string | null>(null);
  const [rows, setRows] = useState<any[]>([]);
  const [error, setError] = useState<(QueryErrorMark & {}) | null>(null);
  const [generalError, setGeneralError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [ms, setMs] = useState<number | null>(null);
  const [view, setView] = useState<"table" | "chart">("table");
  const [fields, setFields] = useState<string[]>([]);
  const [saved, setSaved] = useState<Saved[]>([]);
  const [store, setStore] = useState<SavedStore | null>(null);
  const [savedError, setSavedError] = useState<string | null>(null);
  // Follow the URL's query (a shared link opened on this screen, back and forward): the editor
  // read it once and kept showing the query before. Run writes its query there, a no-op here.
  const urlQuery = params.get("q");
  useEffect(() => {
    if (urlQuery === null || urlQuery === text) return;
    setText(urlQuery);
    setError(null);
    setGeneralError(null);
  }, [urlQuery]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    let live = true;
    savedStore(project.id)
      .then(async (s) => {
        const list = await s.list();
        if (!live) return;
        setStore(s);
        setSaved(list);
      })
      .catch((e) => live && setSavedError(e.message));
    return () => {
      live = false;
    };
  }, [project.id]);
  const change = async (fn: (s: SavedStore) => Promise<void>) => {
    if (!store) return;
    setSavedError(null);
    try {
      await fn(store);
      setSaved(await store.list());
    } catch (e: any) {
      setSavedError(e.message);
    }
  };

  useEffect(() => {
    btql(`select: metadata, scores, metrics, span_attributes | from: project_logs('${project.id}') | limit: 50`)
      .then((r) => setFields(fieldPaths(r.data)))
      .catch(() => {});
  }, [project.id]);

  const run = async (q = text) => {
    setBusy(true);
    setError(null);
    setGeneralError(null);
    setParams({ q });
    const t0 = performance.now();
    try {
      const res = await btql(q);
      setRows(res.data);
      setRan(q);
      setMs(Math.round(performance.now() - t0));
      setFields((f) => [...new Set([...f, ...fieldPaths(res.data.slice(0, 50))])]);
    } catch (e: any) {
      const err = e as ApiError;
      setRows([]);
      setRan(null);
      if (err.line !== undefined && err.col !== undefined) setError({ line: err.line, col: err.col, message: withHint(err.detail) });
      else setGeneralError(err.message);
    } finally {
      setBusy(false);
    }
  };

  const columns: ColumnDef<any, any>[] = useMemo(() => {
    const keys: string[] = [];
    for (const r of rows.slice(0, 200)) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
    return keys.map((k) => ({
      id: k,
      header: k,
      accessorFn: (r: any) => r[k],
      size: 160,
      cell: (info: any) => preview(info.getValue(), 300),
      sortingFn: "basic",
    }));
  }, [rows]);
  const grouped = ran ? groupedAliases(ran, rows[0]) : null;
  // A query over project logs without a bound on time or ids reads the whole project.
  const unbounded = unboundedLogsQuery(text);

  const save = () => {
    const name = prompt("Name of the saved query", saved.find((s) => s.query === text)?.name || "")?.trim();
    if (!name) return;
    // Another query saved under that name is replaced only when the user says so.
    const existing = saved.find((s) => s.name === name);
    if (existing && existing.query !== text && !confirm(`A saved query is named “${name}”: replace it with this one?`)) return;
    change((st) => st.save(name, text, existing));
  };

  return (
    <div className="sandbox">
      <aside className="saved" data-testid="saved-queries">
        <h4>Saved queries</h4>
        {store && (
          <div className="muted" data-testid="saved-where">
            {store.where === "server" ? "shared, on the server" : "in this browser"}
          </div>
        )}
        {savedError && <div className="error" data-testid="saved-error">{savedError}</div>}
        {store && saved.length === 0 && <div className="muted">None yet</div>}
        {saved.map((s) => (
          <div key={s.id || s.name} className="saved-item" data-testid="saved-query">
            <button className="link" onClick={() => setText(s.query)} title={s.query} data-testid="saved-open">
              {s.name}
            </button>
            <span>
              <button
                className="icon"
                title="Rename"
                data-testid="saved-rename"
                onClick={() => {
                  const name = prompt("New name", s.name)?.trim();
                  if (name && name !== s.name) change((st) => st.rename(s, name));
                }}
              >
                ✎
              </button>
              <button
                className="icon"
                title="Delete"
                data-testid="saved-delete"
                // Shared with the organization: deleted only once the user says so, as every delete.
                onClick={() => confirm(`Delete the saved query “${s.name}”? It is shared with the organization.`) && change((st) => st.remove(s))}
              >
                ×
              </button>
            </span>
          </div>
        ))}
      </aside>
      <div className="sandbox-main">
        <BtqlEditor testId="sandbox-editor" value={text} onChange={setText} onSubmit={() => run()} fields={fields} error={error} minHeight="8em" />
        <div className="toolbar">
          <button onClick={() => run()} disabled={busy} data-testid="run-query" className="primary">
            {busy ? "Running…" : "Run (Ctrl+Enter)"}
          </button>
          <button
            onClick={save}
            // (until the saved queries are loaded: a Save before did nothing, the name asked for lost)
            disabled={!store}
            title={store ? undefined : "Loading the saved queries…"}
            data-testid="save-query"
          >
            Save
          </button>
          <span className="segmented">
            <button className={view === "table" ? "on" : ""} onClick={() => setView("table")}>
              Table
            </button>
            <button className={view === "chart" ? "on" : ""} onClick={() => setView("chart")} disabled={!grouped} data-testid="view-chart">
              Chart
            </button>
          </span>
          <span>Download:</span>
          {FORMATS.map((f) => (
            <button
              key={f}
              disabled={!ran}
              onClick={() => {
                if (!ran) return;
                setGeneralError(null);
                // A download the server refuses (the data gone since the run, a format it cannot
                // write) says why: it failed without a word.
                downloadBtql(ran, f, `query.${f}`).catch((e) => setGeneralError(`Not downloaded as ${f}: ${e.message}`));
              }}
              data-testid={`download-${f}`}
            >
              {f}
            </button>
          ))}
          {ran && (
            <span className="muted" data-testid="result-count">
              {rows.length.toLocaleString()} rows in {ms} ms
            </span>
          )}
        </div>
        {unbounded && (
          <div className="warning" data-testid="range-warning">
            This query reads all of the project's logs: filter on <code>created</code>, <code>_xact_id</code>, <code>_pagination_key</code> or{" "}
            <code>root_span_id</code> to bound it.
          </div>
        )}
        {error && (
          <div className="error" data-testid="query-error">
            {error.message} (line {error.line}, column {error.col})
          </div>
        )}
        {generalError && (
          <div className="error" data-testid="query-error">
            {generalError}
          </div>
        )}
        {view === "chart" && grouped ? (
          <BarChart rows={rows} x={grouped.dims[0]} ys={grouped.measures} />
        ) : (
          <DataTable testId="results-table" columns={columns} data={rows} empty={ran ? "No rows" : "Run a query"} />
        )}
      </div>
    </div>
  );
}
