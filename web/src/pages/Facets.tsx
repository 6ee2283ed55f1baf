// The facet sidebar of the logs screen: for a few fields (span type and name, tags, errors,
// scores present, metadata.model and other low-cardinality metadata paths seen in the data)
// the top values with their counts under the current filter and time range, one small BTQL
// group-by each, asked only while the sidebar is open. A click on a value adds its condition
// to the Basic filter (or removes it), and the counts follow. A count is of what that click
// selects: spans in Spans mode; in Traces mode the traces that have a span with the value
// (and satisfying the filter, as the table's traces), or for a property of the whole trace
// (Level: an error on any span or on none), the traces' summary rows grouped by it. Each
// facet groups its rows exactly as its click condition tells them apart: a score is present
// when `>= 0` (an unpivoted JSON null is not NULL), a metadata value by the number it holds
// when it holds one (5 and "5" are one value, as `= 5` selects both), else by its text.
// `data-settled` on the sidebar is "1" once every count of the current filter is in.
import { useEffect, useMemo, useRef, useState } from "react";
import { btql } from "../api";
import { setParams } from "../router";
import { Cond, sourceExpr, Source } from "./logsQuery";

type Facet = {
  id: string;
  label: string;
  /** BTQL clauses that give `value` per row (before dimensions). */
  pre?: string;
  dim: string;
  /** A filter of its own: unpivot only the spans that have tags / scores (tags: 3-4x cheaper
   * on 1M spans, bench/facets.py). */
  own?: string;
  /** In Traces mode: the dimension over the summary shape (one row per trace, filtered as the
   * logs table filters traces) instead of `dim` over spans. For a value that is a property of
   * the whole trace, whose condition does not select "a trace with such a span". */
  traceDim?: string;
  /** The Basic condition a click on a value adds. */
  cond: (value: any) => Cond;
};

const pathCond = (field: string) => (v: any) => ({ field, op: "=", value: String(v) });

/** A number as the Basic tab's numeric literal (no exponent: `1e-7` would be compared as text). */
function plainNumber(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return Number.isInteger(n) ? BigInt(n).toString() : n.toFixed(20).replace(/\.?0+$/, "");
}

/** A metadata path's value: a number (a JSON number or a numeric string, as `to_number` reads
 * it) is compared numerically, which selects both 5 and "5"; anything else by its text (`=
 * 'x'` compares a JSON value's text). The facet groups by the same key. */
const metadataDim = (path: string) => `coalesce(to_number(${path}), to_string(${path}))`;
const metadataCond = (field: string) => (v: any) => ({ field, op: "=", value: typeof v === "number" ? plainNumber(v) : String(v) });

const FIXED: Facet[] = [
  { id: "type", label: "Span type", dim: "span_attributes.type", cond: pathCond("span_attributes.type") },
  { id: "name", label: "Span name", dim: "span_attributes.name", cond: pathCond("span_attributes.name") },
  { id: "tags", label: "Tags", pre: "unpivot: tags as tag", dim: "tag", own: "tags IS NOT NULL", cond: (v) => ({ field: "tags", op: "includes", value: String(v) }) },
  {
    id: "error",
    label: "Level",
    dim: "error IS NOT NULL",
    // Over traces the click selects a property of the whole trace (condExpr): ERROR the traces
    // with an error on any span, DEFAULT those with none. Counting spans instead counted, as
    // DEFAULT, the traces with some span without an error (nearly every trace), and as ERROR
    // under a filter the traces whose error is on a span the filter does not keep.
    traceDim: "span_type_info.has_error",
    cond: (v) => ({ field: "error", op: v ? "is not null" : "is null", value: "" }),
  },
  {
    id: "scores",
    label: "Scores present",
    pre: "unpivot: scores as (score, score_value)",
    dim: "score",
    // A score of 0 is present; a JSON null one is not (`score_value IS NOT NULL` holds for it).
    own: "scores IS NOT NULL AND score_value >= 0",
    cond: (v) => ({ field: `scores.${/^[A-Za-z_]\w*$/.test(v) ? v : `"${v}"`}`, op: ">=", value: "0" }),
  },
];

function fmtValue(facet: Facet, v: any): string {
  if (facet.id === "error") return v ? "ERROR" : "DEFAULT";
  return typeof v === "string" ? v : JSON.stringify(v);
}

const sameCond = (a: Cond, b: Cond) => a.field === b.field && a.op === b.op && (a.value || "") === (b.value || "");

/** Low-cardinality scalar metadata paths of a sample of rows (metadata.model first). */
function metadataFacets(sample: any[]): Facet[] {
  const values = new Map<string, Set<string>>();
  for (const row of sample) {
    for (const [k, v] of Object.entries(row.metadata || {})) {
      if (v === null || typeof v === "object") continue;
      if (!/^[A-Za-z_]\w*$/.test(k)) continue;
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(String(v));
    }
  }
  // a key is a facet when few values repeat over the sample (ids and free text do not)
  const keys = [...values.entries()]
    .filter(([, vals]) => vals.size <= 8 && vals.size <= Math.max(2, sample.length / 8))
    .sort(([a, va], [b, vb]) => (a === "model" ? -1 : b === "model" ? 1 : va.size - vb.size || a.localeCompare(b)))
    .map(([k]) => k)
    .slice(0, 4);
  return keys.map((k) => ({ id: `metadata.${k}`, label: `metadata.${k}`, dim: metadataDim(`metadata.${k}`), cond: metadataCond(`metadata.${k}`) }));
}

/** `params`: the URL's state the sidebar's counts are for, shown in `data-params` beside
 * `data-settled` (tests wait for both). */
/** `refresh`: a number that changes each time Live asks for the table's first page again; the
 * counts are then asked for again (a refresh while those of the one before are still being
 * asked for is skipped). */
export function FacetSidebar({
  source,
  filter,
  spans,
  conds,
  params,
  refresh = 0,
}: {
  source: Source;
  filter: string;
  spans: boolean;
  conds: Cond[];
  params: string;
  refresh?: number;
}) {
  const [sample, setSample] = useState<any[] | null>(null);
  // Each facet's answer with the key (source, rows, filter) it answers: the previous filter's
  // counts stay shown while the new ones load, but the sidebar is not settled until every one
  // is the current key's.
  const [counts, setCounts] = useState<Record<string, { key: string; data: { value: any; n: number }[] | string }>>({});
  useEffect(() => {
    setSample(null);
    btql(`select: metadata | from: ${sourceExpr(source)} | limit: 100`)
      .then((r) => setSample(r.data))
      .catch(() => setSample([]));
  }, [source.id]); // eslint-disable-line react-hooks/exhaustive-deps
  const facets = useMemo(() => (sample ? [...FIXED, ...metadataFacets(sample)] : FIXED), [sample]);
  const key = `${source.type}(${source.id})|${spans ? "spans" : "traces"}|${filter}`;
  const current = useRef(key);
  current.current = key;
  // The key each facet was last asked for: once the sample adds the metadata facets, the
  // others are not asked again.
  const asked = useRef(new Map<string, string>());
  // The counts being asked for (a Live refresh waits until none is).
  const pending = useRef(0);
  const ask = (f: Facet) => {
    const summary = !spans && !!f.traceDim;
    const measure = spans || summary ? "count(1)" : "count(distinct root_span_id)";
    const lines = [
      `from: ${sourceExpr(source)}${summary ? " summary" : ""}`,
      ...(f.pre ? [f.pre] : []),
      `dimensions: ${summary ? f.traceDim : f.dim} as value`,
      `measures: ${measure} as n`,
      ...(f.own || filter ? [`filter: ${[f.own, filter && `(${filter})`].filter(Boolean).join(" AND ")}`] : []),
      "sort: n desc",
      "limit: 11",
    ];
    // An answer for a key that is no longer the current one is dropped.
    const keep = (data: { value: any; n: number }[] | string) => current.current === key && setCounts((c) => ({ ...c, [f.id]: { key, data } }));
    pending.current++;
    btql(lines.join("\n"))
      .then((r) => keep(r.data.filter((d: any) => d.value !== null && d.value !== "")))
      .catch((e) => keep(e.message))
      .finally(() => pending.current--);
  };
  useEffect(() => {
    for (const f of facets) {
      if (asked.current.get(f.id) === key) continue;
      asked.current.set(f.id, key);
      ask(f);
    }
  }, [facets, key]); // eslint-disable-line react-hooks/exhaustive-deps
  // Live: the rows may have changed, so every count is asked for again.
  useEffect(() => {
    if (!refresh || pending.current > 0) return;
    for (const f of facets) ask(f);
  }, [refresh]); // eslint-disable-line react-hooks/exhaustive-deps
  const settled = sample !== null && facets.every((f) => counts[f.id]?.key === key);
  const toggle = (c: Cond) => {
    const next = conds.some((x) => sameCond(x, c)) ? conds.filter((x) => !sameCond(x, c)) : [...conds, c];
    setParams({ conds: next.length ? JSON.stringify(next) : undefined, tab: undefined });
  };
  return (
    <aside className="facets" data-testid="facets" data-settled={settled ? "1" : "0"} data-params={params}>
      <div className="facets-head">{spans ? "Spans" : "Traces"} by value</div>
      {facets.map((f) => {
        const data = counts[f.id]?.data;
        return (
          <div className="facet" key={f.id} data-testid={`facet-${f.id}`}>
            <div className="facet-label">{f.label}</div>
            {data === undefined && <div className="muted">…</div>}
            {typeof data === "string" && <div className="error">{data}</div>}
            {Array.isArray(data) && data.length === 0 && <div className="muted">none</div>}
            {Array.isArray(data) &&
              data.slice(0, 10).map((d) => {
                const c = f.cond(d.value);
                const on = conds.some((x) => sameCond(x, c));
                return (
                  <button key={String(d.value)} className={`facet-value${on ? " on" : ""}`} onClick={() => toggle(c)} data-testid="facet-value" title={on ? "Remove this condition" : "Filter by this value"}>
                    <span className="facet-name">{fmtValue(f, d.value)}</span>
                    <span className="facet-count" data-testid="facet-count">
                      {d.n.toLocaleString()}
                    </span>
                  </button>
                );
              })}
          </div>
        );
      })}
    </aside>
  );
}
