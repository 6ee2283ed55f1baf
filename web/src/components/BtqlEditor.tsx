// The BTQL editor (CodeMirror 6): highlighting, completion of clauses, functions and fields
// seen in the data, and the server's parse errors marked at their line and column.
import { autocompletion, closeCompletion, CompletionContext, CompletionResult } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { defaultHighlightStyle, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { Diagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder as placeholderExt } from "@codemirror/view";
import { useEffect, useRef } from "react";

export const CLAUSES = [
  "select", "from", "filter", "dimensions", "measures", "sort", "limit", "cursor",
  "final_filter", "span_filter", "trace_filter", "sample", "pivot", "unpivot", "preview_length",
];
export const FUNCTIONS = [
  "count", "sum", "avg", "min", "max", "percentile", "any_value", "count_distinct",
  "second", "minute", "hour", "day", "week", "month", "year", "date_trunc", "now",
  "current_timestamp", "current_date", "lower", "upper", "concat", "len", "contains", "includes",
  "coalesce", "nullif", "least", "greatest", "round", "to_string", "to_boolean", "to_integer",
  "to_number", "to_date", "to_datetime", "to_interval", "json_extract", "estimated_cost",
  "search", "any_span", "filter_spans", "project_logs", "experiment", "dataset", "project_dataset",
];
const WORDS = [
  "select", "from", "where", "group", "by", "order", "having", "distinct", "case", "when", "then",
  "else", "end", "offset", "limit", "tablesample",
  "and", "or", "not", "is", "null", "in", "like", "ilike", "match", "includes", "contains",
  "asc", "desc", "as", "true", "false", "interval", "day", "hour", "minute", "spans", "traces", "summary",
];
export const TOP_FIELDS = [
  "id", "_xact_id", "_pagination_key", "created", "org_id", "project_id", "log_id", "experiment_id",
  "dataset_id", "span_id", "root_span_id", "span_parents", "is_root", "input", "output", "expected",
  "error", "scores", "metrics", "metadata", "tags", "span_attributes", "context", "origin",
  "classifications", "comments",
];

const clauseRe = new RegExp(`^(${CLAUSES.join("|")})\\s*:`, "i");
const fnSet = new Set(FUNCTIONS);
const wordSet = new Set(WORDS);

const btqlLanguage = StreamLanguage.define<{}>({
  startState: () => ({}),
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match("--")) {
      stream.skipToEnd();
      return "comment";
    }
    if (stream.match(clauseRe)) return "keyword";
    if (stream.match(/^'([^'\\]|\\.|'')*'?/)) return "string";
    if (stream.match(/^"([^"\\]|\\.)*"?/)) return "variableName.special";
    if (stream.match(/^-?\d+(\.\d+)?%?/)) return "number";
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/) as RegExpMatchArray | null;
    if (word) {
      const w = word[0].toLowerCase();
      // "function" alone is a modifier, not a tag (CodeMirror warns): a called variable name.
      if (stream.peek() === "(" && fnSet.has(w)) return "variableName.function";
      if (wordSet.has(w)) return "operatorKeyword";
      return "propertyName";
    }
    if (stream.match(/^(<=>|<!=>|!=|<>|<=|>=|=|<|>|\+|-|\*|\/|%|\?|:|\|)/)) return "operator";
    stream.next();
    return null;
  },
});

function completer(fields: () => string[]) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const word = ctx.matchBefore(/[A-Za-z_][\w.]*/);
    if (!word && !ctx.explicit) return null;
    const from = word ? word.from : ctx.pos;
    const line = ctx.state.doc.lineAt(ctx.pos);
    const before = line.text.slice(0, from - line.from);
    const atClauseStart = /(^|\|)\s*$/.test(before);
    const options = [
      ...CLAUSES.map((c) => ({ label: c + ":", type: "keyword", boost: atClauseStart ? 10 : -5, apply: c + ": " })),
      ...FUNCTIONS.map((f) => ({ label: f, type: "function", apply: f + "(", detail: "function" })),
      ...[...new Set([...TOP_FIELDS, ...fields()])].map((f) => ({ label: f, type: "property", boost: atClauseStart ? -2 : 2 })),
      ...WORDS.map((w) => ({ label: w, type: "keyword", boost: -3 })),
    ];
    return { from, options, validFor: /^[\w.]*$/ };
  };
}

export type QueryErrorMark = { line: number; col: number; message: string } | null;

type Props = {
  value: string;
  onChange: (v: string) => void;
  onSubmit?: () => void;
  fields?: string[];
  error?: QueryErrorMark;
  placeholder?: string;
  testId?: string;
  minHeight?: string;
};

export function BtqlEditor(props: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const state = EditorState.create({
      doc: props.value,
      extensions: [
        history(),
        keymap.of([
          { key: "Mod-Enter", run: () => (latest.current.onSubmit?.(), true) },
          ...defaultKeymap,
          ...historyKeymap,
        ]),
        btqlLanguage,
        syntaxHighlighting(defaultHighlightStyle),
        autocompletion({ override: [completer(() => latest.current.fields || [])] }),
        lintGutter(),
        EditorView.lineWrapping,
        placeholderExt(props.placeholder || ""),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) latest.current.onChange(u.state.doc.toString());
        }),
        EditorView.theme({ "&": { minHeight: props.minHeight || "2.2em" } }),
        // The completion list closes when the editor loses focus (a click on Run, Apply…).
        EditorView.domEventHandlers({ blur: (_e, v) => void closeCompletion(v) }),
      ],
    });
    view.current = new EditorView({ state, parent: host.current! });
    return () => view.current?.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Follow outside changes of the value (URL navigation).
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);

  // Mark the error at its position (1-based line and column from the server).
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const diagnostics: Diagnostic[] = [];
    const e = props.error;
    if (e) {
      const doc = v.state.doc;
      const lineNo = Math.min(Math.max(e.line, 1), doc.lines);
      const line = doc.line(lineNo);
      const from = line.from + utf16Offset(line.text, e.col);
      const word = /^[\w.'"]+/.exec(doc.sliceString(from, line.to));
      const to = word ? from + word[0].length : Math.min(from + 1, doc.length);
      diagnostics.push({ from, to: Math.max(to, from), severity: "error", message: e.message });
    }
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [props.error]);

  return <div className="editor" ref={host} data-testid={props.testId} />;
}

/** Where the ``col``-th character of ``text`` starts (1-based), in the editor's UTF-16
 * units: the server counts characters, and a character outside the BMP (an emoji) is two
 * units here. Past the end: the end. */
function utf16Offset(text: string, col: number): number {
  let offset = 0;
  for (let c = 1; c < col && offset < text.length; c++) offset += (text.codePointAt(offset) ?? 0) > 0xffff ? 2 : 1;
  return offset;
}

/** Field paths seen in some rows (metadata.model, scores.accuracy…), for completion. */
export function fieldPaths(rows: any[], maxDepth = 3): string[] {
  const seen = new Set<string>();
  const walk = (v: any, path: string, depth: number) => {
    if (v === null || typeof v !== "object" || Array.isArray(v) || depth > maxDepth) return;
    for (const [k, child] of Object.entries(v)) {
      const p = /^[A-Za-z_]\w*$/.test(k) ? `${path}.${k}` : `${path}."${k}"`;
      seen.add(p);
      if (seen.size > 500) return;
      walk(child, p, depth + 1);
    }
  };
  for (const row of rows)
    for (const [k, v] of Object.entries(row || {})) {
      seen.add(k);
      walk(v, k, 1);
    }
  return [...seen];
}
