// The one-line search bar of the logs screen, Langfuse style: `type:llm error:true latency:>2
// model:gpt-4o refund` — `key:value` tokens become Basic filter conditions (so the facet
// sidebar and the Basic tab show them), the other words the full-text search.
import { Cond } from "./logsQuery";

type Key = { field: string; kind: "eq" | "tag" | "bool" | "num" };

export const SEARCH_KEYS: Record<string, Key> = {
  type: { field: "span_attributes.type", kind: "eq" },
  name: { field: "span_attributes.name", kind: "eq" },
  tag: { field: "tags", kind: "tag" },
  tags: { field: "tags", kind: "tag" },
  error: { field: "error", kind: "bool" },
  level: { field: "error", kind: "bool" },
  model: { field: "metadata.model", kind: "eq" },
  env: { field: "metadata.env", kind: "eq" },
  user: { field: "metadata.user_id", kind: "eq" },
  session: { field: "metadata.session_id", kind: "eq" },
  latency: { field: "metrics.end - metrics.start", kind: "num" },
  // The Braintrust SDK writes total tokens as metrics.tokens; others write total_tokens.
  tokens: { field: "coalesce(metrics.total_tokens, metrics.tokens)", kind: "num" },
  cost: { field: "metrics.estimated_cost", kind: "num" },
};
const PREFIXES = ["metadata.", "scores.", "metrics.", "span_attributes.", "input.", "output."];

/** Values suggested after `key:` (besides those seen in the data). */
export const KEY_VALUES: Record<string, string[]> = {
  type: ["llm", "task", "tool", "function", "eval", "score"],
  error: ["true", "false"],
  level: ["ERROR", "DEFAULT"],
  latency: [">1", ">2", ">5", "<1"],
};

function keyOf(name: string): Key | null {
  if (SEARCH_KEYS[name]) return SEARCH_KEYS[name];
  if (PREFIXES.some((p) => name.startsWith(p) && name.length > p.length && /^[\w.]+$/.test(name))) {
    return { field: name, kind: name.startsWith("scores.") || name.startsWith("metrics.") ? "num" : "eq" };
  }
  return null;
}

/** Split into tokens, keeping `key:"a quoted value"` and `"a phrase"` whole. */
function tokens(text: string): string[] {
  return text.match(/(?:[^\s"]+:)?"[^"]*"|\S+/g) || [];
}

function condOf(key: Key, raw: string): Cond | null {
  const value = raw.replace(/^"|"$/g, "");
  if (key.kind === "bool") {
    const v = value.toLowerCase();
    if (["true", "yes", "1", "error"].includes(v)) return { field: key.field, op: "is not null", value: "" };
    if (["false", "no", "0", "default"].includes(v)) return { field: key.field, op: "is null", value: "" };
    return null;
  }
  if (key.kind === "tag") return value ? { field: key.field, op: "includes", value } : null;
  const m = value.match(/^(>=|<=|!=|>|<|=)?(.*)$/)!;
  if (!m[2]) return null;
  return { field: key.field, op: m[1] || "=", value: m[2] };
}

/** The conditions and the remaining full-text words of a search bar's text. */
export function parseSearch(text: string): { conds: Cond[]; q: string } {
  const conds: Cond[] = [];
  const words: string[] = [];
  for (const tok of tokens(text)) {
    const i = tok.indexOf(":");
    const key = i > 0 ? keyOf(tok.slice(0, i)) : null;
    const cond = key ? condOf(key, tok.slice(i + 1)) : null;
    if (cond) conds.push(cond);
    else words.push(tok);
  }
  return { conds, q: words.join(" ") };
}

/** Completions for the text typed so far: keys for the last word, then values of a key. */
export function suggest(text: string, seen: Record<string, string[]>, fields: string[]): string[] {
  const at = text.search(/\S*$/);
  const before = text.slice(0, at);
  const last = text.slice(at);
  const i = last.indexOf(":");
  if (i < 0) {
    const keys = [...Object.keys(SEARCH_KEYS), ...fields.filter((f) => PREFIXES.some((p) => f.startsWith(p)))];
    return keys.filter((k) => k.startsWith(last)).slice(0, 30).map((k) => `${before}${k}:`);
  }
  const name = last.slice(0, i);
  const values = [...(KEY_VALUES[name] || []), ...(seen[name] || [])];
  const typed = last.slice(i + 1);
  return [...new Set(values)]
    .filter((v) => v.toLowerCase().startsWith(typed.toLowerCase()))
    .slice(0, 30)
    .map((v) => `${before}${name}:${/\s/.test(v) ? `"${v}"` : v} `);
}

/** A Basic condition as a bar token, or null when the bar cannot say it (it stays as it is). */
export function formatCond(c: Cond): string | null {
  const value = c.value ?? "";
  if (value.includes('"')) return null;
  const v = /\s/.test(value) ? `"${value}"` : value;
  if (c.field === "error" && (c.op === "is not null" || c.op === "is null")) return `error:${c.op === "is null" ? "false" : "true"}`;
  if (c.field === "tags" && c.op === "includes") return value ? `tag:${v}` : null;
  if (!["=", "!=", ">", ">=", "<", "<="].includes(c.op) || !value) return null;
  const key = Object.entries(SEARCH_KEYS).find(([, k]) => k.field === c.field && k.kind !== "bool" && k.kind !== "tag")?.[0] ?? (keyOf(c.field) ? c.field : null);
  if (!key) return null;
  return `${key}:${c.op === "=" ? "" : c.op}${v}`;
}

/** The bar's text for the current filter: its conditions as tokens, then the search words. */
export function formatSearch(conds: Cond[], q: string): string {
  return [...conds.map(formatCond).filter(Boolean), ...(q ? [q] : [])].join(" ");
}

/** Apply the bar's text: it replaces the conditions it can show and the search words. */
export function applySearch(text: string, conds: Cond[]): { conds: Cond[]; q: string } {
  const parsed = parseSearch(text);
  return { conds: [...conds.filter((c) => formatCond(c) === null), ...parsed.conds], q: parsed.q };
}
