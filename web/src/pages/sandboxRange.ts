// Does a sandbox query read the whole of a project's logs? Braintrust's SQL editor warns when
// `project_logs()` is not bounded by a range on created, _xact_id, _pagination_key or
// root_span_id. A bound is a condition in a filter (BTQL `filter:`, `span_filter:`,
// `trace_filter:`; SQL `WHERE`): those names in the select list, a sort, a string or a comment
// bound nothing.

const BOUND = /(?<![\w.])(created|_xact_id|_pagination_key|root_span_id)\b/i;

/** The query without its string literals and `--` comments. */
function code(text: string): string {
  return text.replace(/'(?:[^'\\]|''|\\.)*'?/g, "''").replace(/--[^\n]*/g, "");
}

/** The text of the query's filter clauses. */
export function filterText(text: string): string {
  const q = code(text);
  if (/^\s*(select|with)\b(?!\s*:)/i.test(q)) {
    // SQL: WHERE up to the next clause.
    const m = /\bwhere\b([\s\S]*?)(?=\b(group\s+by|order\s+by|limit|offset|having|pivot|unpivot|tablesample)\b|$)/i.exec(q);
    return m ? m[1] : "";
  }
  // BTQL: clauses start the query, or follow a `|` or a new line, as `name:`.
  const starts = [...q.matchAll(/(?:^|\n|\|)\s*([a-z_]+)\s*:/gi)];
  return starts
    .map((m, i) => ({ name: m[1].toLowerCase(), body: q.slice(m.index! + m[0].length, i + 1 < starts.length ? starts[i + 1].index : q.length) }))
    .filter((c) => c.name === "filter" || c.name === "span_filter" || c.name === "trace_filter")
    .map((c) => c.body)
    .join("\n");
}

/** A query over `project_logs()` without a bound on the fields that narrow its scan. */
export function unboundedLogsQuery(text: string): boolean {
  return /project_logs\s*\(/i.test(code(text)) && !BOUND.test(filterText(text));
}
