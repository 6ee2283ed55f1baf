// The thread (chat) view of a trace: the LLM conversation of its llm spans as chat bubbles
// (each span's input messages not shown before, then its output), tool calls included, with
// a search box (Ctrl/Cmd+F in the panel) that keeps the matching messages and marks the text.
import { ReactNode, useEffect, useMemo, useRef, useState } from "react";
import { btql, lit } from "../api";
import { setParams } from "../router";
import { Source, sourceExpr } from "./logsQuery";

export type Message = { role: string; content: string; toolCalls: string[]; spanId: string; span: string };

function text(content: unknown): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .map((part: any) => (typeof part === "string" ? part : part?.text ?? (part?.type ? `[${part.type}]` : JSON.stringify(part))))
      .join("\n");
  return JSON.stringify(content, null, 2);
}

function toolCalls(m: any): string[] {
  const calls: any[] = m?.tool_calls ?? (m?.function_call ? [{ function: m.function_call }] : []);
  return calls.map((c) => `${c?.function?.name ?? c?.name ?? "tool"}(${typeof c?.function?.arguments === "string" ? c.function.arguments : JSON.stringify(c?.function?.arguments ?? c?.arguments ?? {})})`);
}

/** The messages in a value: a list of messages, {messages: [...]}, OpenAI choices, one message or text. */
export function messagesOf(value: unknown, fallbackRole: string): any[] {
  if (value == null) return [];
  if (typeof value === "string") return [{ role: fallbackRole, content: value }];
  if (Array.isArray(value)) return value.flatMap((v) => (v && typeof v === "object" && ("role" in v || "message" in v) ? messagesOf(v, fallbackRole) : []));
  const v = value as any;
  if (Array.isArray(v.messages)) return messagesOf(v.messages, fallbackRole);
  if (Array.isArray(v.choices)) return v.choices.map((c: any) => c?.message).filter(Boolean);
  if (v.message && typeof v.message === "object") return [v.message];
  if (typeof v.role === "string") return [v];
  return [{ role: fallbackRole, content: JSON.stringify(v, null, 2) }];
}

export function buildThread(spans: any[]): Message[] {
  const seen = new Set<string>();
  const out: Message[] = [];
  const add = (m: any, s: any, dedupe: boolean) => {
    const msg: Message = { role: String(m.role ?? "assistant"), content: text(m.content), toolCalls: toolCalls(m), spanId: s.id, span: s.name ?? "llm" };
    const key = `${msg.role}\u0000${msg.content}\u0000${msg.toolCalls.join()}`;
    if (dedupe && seen.has(key)) return;
    seen.add(key);
    out.push(msg);
  };
  for (const s of spans) {
    for (const m of messagesOf(s.input, "user")) add(m, s, true);
    for (const m of messagesOf(s.output, "assistant")) add(m, s, false);
  }
  return out;
}

function Highlight({ value, query }: { value: string; query: string }) {
  if (!query) return <>{value}</>;
  const parts: ReactNode[] = [];
  const lower = value.toLowerCase();
  const q = query.toLowerCase();
  let i = 0;
  for (let j = lower.indexOf(q); j >= 0; j = lower.indexOf(q, i)) {
    parts.push(<span key={parts.length}>{value.slice(i, j)}</span>);
    parts.push(<mark key={parts.length}>{value.slice(j, j + q.length)}</mark>);
    i = j + q.length;
  }
  parts.push(<span key={parts.length}>{value.slice(i)}</span>);
  return <>{parts}</>;
}

export function TraceThread({ source, rootSpanId }: { source: Source; rootSpanId: string }) {
  const [spans, setSpans] = useState<any[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [query, setQuery] = useState("");
  // (Ctrl/Cmd+F focuses the search: the trace panel handles it, wherever its focus is.)
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    setSpans(null);
    btql(
      [
        "select: id, span_attributes.name as name, input, output, metrics.start as start",
        `from: ${sourceExpr(source)}`,
        `filter: root_span_id = ${lit(rootSpanId)} AND span_attributes.type = 'llm'`,
        "sort: metrics.start asc",
        "limit: 1000",
      ].join("\n"),
    )
      .then((r) => setSpans(r.data))
      .catch((e) => setError(e.message));
  }, [source.type, source.id, rootSpanId]);
  const messages = useMemo(() => buildThread(spans ?? []), [spans]);
  const q = query.trim().toLowerCase();
  const shown = q ? messages.filter((m) => (m.role + "\n" + m.content + "\n" + m.toolCalls.join("\n")).toLowerCase().includes(q)) : messages;
  return (
    <div
      className="thread"
      data-testid="thread"
      tabIndex={-1}
    >
      <div className="thread-search">
        <input ref={search} value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Search the thread (Ctrl+F)" data-testid="thread-search" />
        {q && (
          <span className="muted" data-testid="thread-matches">
            {shown.length} of {messages.length} messages
          </span>
        )}
      </div>
      {error && <div className="error">{error}</div>}
      {!spans && !error && <div className="empty">Loading the thread…</div>}
      {spans && messages.length === 0 && <div className="empty">No LLM messages in this trace.</div>}
      {shown.map((m, i) => (
        <div key={i} className={`bubble role-${m.role}`} data-testid="thread-message">
          <div className="bubble-head">
            <strong>{m.role}</strong>{" "}
            <button className="link muted" onClick={() => setParams({ span: m.spanId, pane: undefined })} title="Open this span">
              {m.span}
            </button>
          </div>
          {m.content && (
            <div className="bubble-text">
              <Highlight value={m.content} query={query.trim()} />
            </div>
          )}
          {m.toolCalls.map((c, j) => (
            <div key={j} className="tool-call">
              ⚙ <Highlight value={c} query={query.trim()} />
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}
