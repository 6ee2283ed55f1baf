// Group by on the logs screen (Braintrust's "Group by tag / metadata path"): the rows under the
// table's filter grouped by a field — tags, span name, span type or a metadata path — with, per
// group, its count, the average of each score and the sums of tokens and cost, all computed by
// the server (a BTQL `dimensions`/`measures` query over every row the filter keeps, not the
// page loaded). In Traces mode a group is of traces, by their root span's value (the summary
// shape's root fields: tags, name, type, metadata) and its averages and sums are of the
// traces' rolled-up values; in Spans mode of spans, by their own value. A click on a group
// filters the table to it (`gval` in the URL; a second click removes it). In Live mode the groups
// are asked for again each time the table's first page is (`refresh`), never more often.
import { useEffect, useMemo, useRef, useState } from "react";
import { btql, lit } from "../api";
import { fmtNumber } from "../components/DataTable";
import { setParams } from "../router";
import { Source, sourceExpr } from "./logsQuery";

/** The fields offered: tags, span name and type, and metadata paths (`metadata.<key>`). */
export const GROUP_FIELDS: [string, string][] = [
  ["tags", "Tag"],
  ["name", "Span name"],
  ["type", "Span type"],
  ["metadata.model", "Model (metadata.model)"],
];

const TOTAL_TOKENS = "coalesce(metrics.total_tokens, metrics.tokens)";

/** A score's path in BTQL (a name that is not an identifier is quoted). */
const scorePath = (n: string) => `scores.${/^[A-Za-z_]\w*$/.test(n) ? n : `"${n.replace(/"/g, '""')}"`}`;

/** The field's path on a span (`span_attributes.name`…). */
function spanPath(group: string): string {
  if (group === "name") return "span_attributes.name";
  if (group === "type") return "span_attributes.type";
  return group;
}

/** The dimension a group is read with. A metadata value is grouped by the number it holds,
 * else by its text (5 and "5" are one group, which `= 5` selects), as the facets do. */
function dimension(group: string, spans: boolean): string {
  if (group === "tags") return spans ? "tag" : "tags";
  if (!spans && group === "name") return "span_type_info.name";
  if (!spans && group === "type") return "span_type_info.type";
  if (group.startsWith("metadata.")) return `coalesce(to_number(${group}), to_string(${group}))`;
  return spanPath(group);
}

/** A number as a BTQL literal (no exponent). */
function plainNumber(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return Number.isInteger(n) ? BigInt(n).toString() : n.toFixed(20).replace(/\.?0+$/, "");
}

/** The filter that keeps one group's rows: in Traces mode the traces whose root span has the
 * value (the summary row's root fields), in Spans mode the spans that have it. */
export function groupFilter(group: string, value: unknown, spans: boolean): string {
  const path = spanPath(group);
  let expr: string;
  if (group === "tags") expr = `tags INCLUDES ${lit(String(value))}`;
  else if (value === null || value === undefined) expr = `${path} IS NULL`;
  else if (typeof value === "number") expr = `${path} = ${plainNumber(value)}`;
  else expr = `${path} = ${lit(typeof value === "string" ? value : JSON.stringify(value))}`;
  return spans ? expr : `ANY_SPAN(is_root AND ${expr})`;
}

/** `gval` in the URL: the selected group's value as JSON. */
export function parseGroupValue(gval: string | null): { value: unknown } | null {
  if (gval === null) return null;
  try {
    return { value: JSON.parse(gval) };
  } catch {
    return null;
  }
}

type Group = { value: unknown; n: number; scores: Record<string, number | null>; tokens: number | null; cost: number | null };

/** Sums of several rows of measures (a tag's groups are the tag sets that hold it). */
function merge(rows: any[], names: string[]): Omit<Group, "value"> {
  const n = rows.reduce((a, r) => a + (r.n || 0), 0);
  const sum = (k: string) => (rows.some((r) => r[k] != null) ? rows.reduce((a, r) => a + (r[k] ?? 0), 0) : null);
  const scores: Record<string, number | null> = {};
  names.forEach((name, i) => {
    const count = sum(`c${i}`);
    scores[name] = count ? sum(`s${i}`)! / count : null;
  });
  return { n, scores, tokens: sum("tokens"), cost: sum("cost") };
}

function fmtGroup(group: string, v: unknown): string {
  if (v === null || v === undefined) return "(none)";
  if (group === "type" || group === "name" || group === "tags") return String(v);
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** `filter`: the table's filter without the selected group; `params`: the URL state the
 * groups are for (`data-params`, beside `data-settled`, for tests); `refresh`: a number that
 * changes when the table's rows were asked for again in Live mode: the groups are asked for
 * again (the ones shown stay until the new ones are in; a tick while they are still being
 * asked for is skipped). `data-refresh` is the `refresh` the groups shown were asked for at. */
export function GroupsPanel({
  source,
  group,
  filter,
  spans,
  selected,
  params,
  refresh = 0,
}: {
  source: Source;
  group: string;
  filter: string;
  spans: boolean;
  selected: { value: unknown } | null;
  params: string;
  refresh?: number;
}) {
  const key = `${source.type}(${source.id})|${spans}|${group}|${filter}`;
  const [loaded, setLoaded] = useState<{ key: string; refresh: number; groups: Group[] | string; scores: string[] } | null>(null);
  const current = useRef(key);
  current.current = key;
  // The key of the groups being asked for (null when none are).
  const asking = useRef<string | null>(null);
  useEffect(() => {
    if (asking.current === key) return;
    asking.current = key;
    const from = `from: ${sourceExpr(source)} ${spans ? "spans" : "summary"}`;
    const where = (own?: string) => (own || filter ? [`filter: ${[own, filter && `(${filter})`].filter(Boolean).join(" AND ")}`] : []);
    const keep = (groups: Group[] | string, scores: string[]) => {
      if (asking.current === key) asking.current = null;
      if (current.current === key) setLoaded({ key, refresh, groups, scores });
    };
    (async () => {
      // The names of the scores in the logs (each gets an average per group; blank in a group
      // without it).
      const names = await btql(
        [`from: ${sourceExpr(source)} spans`, "unpivot: scores as (score, score_value)", "dimensions: score", "measures: count(1) as n", "filter: scores IS NOT NULL", "sort: score asc", "limit: 20"].join("\n"),
      );
      const scores: string[] = names.data.map((r: any) => r.score).filter((s: any) => typeof s === "string");
      const tags = group === "tags";
      const measures = [
        "count(1) as n",
        ...scores.flatMap((s, i) => [`sum(${scorePath(s)}) as s${i}`, `count(${scorePath(s)}) as c${i}`]),
        `sum(${spans ? TOTAL_TOKENS : "metrics.total_tokens"}) as tokens`,
        "sum(metrics.estimated_cost) as cost",
      ];
      const lines = [
        from,
        ...(tags && spans ? ["unpivot: tags as tag"] : []),
        `dimensions: ${dimension(group, spans)} as value`,
        `measures: ${measures.join(", ")}`,
        // (Over spans, unpivot only those with tags. Over traces a condition of its own would
        // have to hold on the span that satisfies the filter: the tagless set is skipped below.)
        ...where(tags && spans ? "tags IS NOT NULL" : undefined),
        "sort: n desc",
        // Traces by tag: the server groups the traces by their set of tags; each tag's group
        // is the sum of the sets that hold it.
        `limit: ${tags && !spans ? 1000 : 50}`,
      ];
      const res = await btql(lines.join("\n"));
      let groups: Group[];
      if (tags && !spans) {
        const byTag = new Map<string, any[]>();
        for (const row of res.data) for (const t of new Set<string>(Array.isArray(row.value) ? row.value : [])) byTag.set(t, [...(byTag.get(t) || []), row]);
        groups = [...byTag.entries()].map(([t, rows]) => ({ value: t, ...merge(rows, scores) }));
      } else {
        groups = res.data.map((row: any) => ({ value: row.value, ...merge([row], scores) }));
      }
      // The largest groups first; of equal ones, in the order of their values ("(none)" last).
      const none = (v: unknown) => (v === null || v === undefined ? 1 : 0);
      const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v ?? null));
      groups = groups.sort((a, b) => b.n - a.n || none(a.value) - none(b.value) || text(a.value).localeCompare(text(b.value))).slice(0, 50);
      keep(groups, scores);
    })().catch((e) => keep(`Groups not loaded: ${e.message}`, []));
  }, [key, refresh]); // eslint-disable-line react-hooks/exhaustive-deps
  const data = loaded?.key === key ? loaded : null;
  const label = useMemo(() => GROUP_FIELDS.find(([id]) => id === group)?.[1] ?? group, [group]);
  const isSelected = (v: unknown) => !!selected && JSON.stringify(selected.value) === JSON.stringify(v ?? null);
  return (
    <div className="groups" data-testid="groups" data-settled={data ? "1" : "0"} data-params={params} data-refresh={data?.refresh ?? ""}>
      {!data && <div className="muted">Grouping…</div>}
      {typeof data?.groups === "string" && (
        <div className="error" data-testid="groups-error">
          {data.groups}
        </div>
      )}
      {Array.isArray(data?.groups) && data!.groups.length === 0 && <div className="muted">No rows to group.</div>}
      {Array.isArray(data?.groups) && data!.groups.length > 0 && (
        <table className="simple">
          <thead>
            <tr>
              <th>{label}</th>
              <th>{spans ? "Spans" : "Traces"}</th>
              {data!.scores.map((s) => (
                <th key={s}>{s} (avg)</th>
              ))}
              <th>Tokens</th>
              <th>Cost</th>
            </tr>
          </thead>
          <tbody>
            {data!.groups.map((g) => {
              const on = isSelected(g.value);
              return (
                <tr
                  key={JSON.stringify(g.value ?? null)}
                  className={`group-row${on ? " on" : ""}`}
                  data-testid="group"
                  data-value={JSON.stringify(g.value ?? null)}
                  tabIndex={0}
                  title={on ? "Show every group's rows" : "Show this group's rows"}
                  onClick={() => setParams({ gval: on ? undefined : JSON.stringify(g.value ?? null) })}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" || e.key === " ") {
                      e.preventDefault();
                      setParams({ gval: on ? undefined : JSON.stringify(g.value ?? null) });
                    }
                  }}
                >
                  <td className="wrap" data-testid="group-value">
                    {fmtGroup(group, g.value)}
                  </td>
                  <td data-testid="group-count">{g.n.toLocaleString("en-US")}</td>
                  {data!.scores.map((s) => (
                    <td key={s} data-testid={`group-score-${s}`}>
                      {g.scores[s] == null ? "" : fmtNumber(g.scores[s], 3)}
                    </td>
                  ))}
                  <td data-testid="group-tokens">{fmtNumber(g.tokens)}</td>
                  <td data-testid="group-cost">{fmtNumber(g.cost, 5)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
