// Datasets: the list, and a dataset's rows (chosen columns, server-side sort) with inline edit,
// attachments, delete, copy to another dataset and review (each row's review state; `row=` in
// the URL opens a row's editor, as the review queue does, and a click on a row sets it); the Runs
// tab and a row's runs are in DatasetRuns.tsx.
import { ColumnDef } from "@tanstack/react-table";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Project } from "../App";
import { ApiError, btql, downloadExport, FORMATS, lit, request } from "../api";
import { fieldPaths } from "../components/BtqlEditor";
import { withHint } from "../components/btqlHints";
import { ColumnChooser, DataTable, fmtTime, Sort } from "../components/DataTable";
import { NotLoaded } from "../components/NotLoaded";
import { href, setParams, useRoute } from "../router";
import { cellText, columnsFor, DEFAULT_COLUMNS, ExpressionColumns } from "./datasetColumns";
import { RowEditor } from "./DatasetRowEditor";
import { DatasetSchemas } from "./DatasetSchemas";
import { DatasetVersions } from "./DatasetVersions";
import { DatasetList } from "./DatasetList";
import { DatasetRuns } from "./DatasetRuns";
import type { Item } from "./Review";
import { UploadDialog } from "./Upload";
import { Cond, condExpr, filterErrorMessage, mapErrorToFilter, wrapExpr } from "./logsQuery";
import { CondsEditor } from "./Logs";
import { Dialog } from "../components/Dialog";

/** The Basic filter's fields offered first (the field paths seen in the rows follow). */
const DATASET_COND_FIELDS = ["id", "input", "expected", "metadata.", "tags", "created", "origin."];

export function Datasets({ project, sub }: { project: Project; sub: string[] }) {
  // (keyed: another dataset's URL in this tab starts afresh, without the last one's row editor)
  if (sub[0]) return <DatasetRows key={sub[0]} project={project} datasetId={sub[0]} />;
  return <DatasetList project={project} />;
}

function DatasetRows({ project, datasetId }: { project: Project; datasetId: string }) {
  const { params } = useRoute();
  const tab = params.get("tab") || "rows";
  const version = params.get("version") || undefined; // viewing an old version, read-only
  const filter = params.get("filter") || "";
  const q = params.get("q") || "";
  // The Basic tab's conditions (as the logs screen's), in the URL as `conds`.
  const condsParam = params.get("conds") || "";
  const conds: Cond[] = useMemo(() => {
    try {
      const c = JSON.parse(condsParam || "[]");
      return Array.isArray(c) ? c : [];
    } catch {
      return []; // a hand-edited URL
    }
  }, [condsParam]);
  const where = [filter.trim() && wrapExpr(filter), ...conds.map((c) => condExpr(c)), q.trim() && `search(${lit(q.trim())})`].filter(Boolean).join(" AND ");
  const visible = params.get("cols")?.split(",").filter(Boolean) ?? DEFAULT_COLUMNS;
  const sortParam = params.get("sort");
  const sort: Sort = sortParam ? { id: sortParam.replace(/:(asc|desc)$/, ""), desc: sortParam.endsWith(":desc") } : null;
  const [saved, setSaved] = useState<{ name: string; expr: string }[]>([]);
  const loadSaved = useCallback(() => request(`v1/dataset/${datasetId}/columns`).then((r) => setSaved(r.objects), () => setSaved([])), [datasetId]);
  useEffect(() => {
    loadSaved();
  }, [loadSaved]);
  const allCols = useMemo(() => columnsFor(visible, saved), [visible.join(","), saved]); // eslint-disable-line react-hooks/exhaustive-deps
  const sortExpr = sort ? allCols.find((c) => c.id === sort.id)?.sort : undefined;
  const sortClause = sortExpr ? `sort: ${sortExpr} ${sort!.desc ? "desc" : "asc"}` : "";
  const [dataset, setDataset] = useState<any>(null);
  const [rows, setRows] = useState<any[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [editing, setEditing] = useState<any | null>(null);
  const [copying, setCopying] = useState<any | null>(null);
  const [fmt, setFmt] = useState("csv");
  const [error, setError] = useState<string | null>(null);
  const [uploading, setUploading] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [reviews, setReviews] = useState<Record<string, Item>>({});
  const loadReviews = useCallback(
    () =>
      request("v1/review_item", { query: { object_id: datasetId } })
        .then((r) => setReviews(Object.fromEntries(r.objects.filter((i: Item) => i.object_type === "dataset").map((i: Item) => [i.row_id, i]))))
        .catch(() => setReviews({})),
    [datasetId],
  );
  useEffect(() => {
    loadReviews();
  }, [loadReviews]);
  // row= (from the review queue): open that row's editor.
  const rowParam = params.get("row");
  const openedRow = useRef<string | null>(null);
  useEffect(() => {
    // The URL's row gone (back, a link): its editor closes; another row's editor opens in its place.
    const before = openedRow.current;
    openedRow.current = rowParam;
    if (!rowParam) {
      if (before) setEditing((e: any) => (e?.id === before ? null : e));
      return;
    }
    btql(`select: * | from: dataset(${lit(datasetId)}) | filter: id = ${lit(rowParam)} | limit: 1`)
      .then((res) => (res.data[0] ? setEditing(res.data[0]) : setError(`row ${rowParam} not found in this dataset`)))
      .catch((e) => setError(e.message));
  }, [datasetId, rowParam]);

  const generation = useRef(0); // a newer query (sort, filter) makes older answers stale
  const load = useCallback(
    async (c: string | null) => {
      const mine = c ? generation.current : ++generation.current;
      setLoading(true);
      try {
        // The filter on a line of its own (FILTER_LINE), so an error's position maps back into it.
        const res = await btql(
          [
            `from: dataset(${lit(datasetId)})`,
            "select: *",
            ...(where ? [`filter: ${where}`] : []),
            ...(sortClause ? [sortClause] : []),
            "limit: 100",
            ...(c ? [`cursor: ${lit(c)}`] : []),
          ].join("\n"),
          version,
        );
        if (mine !== generation.current) return;
        setRows((old) => (c ? [...old, ...res.data] : res.data));
        setCursor(res.cursor);
        setError(null);
      } catch (e: any) {
        if (mine !== generation.current) return;
        // An error in the filter says where in the filter (its position in the whole query meant nothing to the user).
        const pos = filter.trim() ? mapErrorToFilter(filter, e.line, e.col) : null;
        setError(pos ? `${withHint(filterErrorMessage(e.detail || e.message, pos))} (in the filter, line ${pos.line}, column ${pos.col})` : e.message);
        if (!c) setRows([]);
      } finally {
        if (mine === generation.current) setLoading(false);
      }
    },
    [datasetId, version, where, filter, sortClause],
  );
  const [loadError, setLoadError] = useState<ApiError | null>(null);
  useEffect(() => {
    setLoadError(null);
    request(`v1/dataset/${datasetId}`).then(setDataset, setLoadError);
    load(null);
  }, [datasetId, load]);

  const remove = async (r: any) => {
    if (!confirm("Delete this row?")) return;
    try {
      await request(`v1/dataset/${datasetId}/insert`, { body: { events: [{ id: r.id, _object_delete: true }] } });
      setRows((old) => old.filter((x) => x.id !== r.id));
    } catch (e: any) {
      setError(`Row not deleted: ${e.message}`);
    }
  };

  const columns: ColumnDef<any, any>[] = useMemo(
    () => [
      ...allCols.map(
        (c): ColumnDef<any, any> => ({
          id: c.id,
          header: c.label,
          size: c.size,
          enableSorting: !!c.sort,
          accessorFn: (r) => cellText(c, r),
          cell: (i) => i.getValue(),
        }),
      ),
      {
        id: "actions",
        header: "",
        size: 230,
        enableSorting: false,
        meta: { stickyEnd: true },
        cell: ({ row }) =>
          version ? null : (
            <span onClick={(e) => e.stopPropagation()}>
              <ReviewBadge item={reviews[row.original.id]} />
              <button onClick={() => setEditing(row.original)} data-testid="edit-row">Edit</button>{" "}
              <button onClick={() => setCopying(row.original)} data-testid="copy-row">Copy</button>{" "}
              <button onClick={() => remove(row.original)} data-testid="delete-row">Delete</button>
            </span>
          ),
      },
    ],
    [rows, version, allCols, reviews], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const fields = useMemo(() => fieldPaths(rows.slice(0, 200)).filter((p) => /^(input|expected|metadata|origin)\./.test(p)).sort(), [rows]);

  const tabs: [string, string][] = [
    ["rows", "Rows"],
    ["versions", "Versions"],
    ["schemas", "Field schemas"],
    ["runs", "Runs"],
  ];
  if (loadError)
    return <NotLoaded what="dataset" id={datasetId} error={loadError} back={href(["p", project.id, "datasets"])} backLabel="Datasets" />;
  return (
    <div className="page">
      <div className="toolbar">
        <a href={href(["p", project.id, "datasets"])}>← Datasets</a>
        <h2>{dataset?.name}</h2>
        {dataset && (
          <button
            className="link"
            data-testid="rename-dataset"
            title="Rename this dataset"
            onClick={async () => {
              const name = prompt("New name for the dataset", dataset.name)?.trim();
              if (!name || name === dataset.name) return;
              try {
                setDataset(await request(`v1/dataset/${datasetId}`, { method: "PATCH", body: { name } }));
                setError(null);
              } catch (e: any) {
                setError(`Not renamed to “${name}”: ${e.message}`);
              }
            }}
          >
            Rename…
          </button>
        )}
        <select value={fmt} onChange={(e) => setFmt(e.target.value)}>
          {FORMATS.map((f) => (
            <option key={f}>{f}</option>
          ))}
        </select>
        <button
          data-testid="dataset-export"
          title={version ? `Download the rows of version ${version} that match the filter and search` : "Download every row that matches the filter and search"}
          onClick={() =>
            downloadExport("dataset", datasetId, fmt, where, "spans", `${dataset?.name || "dataset"}${version ? `-v${version}` : ""}.${fmt}`, version).catch((e) =>
              setError(e.message),
            )
          }
        >
          Export
        </button>
        <button onClick={() => setEditing({})} disabled={!!version} data-testid="add-row">+ Row</button>
        <button onClick={() => setUploading(true)} disabled={!!version} data-testid="upload">Upload CSV/JSON</button>
      </div>
      <div className="subtabs">
        {tabs.map(([id, label]) => (
          <button key={id} className={tab === id ? "on" : ""} onClick={() => setParams({ tab: id === "rows" ? undefined : id })} data-testid={`dataset-tab-${id}`}>
            {label}
          </button>
        ))}
      </div>
      {error && (
        <div className="error" data-testid="dataset-error">
          {error}
        </div>
      )}
      {notice && <div className="ok" data-testid="notice">{notice}</div>}
      {tab === "versions" && (
        <DatasetVersions
          datasetId={datasetId}
          onView={(v) => setParams({ tab: undefined, version: v })}
          onRestored={() => load(null)}
        />
      )}
      {tab === "schemas" && <DatasetSchemas datasetId={datasetId} />}
      {tab === "runs" && <DatasetRuns project={project} datasetId={datasetId} />}
      {tab === "rows" && (
        <div className="toolbar">
          <RowFilter filter={filter} q={q} hasConds={conds.length > 0} />
          <span className="muted">Basic</span>
          <CondsEditor
            value={conds}
            fields={[...DATASET_COND_FIELDS, ...fields.filter((f) => !DATASET_COND_FIELDS.includes(f))]}
            onApply={(c) => setParams({ conds: c.length ? JSON.stringify(c) : undefined })}
          />
          <ColumnChooser
            all={allCols.map((c) => ({ id: c.id, label: c.id.startsWith("c:") ? `${c.label} (expression)` : c.label }))}
            visible={visible}
            onChange={(v) => setParams({ cols: v.join(",") })}
            fields={fields}
            extra={
              <ExpressionColumns
                datasetId={datasetId}
                saved={saved}
                readOnly={!!version}
                onSaved={(name) => {
                  loadSaved();
                  if (name && !visible.includes("c:" + name)) setParams({ cols: [...visible, "c:" + name].join(",") });
                  load(null); // rows with the column's values
                }}
              />
            }
          />
        </div>
      )}
      {tab === "rows" && version && (
        <div className="banner" data-testid="version-banner">
          Viewing version <code>{version}</code>, read-only. <button className="link" onClick={() => setParams({ version: undefined })}>Back to the current rows</button>
        </div>
      )}
      {tab === "rows" && (
        <DataTable
          testId="dataset-rows"
          columns={columns}
          data={rows}
          // (an old version is read-only: no actions column, which would stand blank over the last ones)
          visible={[...visible.filter((id) => allCols.some((c) => c.id === id)), ...(version ? [] : ["actions"])]}
          sort={sort}
          onSort={(next) => setParams({ sort: next ? `${next.id}:${next.desc ? "desc" : "asc"}` : undefined })}
          onEndReached={() => cursor && !loading && load(cursor)}
          onRowClick={
            version
              ? undefined
              : (r) => {
                  setEditing(r);
                  setParams({ row: r.id }); // the row's editor (and its Runs) in the URL
                }
          }
          empty={loading ? "Loading…" : "No rows"}
        />
      )}
      {editing && (
        <RowEditor
          key={editing.id ?? "new"}
          projectId={project.id}
          datasetId={datasetId}
          row={editing}
          onClose={(changed) => {
            setEditing(null);
            if (rowParam) setParams({ row: undefined });
            if (changed) load(null);
          }}
          onReview={(item) => setReviews((old) => ({ ...old, [item.row_id]: item }))}
        />
      )}
      {uploading && (
        <UploadDialog
          datasetId={datasetId}
          onClose={(n) => {
            setUploading(false);
            if (n) {
              setNotice(`Imported ${n.toLocaleString()} rows.`);
              load(null);
            }
          }}
        />
      )}
      {copying && <CopyRow project={project} datasetId={datasetId} row={copying} onClose={() => setCopying(null)} />}
    </div>
  );
}

/** A row's review state in the table, one glyph (the rest in its tooltip): ⚑ awaiting, ✓ reviewed. */
function ReviewBadge({ item }: { item?: Item }) {
  if (!item) return null;
  const done = item.status === "completed";
  const title = `${done ? "reviewed" : "awaiting review"}${item.assignee ? ` · assigned to ${item.assignee}` : ""}`;
  return (
    <>
      <span className="badge" title={title} data-status={item.status} data-testid="row-review">
        {done ? "✓" : "⚑"}
      </span>{" "}
    </>
  );
}

function CopyRow({ project, datasetId, row, onClose }: { project: Project; datasetId: string; row: any; onClose: () => void }) {
  const [datasets, setDatasets] = useState<any[]>([]);
  const [target, setTarget] = useState("");
  const [result, setResult] = useState<string | null>(null);
  useEffect(() => {
    request("v1/dataset", { query: { project_id: project.id } })
      .then((r) => {
        const others = r.objects.filter((d: any) => d.id !== datasetId);
        setDatasets(others);
        setTarget(others[0]?.id || "");
      })
      .catch((e) => setResult(`Datasets not loaded: ${e.message}`));
  }, [project.id, datasetId]);
  return (
    <Dialog testId="copy-dialog" onClose={onClose}>
      <h3>Copy the row to another dataset</h3>
      <p className="muted">The copy gets a new id and an origin pointing back at this row.</p>
      <select value={target} onChange={(e) => setTarget(e.target.value)} data-testid="copy-target">
        {datasets.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name}
          </option>
        ))}
      </select>
      <div className="buttons">
        <button
          disabled={!target}
          data-testid="confirm-copy"
          onClick={async () => {
            try {
              await request(`v1/dataset/${target}/copy_from`, { body: { source: { object_type: "dataset", id: datasetId }, filter: `id = ${lit(row.id)}` } });
              setResult("Copied.");
            } catch (e: any) {
              setResult(e.message);
            }
          }}
        >
          Copy
        </button>
        <button onClick={onClose}>Close</button>
      </div>
      {result && <div className={result === "Copied." ? "ok" : "error"}>{result}</div>}
    </Dialog>
  );
}

/** Experiments run on this dataset, newest first, with their average scores. */
/** Filter a dataset's rows with a BTQL expression and full-text search (kept in the URL). */
function RowFilter({ filter, q, hasConds }: { filter: string; q: string; hasConds: boolean }) {
  const [f, setF] = useState(filter);
  const [text, setText] = useState(q);
  useEffect(() => setF(filter), [filter]);
  useEffect(() => setText(q), [q]);
  return (
    <form
      className="toolbar"
      onSubmit={(e) => {
        e.preventDefault();
        setParams({ filter: f, q: text });
      }}
    >
      <input className="search" placeholder="Full-text search…" value={text} onChange={(e) => setText(e.target.value)} data-testid="dataset-search" />
      <input className="filter-input" placeholder="BTQL filter: metadata.topic = 'support'" value={f} onChange={(e) => setF(e.target.value)} data-testid="dataset-filter" />
      <button data-testid="dataset-apply">Apply</button>
      {(filter || q || hasConds) && (
        <button type="button" onClick={() => setParams({ filter: undefined, q: undefined, conds: undefined })}>
          Clear
        </button>
      )}
    </form>
  );
}
