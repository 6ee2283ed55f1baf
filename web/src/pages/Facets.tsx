// The facet sidebar of the logs screen: for a few fields (span type and name, tags, errors,
// scores present, metadata.model and other low-cardinality metadata paths seen in the data)
// the top values with their counts under the current filter and time range, one small BTQL
// group-by each, asked only while the sidebar is open. A click on a value adds its condition
// to the Basic filter (or removes it), and the counts follow. A count is of what that click
// selects: spans in Spans mode; in Traces mode the traces that have a span with the value, or
// for a property of the whole trace (Level: an error on any span or on none), the traces'
// summary rows grouped by it.
import { useEffect, useMemo, useState } from "react";
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

const FIXED: Facet[] = [
  { id: "type", label: "Span type", dim: "span_attributes.type", cond: pathCond("span_attributes.type") },
  { id: "name", label: "Span name", dim: "span_attributes.name", cond: pathCond("span_attributes.name") },
  { id: "tags", label: "Tags", pre: "unpivot: tags as tag", dim: "tag", own: "tags IS NOT NULL", cond: (v) => ({ field: "tags", op: "includes", value: String(v) }) },
  {
    id: "error",
    label: "Level",
    dim: "error IS NOT NULL",
    // DEFAULT selects, over traces, those with no error on any span (condExpr): counting the
    // traces with some span without an error counted nearly every trace.
    traceDim: "span_type_info.has_error",
    cond: (v) => ({ field: "error", op: v ? "is not null" : "is null", value: "" }),
  },
  {
    id: "scores",
    label: "Scores present",
    pre: "unpivot: scores as (score, score_value)",
    dim: "score",
    own: "scores IS NOT NULL",
    cond: (v) => ({ field: `scores.${/^[A-Za-z_]\w*$/.test(v) ? v : `"${v}"`}`, op: "is not null", value: "" }),
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
  return keys.map((k) => ({ id: `metadata.${k}`, label: `metadata.${k}`, dim: `metadata.${k}`, cond: pathCond(`metadata.${k}`) }));
}

export function FacetSidebar({ source, filter, spans, conds }: { source: Source; filter: string; spans: boolean; conds: Cond[] }) {
  const [sample, setSample] = useState<any[] | null>(null);
  const [counts, setCounts] = useState<Record<string, { value: any; n: number }[] | string>>({});
  useEffect(() => {
    btql(`select: metadata | from: ${sourceExpr(source)} | limit: 100`)
      .then((r) => setSample(r.data))
      .catch(() => setSample([]));
  }, [source.id]); // eslint-disable-line react-hooks/exhaustive-deps
  const facets = useMemo(() => (sample ? [...FIXED, ...metadataFacets(sample)] : FIXED), [sample]);
  useEffect(() => {
    let gone = false;
    for (const f of facets) {
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
      btql(lines.join("\n"))
        .then((r) => !gone && setCounts((c) => ({ ...c, [f.id]: r.data.filter((d: any) => d.value !== null && d.value !== "") })))
        .catch((e) => !gone && setCounts((c) => ({ ...c, [f.id]: e.message })));
    }
    return () => {
      gone = true;
    };
  }, [facets, filter, spans, source.id]); // eslint-disable-line react-hooks/exhaustive-deps
  const toggle = (c: Cond) => {
    const next = conds.some((x) => sameCond(x, c)) ? conds.filter((x) => !sameCond(x, c)) : [...conds, c];
    setParams({ conds: next.length ? JSON.stringify(next) : undefined, tab: undefined });
  };
  return (
    <aside className="facets" data-testid="facets">
      <div className="facets-head">{spans ? "Spans" : "Traces"} by value</div>
      {facets.map((f) => {
        const data = counts[f.id];
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
