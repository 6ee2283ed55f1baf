// How the logs screen turns its URL state into BTQL.
import { lit } from "../api";

export type Cond = { field: string; op: string; value: string };

/** What the logs screen shows: a project's logs or an experiment's rows. */
export type Source = { type: "project_logs" | "experiment"; id: string };

export function sourceExpr(source: Source): string {
  return `${source.type}(${lit(source.id)})`;
}

export const RANGES: [string, string, number][] = [
  ["", "All time", 0],
  ["1h", "Last hour", 3600],
  ["24h", "Last 24 hours", 86400],
  ["7d", "Last 7 days", 7 * 86400],
  ["30d", "Last 30 days", 30 * 86400],
];

export const COND_FIELDS = [
  "span_attributes.name",
  "span_attributes.type",
  "input",
  "output",
  "expected",
  "error",
  "tags",
  "metadata.",
  "scores.",
  "metrics.",
  "comments",
  "created",
];

export const COND_OPS = ["=", "!=", ">", ">=", "<", "<=", "contains", "matches words", "includes", "is null", "is not null"];

/** A number as a number (`1000`, `0.5`, `1e3`, `2.5E-4`: `tokens:>1e3` compared the tokens
 * with the text '1e3'), anything else as a string. */
function value(v: string): string {
  return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.trim()) ? v.trim() : lit(v);
}

/** A Basic condition as BTQL. Over traces (``traces``) the level is the whole trace's, as the
 * Level column shows it: "error is null" keeps the traces with no error on any span, as the
 * built-in Non-errors view does (`error IS NULL` would keep every trace with one span without
 * an error), and "error is not null" the traces with an error on any span, whichever span the
 * other conditions hold on (`error IS NOT NULL` would need one span to hold them all). */
export function condExpr(c: Cond, traces = false): string | null {
  const field = c.field.trim().replace(/\.$/, "");
  if (!field) return null;
  switch (c.op) {
    case "is null":
      return traces && field === "error" ? "NOT ANY_SPAN(error IS NOT NULL)" : `${field} IS NULL`;
    case "is not null":
      return traces && field === "error" ? "ANY_SPAN(error IS NOT NULL)" : `${field} IS NOT NULL`;
    case "contains":
      return `${field} ILIKE ${lit("%" + c.value.replace(/[%_\\]/g, (m) => "\\" + m) + "%")}`;
    case "matches words":
      return `${field} MATCH ${lit(c.value)}`;
    case "includes":
      return `${field} INCLUDES ${lit(c.value)}`;
    default:
      return c.value === "" ? null : `${field} ${c.op} ${value(c.value)}`;
  }
}

export type LogsState = {
  rows: "traces" | "spans";
  filter: string;
  conds: Cond[];
  q: string;
  range: string;
  sort: { id: string; desc: boolean } | null;
  /** A filter a view adds (the review ids of Unreviewed / Assigned to me). */
  extra?: string | null;
  /** The group picked in Group by (its filter, Groups.tsx). */
  group?: string | null;
};

/** The filter expression without the user's BTQL (Basic tab, search, time range). */
function otherParts(s: LogsState, now: number): string[] {
  const parts: string[] = s.extra ? [s.extra] : [];
  if (s.group) parts.push(s.group);
  for (const c of s.conds) {
    const e = condExpr(c, s.rows === "traces");
    if (e) parts.push(e);
  }
  if (s.q.trim()) parts.push(`search(${lit(s.q.trim())})`);
  const range = RANGES.find((r) => r[0] === s.range);
  if (range && range[2]) parts.push(`created >= ${lit(new Date(now - range[2] * 1000).toISOString())}`);
  return parts;
}

/** A user's expression in parentheses, the closing one on a line of its own: a `--` comment
 * on the expression's last line (a condition commented out) would swallow it otherwise. */
export function wrapExpr(expr: string): string {
  return `(${expr}\n)`;
}

/** The whole filter as one expression (for exports). */
export function filterExpr(s: LogsState, now = Date.now()): string {
  const parts = [...(s.filter.trim() ? [wrapExpr(s.filter)] : []), ...otherParts(s, now)];
  return parts.join(" AND ");
}

// The user's filter starts on this line after this prefix, so error positions map back.
export const FILTER_LINE = 3;
const FILTER_PREFIX = "filter: (";

export function logsQuery(
  source: Source,
  s: LogsState,
  sortExpr: string | null,
  cursor: string | null,
  limit = 50,
  now = Date.now(),
): string {
  const shape = s.rows === "spans" ? "spans" : "summary";
  const lines = [`from: ${sourceExpr(source)} ${shape}`, "select: *"];
  const others = otherParts(s, now);
  if (s.filter.trim()) {
    lines.push(FILTER_PREFIX + s.filter + "\n)" + others.map((p) => " AND " + p).join(""));
  } else if (others.length) {
    lines.push("filter: " + others.join(" AND "));
  }
  if (sortExpr) lines.push(`sort: ${sortExpr} ${s.sort?.desc ? "desc" : "asc"}`);
  lines.push(`limit: ${limit}`);
  if (cursor) lines.push(`cursor: ${lit(cursor)}`);
  return lines.join("\n");
}

/** Map an error position in the whole query back into the user's filter text. `end`: the
 * error is past the filter (at the closing parenthesis wrapped around it). */
export function mapErrorToFilter(filter: string, line?: number, col?: number): { line: number; col: number; end?: boolean } | null {
  if (line === undefined || col === undefined || line < FILTER_LINE) return null;
  const userLines = filter.split("\n");
  const k = line - FILTER_LINE;
  if (k === 0) return { line: 1, col: Math.max(1, col - FILTER_PREFIX.length) };
  if (k < userLines.length) return { line: k + 1, col };
  const lastLine = userLines[userLines.length - 1];
  return { line: userLines.length, col: lastLine.length + 1, end: true };
}

/** The server's message on an error past the filter: the ')' it names is the one the query
 * wraps the filter in, never typed ("expected an expression after 'AND', found ')'" for a
 * filter ending in AND): it is the end of the filter. */
export function filterErrorMessage(message: string, pos: { end?: boolean } | null): string {
  return pos?.end ? message.replace(/\bfound '\)'/, "found the end of the filter").replace(/\bunexpected '\)'/, "unexpected end of the filter") : message;
}
