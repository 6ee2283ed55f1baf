import { ColumnDef } from "@tanstack/react-table";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Project } from "../App";
import { ApiError, btql, downloadExport, FORMATS, lit } from "../api";
import { BtqlEditor, fieldPaths, QueryErrorMark } from "../components/BtqlEditor";
import { withHint } from "../components/btqlHints";
import { ColumnChooser, DataTable, fmtNumber, fmtTime, preview, Sort } from "../components/DataTable";
import { setParams, useRoute } from "../router";
import { Added, AddedNotice, AddToDataset } from "./AddToDataset";
import { TagChip, TagManager } from "./Tags";
import { useProjectConfig } from "../projectConfig";
import { Cond, COND_FIELDS, COND_OPS, filterErrorMessage, filterExpr, LogsState, logsQuery, mapErrorToFilter, RANGES, Source, sourceExpr } from "./logsQuery";
import { TracePanel } from "./TracePanel";
import { FacetSidebar } from "./Facets";
import { GROUP_FIELDS, groupFilter, GroupsPanel, parseGroupValue } from "./Groups";
import { useDefaultView, useReviewFilter, ViewBar } from "./Views";
import { applySearch, formatSearch, suggest } from "./searchBar";
import { getPath } from "./datasetColumns";

type Col = {
  id: string;
  label: string;
  get: (r: any, spans: boolean) => any;
  render?: (v: any) => any;
  sort?: (spans: boolean) => string | null;
  size?: number;
};

const m = (k: string) => (r: any) => r.metrics?.[k];
const TOTAL_TOKENS = "coalesce(metrics.total_tokens, metrics.tokens)";
const totalTokens = (r: any) => r.metrics?.total_tokens ?? r.metrics?.tokens;
const duration = (r: any, spans: boolean) =>
  spans ? (r.metrics?.end != null && r.metrics?.start != null ? r.metrics.end - r.metrics.start : null) : r.metrics?.duration;

const BASE_COLUMNS: Col[] = [
  { id: "created", label: "Time", get: (r) => r.created, render: fmtTime, sort: () => "created", size: 150 },
  { id: "name", label: "Name", get: (r) => r.span_type_info?.name ?? r.span_attributes?.name, sort: (s) => (s ? "span_attributes.name" : null), size: 140 },
  { id: "type", label: "Type", get: (r) => r.span_type_info?.type ?? r.span_attributes?.type, size: 70 },
  { id: "input", label: "Input", get: (r) => r.input, render: (v) => preview(v), size: 260 },
  { id: "output", label: "Output", get: (r) => r.output, render: (v) => preview(v), size: 220 },
  { id: "expected", label: "Expected", get: (r) => r.expected, render: (v) => preview(v), size: 160 },
  { id: "level", label: "Level", get: (r, s) => ((s ? r.error != null : r.span_type_info?.has_error) ? "ERROR" : "DEFAULT"), size: 75 },
  { id: "error", label: "Error", get: (r) => r.error, render: (v) => preview(v), size: 160 },
  { id: "duration", label: "Latency (s)", get: duration, render: (v) => fmtNumber(v, 3), sort: (s) => (s ? null : "metrics.duration"), size: 95 },
  { id: "prompt_tokens", label: "Tokens in", get: m("prompt_tokens"), render: fmtNumber, sort: () => "metrics.prompt_tokens", size: 85 },
  { id: "completion_tokens", label: "Tokens out", get: m("completion_tokens"), render: fmtNumber, sort: () => "metrics.completion_tokens", size: 90 },
  // A span's total is metrics.total_tokens, or metrics.tokens as the Braintrust SDK writes it; a
  // trace's summary metrics.total_tokens already sums either.
  { id: "total_tokens", label: "Tokens", get: totalTokens, render: fmtNumber, sort: (s) => (s ? TOTAL_TOKENS : "metrics.total_tokens"), size: 80 },
  { id: "cost", label: "Cost", get: m("estimated_cost"), render: (v) => fmtNumber(v, 5), sort: () => "metrics.estimated_cost", size: 80 },
  { id: "env", label: "Env", get: (r) => r.metadata?.env ?? r.metadata?.environment, render: preview, size: 80 },
  { id: "tags", label: "Tags", get: (r) => r.tags, render: (v) => (v || []).map((t: string) => <TagChip name={t} key={t} onClick={(e) => (e.stopPropagation(), filterByTag(t))} />), size: 140 },
  { id: "metadata", label: "Metadata", get: (r) => r.metadata, render: (v) => preview(v), size: 200 },
  { id: "session", label: "Session", get: (r) => r.metadata?.session_id, render: preview, size: 100 },
  { id: "user", label: "User", get: (r) => r.metadata?.user_id ?? r.metadata?.user, render: preview, size: 100 },
  { id: "spans", label: "Spans", get: (r) => r.span_type_info?.span_count, render: fmtNumber, size: 65 },
  { id: "version", label: "Version", get: (r) => r.metadata?.version, render: preview, size: 80 },
  { id: "release", label: "Release", get: (r) => r.metadata?.release, render: preview, size: 80 },
  { id: "trace", label: "Trace id", get: (r) => r.root_span_id, size: 150 },
  { id: "id", label: "Row id", get: (r) => r.id, size: 150 },
];
/** A click on a tag in the table adds "tags includes <tag>" to the Basic filter. */
function filterByTag(tag: string) {
  let conds: Cond[] = [];
  try {
    conds = JSON.parse(new URLSearchParams(window.location.hash.split("?")[1] || "").get("conds") || "[]");
  } catch {
    /* a bad conds parameter: start over */
  }
  if (!conds.some((c) => c.field === "tags" && c.op === "includes" && c.value === tag)) conds.push({ field: "tags", op: "includes", value: tag });
  setParams({ conds: JSON.stringify(conds) });
}

const DEFAULT_VISIBLE = ["created", "name", "input", "output", "duration", "total_tokens", "cost", "tags", "spans"];

export function Logs({ project, source = { type: "project_logs", id: project.id } }: { project: Project; source?: Source }) {
  const { params } = useRoute();
  const baseState: LogsState = useMemo(() => {
    let conds: Cond[] = [];
    try {
      conds = JSON.parse(params.get("conds") || "[]");
    } catch {
      /* ignore a hand-edited URL */
    }
    const sort = params.get("sort");
    const rows = params.get("rows") === "spans" ? "spans" : "traces";
    // Group by: the group picked (gval) keeps the table to its rows.
    const group = params.get("group");
    const picked = group ? parseGroupValue(params.get("gval")) : null;
    return {
      rows,
      group: group && picked ? groupFilter(group, picked.value, rows === "spans") : null,
      filter: params.get("filter") || "",
      conds,
      q: params.get("q") || "",
      range: params.get("range") || "",
      // The column id may hold colons itself (score:<name>, f:<path>): the direction is the last part.
      sort: sort ? { id: sort.replace(/:(asc|desc)$/, ""), desc: sort.endsWith(":desc") } : null,
    };
  }, [params]);
  const spans = baseState.rows === "spans";
  useDefaultView(source, params);
  // Unreviewed / Assigned to me: ids from the review queue (undefined while they load).
  const reviewFilter = useReviewFilter(params.get("view"), source, spans, params.get("live") === "1");
  const state: LogsState = useMemo(() => ({ ...baseState, extra: reviewFilter }), [baseState, reviewFilter]);
  const showFacets = params.get("facets") === "1";
  const groupBy = params.get("group");
  const live = params.get("live") === "1";
  const traceId = params.get("trace");
  const tab = params.get("tab") || "basic";

  const [rows, setRows] = useState<any[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [filterError, setFilterError] = useState<QueryErrorMark>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState<Added | null>(null);
  const [tagManager, setTagManager] = useState(false);
  useProjectConfig(project.id);
  const [fields, setFields] = useState<string[]>([]);
  const [loadedMs, setLoadedMs] = useState<number | null>(null);
  const [loadedKey, setLoadedKey] = useState<string | null>(null);

  // Values seen on the loaded rows, for the search bar's completion.
  const seen = useMemo(() => {
    const out: Record<string, Set<string>> = { type: new Set(), name: new Set(), tag: new Set(), model: new Set(), env: new Set(), user: new Set() };
    for (const r of rows) {
      const attrs = r.span_type_info ?? r.span_attributes ?? {};
      if (attrs.type) out.type.add(attrs.type);
      if (attrs.name) out.name.add(attrs.name);
      for (const t of r.tags || []) out.tag.add(t);
      for (const [k, path] of [["model", "model"], ["env", "env"], ["user", "user_id"]]) {
        const v = r.metadata?.[path];
        if (typeof v === "string") out[k].add(v);
      }
    }
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
  }, [rows]);
  // The score sorted on is a column even before (or without) rows that have it: its sort would
  // otherwise come and go with the rows, each time asking for the rows again.
  const sortedScore = baseState.sort?.id.startsWith("score:") ? baseState.sort.id.slice("score:".length) : null;
  const scoreNames = useMemo(() => {
    const names = new Set<string>();
    for (const r of rows) for (const k of Object.keys(r.scores || {})) names.add(k);
    if (sortedScore) names.add(sortedScore);
    return [...names].sort();
  }, [rows, sortedScore]);
  const allCols: Col[] = useMemo(
    () => [
      ...BASE_COLUMNS,
      ...scoreNames.map((n) => ({
        id: "score:" + n,
        label: n,
        get: (r: any) => r.scores?.[n],
        render: (v: any) => fmtNumber(v, 3),
        sort: () => `scores.${/^[A-Za-z_]\w*$/.test(n) ? n : `"${n}"`}`,
        size: 90,
      })),
    ],
    [scoreNames],
  );
  const visible = params.get("cols")?.split(",").filter(Boolean) ?? [...DEFAULT_VISIBLE, ...scoreNames.map((n) => "score:" + n)];
  // Custom columns: a field path seen in the data (metadata.model, input.customer…), in the URL as f:<path>.
  const fieldCols: Col[] = visible
    .filter((id) => id.startsWith("f:"))
    .map((id) => {
      const path = id.slice(2);
      return { id, label: path, get: (r: any) => getPath(r, path), render: (v: any) => preview(v), sort: () => path, size: 140 };
    });
  const shownCols = useMemo(() => [...allCols, ...fieldCols], [allCols, params.get("cols")]); // eslint-disable-line react-hooks/exhaustive-deps
  const sortExpr = state.sort ? shownCols.find((c) => c.id === state.sort!.id)?.sort?.(spans) ?? null : null;

  // The time range's start is fixed when the query changes: a query text that changed on every
  // render (Date.now()) would reload the rows and the facets again and again, and one that
  // changed with any URL parameter reloaded them (clearing the selection and the pages scrolled
  // through) when a trace was opened, the facets shown or a column moved.
  const windowKey = logsQuery(source, state, sortExpr, null, 50, 0);
  const now = useMemo(() => Date.now(), [windowKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const query = (c: string | null) => logsQuery(source, state, sortExpr, c, 50, now);
  const queryKey = query(null);
  const generation = useRef(0);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  // Live with Group by or the facets: each time the first page is asked for again the groups
  // and the facet counts are too (a group may change without the table: one other than the
  // group picked, or past the first page).
  const [liveRefresh, setLiveRefresh] = useState(0);
  const groupByRef = useRef(groupBy);
  groupByRef.current = groupBy;
  const facetsRef = useRef(showFacets);
  facetsRef.current = showFacets;

  const load = useCallback(
    async (next: string | null, replace: boolean) => {
      const gen = generation.current;
      setLoading(true);
      const t0 = performance.now();
      try {
        const res = await btql(query(next));
        if (gen !== generation.current) return;
        setRows((old) => (replace ? res.data : [...old, ...res.data]));
        setCursor(res.cursor);
        setError(null);
        setFilterError(null);
        setLoadedMs(Math.round(performance.now() - t0));
        setLoadedKey(query(null));
      } catch (e: any) {
        if (gen !== generation.current) return;
        if (replace) setRows([]);
        setCursor(null);
        const err = e as ApiError;
        const pos = mapErrorToFilter(state.filter, err.line, err.col);
        setLoadedKey(query(null));
        if (pos && state.filter.trim()) setFilterError({ ...pos, message: withHint(filterErrorMessage(err.detail || err.message, pos)) });
        // (without its " at 3:39": a place in the query the screen wrote, not in anything typed)
        setError(err.detail || err.message);
      } finally {
        if (gen === generation.current) setLoading(false);
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [queryKey],
  );

  useEffect(() => {
    generation.current++;
    setRows([]);
    setSelected(new Set());
    setCursor(null);
    if (reviewFilter !== undefined) load(null, true);
  }, [load, reviewFilter === undefined]); // eslint-disable-line react-hooks/exhaustive-deps

  // Live: every few seconds ask for the first page again and put rows that are new or changed
  // on top; the pages already scrolled through stay (their cursor stays valid). Sorted by a
  // column, a new or changed row belongs where the sort puts it, which only the server
  // knows: the first page then replaces the rows (and the cursor) when anything in it changed.
  // A Live refetch that fails (the server stopped, the network down) says so in the status bar
  // until one succeeds: the table stood still under "live" without a word.
  const [liveError, setLiveError] = useState<string | null>(null);
  useEffect(() => {
    setLiveError(null);
    if (!live) return;
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      const gen = generation.current;
      try {
        const res = await btql(query(null));
        if (gen !== generation.current) return;
        setLiveError(null);
        if (groupByRef.current || facetsRef.current) setLiveRefresh((n) => n + 1);
        if (sortExpr) {
          const old = rowsRef.current;
          const same = res.data.every((r: any, i: number) => old[i]?.id === r.id && old[i]?._xact_id === r._xact_id);
          if (!same) {
            setRows(res.data);
            setCursor(res.cursor);
          }
          return;
        }
        setRows((old) => {
          const known = new Map(old.map((r) => [r.id, r._xact_id]));
          const fresh = res.data.filter((r: any) => known.get(r.id) !== r._xact_id);
          if (!fresh.length) return old;
          const ids = new Set(fresh.map((r: any) => r.id));
          return [...fresh, ...old.filter((r) => !ids.has(r.id))];
        });
      } catch (e: any) {
        // (the next tick tries again)
        if (gen === generation.current) setLiveError(e?.message || String(e));
      } finally {
        busy = false;
      }
    }, 3000);
    return () => clearInterval(timer);
  }, [live, queryKey]); // eslint-disable-line react-hooks/exhaustive-deps

  // Fields seen in the data, for the filter editor's completion: asked once the first page
  // is shown, so that it never delays it.
  const firstShown = loadedMs !== null;
  useEffect(() => {
    if (!firstShown) return;
    btql(`select: metadata, scores, metrics, span_attributes | from: ${sourceExpr(source)} | limit: 50`)
      .then((r) => setFields(fieldPaths(r.data)))
      .catch(() => {});
  }, [source.id, firstShown]); // eslint-disable-line react-hooks/exhaustive-deps

  const onEndReached = useCallback(() => {
    if (cursor && !loading) load(cursor, false);
  }, [cursor, loading, load]);

  const columns: ColumnDef<any, any>[] = useMemo(
    () => [
      {
        id: "select",
        header: () => "",
        size: 34,
        enableSorting: false,
        cell: ({ row }) => (
          <input
            type="checkbox"
            data-testid="row-select"
            checked={selected.has(row.original.id)}
            onClick={(e) => e.stopPropagation()}
            onChange={() => {
              const next = new Set(selected);
              if (next.has(row.original.id)) next.delete(row.original.id);
              else next.add(row.original.id);
              setSelected(next);
            }}
          />
        ),
      },
      ...shownCols.map(
        (c): ColumnDef<any, any> => ({
          id: c.id,
          header: c.label,
          size: c.size || 120,
          enableSorting: !!c.sort?.(spans),
          accessorFn: (r: any) => c.get(r, spans),
          cell: (info) => {
            const v = info.getValue();
            return c.render ? c.render(v) : preview(v);
          },
        }),
      ),
    ],
    [shownCols, spans, selected],
  );

  const openTrace = (r: any) => setParams({ trace: r.root_span_id, span: r.id }, true);
  // A change stored from the trace panel (tags, scores, expected…): read that trace's rows again
  // in the table's shape and put them in place, so the table does not show what was there before.
  const refreshTrace = useCallback(
    async (root: string) => {
      const gen = generation.current;
      try {
        const res = await btql(`from: ${sourceExpr(source)} ${spans ? "spans" : "summary"} | select: * | filter: root_span_id = ${lit(root)} | limit: 1000`);
        if (gen !== generation.current) return;
        const fresh = new Map<string, any>(res.data.map((r: any) => [r.id, r] as [string, any]));
        setRows((old) => old.map((r) => fresh.get(r.id) ?? r));
      } catch {
        /* the table keeps its rows; the panel shows the stored values */
      }
    },
    [source.type, source.id, spans], // eslint-disable-line react-hooks/exhaustive-deps
  );

  return (
    <div className="logs">
      <div className="pane-main">
        <div className="toolbar">
          <ViewBar source={source} params={params} />
        </div>
        <div className="toolbar">
          <button className={showFacets ? "on" : ""} onClick={() => setParams({ facets: showFacets ? undefined : "1" })} data-testid="toggle-facets" title="Top values with counts under the filter">
            Facets
          </button>
          <div className="segmented">
            {(["traces", "spans"] as const).map((k) => (
              <button key={k} className={state.rows === k ? "on" : ""} onClick={() => setParams({ rows: k === "traces" ? undefined : k, sort: undefined })} data-testid={`rows-${k}`}>
                {k === "traces" ? "Traces" : "Spans"}
              </button>
            ))}
          </div>
          <SearchBox state={state} seen={seen} fields={fields} />
          <select value={state.range} onChange={(e) => setParams({ range: e.target.value })} data-testid="time-range">
            {RANGES.map(([id, label]) => (
              <option key={id} value={id}>
                {label}
              </option>
            ))}
          </select>
          <select
            value={groupBy ?? ""}
            onChange={(e) => setParams({ group: e.target.value || undefined, gval: undefined })}
            data-testid="group-by"
            title="Group the rows the filter keeps by a field: count, average scores, tokens and cost per group (a click on a group shows its rows)"
          >
            <option value="">Group by…</option>
            {[...GROUP_FIELDS, ...fields.filter((f) => f.startsWith("metadata.") && !GROUP_FIELDS.some(([id]) => id === f)).map((f) => [f, f] as [string, string]), ...(groupBy && ![...GROUP_FIELDS.map(([id]) => id), ...fields].includes(groupBy) ? [[groupBy, groupBy] as [string, string]] : [])].map(([id, label]) => (
              <option key={id} value={id}>
                {groupBy === id ? `Group by: ${label}` : label}
              </option>
            ))}
          </select>
          <ColumnChooser
            all={shownCols.map((c) => ({ id: c.id, label: c.label }))}
            visible={visible}
            onChange={(v) => setParams({ cols: v.join(",") })}
            fields={fields}
          />
          <label className="live">
            <input type="checkbox" checked={live} onChange={() => setParams({ live: live ? undefined : "1" })} data-testid="live" /> Live
          </label>
          <ExportMenu source={source} filter={filterExpr(state, now)} shape={spans ? "spans" : "summary"} />
          <button onClick={() => setTagManager(true)} data-testid="manage-tags" title="The project's tags: colours and descriptions">
            Tags
          </button>
          <button
            disabled={selected.size === 0}
            onClick={() => {
              setAdded(null);
              setAdding(true);
            }}
            data-testid="add-to-dataset"
          >
            Add {selected.size || ""} to dataset
          </button>
        </div>
        {added && <AddedNotice project={project} added={added} />}
        <FilterBar state={state} tab={tab} fields={fields} error={filterError} />
        {error && !filterError && <div className="error" data-testid="logs-error">{error}</div>}
        {filterError && (
          <div className="error" data-testid="filter-error">
            {filterError.message} (line {filterError.line}, column {filterError.col})
          </div>
        )}
        {groupBy && (
          <GroupsPanel
            source={source}
            group={groupBy}
            filter={filterExpr({ ...state, group: null }, now)}
            spans={spans}
            selected={parseGroupValue(params.get("gval"))}
            params={params.toString()}
            refresh={liveRefresh}
          />
        )}
        <div className="logs-body">
          {showFacets && <FacetSidebar source={source} filter={filterExpr(state, now)} spans={spans} conds={state.conds} params={params.toString()} refresh={liveRefresh} />}
          <DataTable
            testId="logs-table"
            columns={columns}
            data={rows}
            visible={["select", ...visible]}
            sort={state.sort as Sort}
            onSort={(s) => setParams({ sort: s ? `${s.id}:${s.desc ? "desc" : "asc"}` : undefined })}
            onEndReached={onEndReached}
            onRowClick={openTrace}
            selected={(r) => r.root_span_id === traceId}
            empty={loading || reviewFilter === undefined ? "Loading…" : "No rows match"}
          />
        </div>
        <div className="statusbar" data-testid="statusbar" data-settled={!loading && reviewFilter !== undefined && loadedKey === queryKey ? "1" : "0"} data-params={params.toString()}>
          {`${rows.length.toLocaleString()} ${spans ? "span" : "trace"}${rows.length === 1 ? "" : "s"} loaded`}
          {cursor ? " · scroll for more" : ""}
          {loading || reviewFilter === undefined ? " · loading…" : loadedMs !== null ? ` · last page in ${loadedMs} ms` : ""}
          {live && !liveError ? " · live" : ""}
          {live && liveError && (
            <span className="live-error" data-testid="live-error">
              {" "}
              · live: not refreshed ({liveError}), trying again
            </span>
          )}
        </div>
      </div>
      {traceId && <TracePanel project={project} source={source} rootSpanId={traceId} onSaved={refreshTrace} />}
      {tagManager && <TagManager projectId={project.id} onClose={() => setTagManager(false)} />}
      {adding && (
        <AddToDataset
          project={project}
          source={source}
          spanIds={[...selected]}
          onClose={(done) => {
            setAdding(false);
            setAdded(done);
            if (done) setSelected(new Set());
          }}
        />
      )}
    </div>
  );
}

function SearchBox({ state, seen, fields }: { state: LogsState; seen: Record<string, string[]>; fields: string[] }) {
  const value = formatSearch(state.conds, state.q);
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const options = useMemo(() => suggest(text, seen, fields), [text, seen, fields]);
  return (
    <form
      className="searchbar"
      onSubmit={(e) => {
        e.preventDefault();
        const next = applySearch(text, state.conds);
        setParams({ conds: next.conds.length ? JSON.stringify(next.conds) : undefined, q: next.q || undefined });
      }}
    >
      <input
        className="search"
        list="search-suggest"
        placeholder="Search… or type:llm error:true latency:>2 model:gpt-4o"
        title="Words search the text of the rows (search()); key:value adds a condition: type, name, tag, error, level, model, env, user, session, latency, tokens, cost, metadata.<key>, scores.<name>, metrics.<name> (with >, >=, <, <=, != before a value)"
        value={text}
        onChange={(e) => setText(e.target.value)}
        data-testid="search"
      />
      <datalist id="search-suggest">
        {options.map((o) => (
          <option key={o} value={o} />
        ))}
      </datalist>
    </form>
  );
}

function FilterBar({ state, tab, fields, error }: { state: LogsState; tab: string; fields: string[]; error: QueryErrorMark }) {
  const [text, setText] = useState(state.filter);
  useEffect(() => setText(state.filter), [state.filter]);
  const applyConds = (c: Cond[]) => setParams({ conds: c.length ? JSON.stringify(c) : undefined });
  return (
    <div className="filterbar">
      <div className="tabs">
        <button className={tab === "basic" ? "on" : ""} onClick={() => setParams({ tab: undefined })} data-testid="tab-basic">
          Basic
        </button>
        <button className={tab === "btql" ? "on" : ""} onClick={() => setParams({ tab: "btql" })} data-testid="tab-btql">
          BTQL{state.filter ? " •" : ""}
        </button>
      </div>
      {tab === "btql" ? (
        <div className="btql-filter">
          <BtqlEditor
            testId="filter-editor"
            value={text}
            onChange={setText}
            onSubmit={() => setParams({ filter: text })}
            fields={fields}
            error={error}
            placeholder="metadata.model = 'gpt-4o' AND scores.correct < 1   (Ctrl+Enter applies)"
          />
          <button onClick={() => setParams({ filter: text })} data-testid="apply-filter">
            Apply
          </button>
          {state.filter && (
            <button onClick={() => setParams({ filter: undefined })} data-testid="clear-filter">
              Clear
            </button>
          )}
        </div>
      ) : (
        <CondsEditor value={state.conds} fields={[...COND_FIELDS, ...fields]} onApply={applyConds} />
      )}
    </div>
  );
}

/** The Basic tab's conditions (field, operator, value), applied together. Also the dataset
 * rows' Basic filter. */
export function CondsEditor({ value, fields, onApply }: { value: Cond[]; fields: string[]; onApply: (conds: Cond[]) => void }) {
  const [conds, setConds] = useState<Cond[]>(value);
  useEffect(() => setConds(value), [value]);
  return (
    <div className="conds">
      {conds.map((c, i) => (
        <span className="cond" key={i} data-testid="cond">
          <input list="cond-fields" value={c.field} onChange={(e) => setConds(conds.map((x, j) => (j === i ? { ...x, field: e.target.value } : x)))} />
          <select value={c.op} onChange={(e) => setConds(conds.map((x, j) => (j === i ? { ...x, op: e.target.value } : x)))}>
            {COND_OPS.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
          {!c.op.startsWith("is ") && (
            <input value={c.value} placeholder="value" onChange={(e) => setConds(conds.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
          )}
          <button className="icon" onClick={() => onApply(conds.filter((_, j) => j !== i))} title="Remove">
            ×
          </button>
        </span>
      ))}
      <datalist id="cond-fields">
        {fields.map((f) => (
          <option key={f} value={f} />
        ))}
      </datalist>
      <button onClick={() => setConds([...conds, { field: "tags", op: "includes", value: "" }])} data-testid="add-cond">
        + Condition
      </button>
      {JSON.stringify(conds) !== JSON.stringify(value) && <button onClick={() => onApply(conds)} data-testid="apply-conds">Apply</button>}
    </div>
  );
}

function ExportMenu({ source, filter, shape }: { source: Source; filter: string; shape: string }) {
  const [fmt, setFmt] = useState("csv");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <span className="export">
      <select value={fmt} onChange={(e) => setFmt(e.target.value)} data-testid="export-format">
        {FORMATS.map((f) => (
          <option key={f}>{f}</option>
        ))}
      </select>
      <button
        disabled={busy}
        data-testid="export"
        title="Download every row that matches the filter"
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await downloadExport(source.type, source.id, fmt, filter, shape, `${source.type === "experiment" ? "experiment" : "logs"}.${fmt}`);
          } catch (e: any) {
            setError(e.message);
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? "Exporting…" : "Export"}
      </button>
      {error && <span className="error">{error}</span>}
    </span>
  );
}

