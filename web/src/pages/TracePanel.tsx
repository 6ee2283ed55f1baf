// The trace panel: the span tree with a timeline (one virtualized list: only the rows on
// screen are drawn, so a 10,000-span trace opens at once), and the selected span's detail.
// The tree loads a skeleton (ids, names, times); a span's payload loads when it is selected.
import { useVirtualizer } from "@tanstack/react-virtual";
import { KeyboardEvent, useEffect, useMemo, useRef, useState } from "react";
import type { Project } from "../App";
import { btql, lit, request } from "../api";
import { fmtNumber, fmtTime } from "../components/DataTable";
import { onFreeEscape } from "../components/Dialog";
import { Json } from "../components/Json";
import { setParams, useRoute } from "../router";
import { Added, AddedNotice, AddToDataset } from "./AddToDataset";
import { Source, sourceExpr } from "./logsQuery";
import { TraceThread } from "./TraceThread";
import { HumanReview } from "./HumanReview";
import { ReviewFlag } from "./Review";
import { TagChip } from "./Tags";
import { useProjectTags } from "../projectConfig";

type Node = {
  id: string;
  span_id: string;
  parent: string | null;
  name: string;
  type: string;
  start: number | null;
  end: number | null;
  has_error: boolean;
  children: Node[];
  depth: number;
};

async function loadSkeleton(source: Source, rootSpanId: string): Promise<any[]> {
  const rows: any[] = [];
  let cursor: string | null = null;
  do {
    const res = await btql(
      [
        "select: id, span_id, span_parents, span_attributes.name as name, span_attributes.type as type,",
        "  metrics.start as start, metrics.end as end, error IS NOT NULL as has_error",
        `from: ${sourceExpr(source)}`,
        `filter: root_span_id = ${lit(rootSpanId)}`,
        "limit: 100000",
        ...(cursor ? [`cursor: ${lit(cursor)}`] : []),
      ].join("\n"),
    );
    rows.push(...res.data);
    cursor = res.cursor;
  } while (cursor);
  return rows;
}

function buildTree(rows: any[]): Node[] {
  const bySpan = new Map<string, Node>();
  for (const r of rows)
    bySpan.set(r.span_id, {
      id: r.id,
      span_id: r.span_id,
      parent: r.span_parents?.[0] ?? null,
      name: r.name ?? "(span)",
      type: r.type ?? "",
      start: r.start ?? null,
      end: r.end ?? null,
      has_error: !!r.has_error,
      children: [],
      depth: 0,
    });
  const roots: Node[] = [];
  for (const n of bySpan.values()) {
    const p = n.parent ? bySpan.get(n.parent) : undefined;
    if (p && p !== n) p.children.push(n);
    else roots.push(n);
  }
  const byStart = (a: Node, b: Node) => (a.start ?? 0) - (b.start ?? 0);
  for (const n of bySpan.values()) n.children.sort(byStart);
  roots.sort(byStart);
  return roots;
}

function flatten(roots: Node[], collapsed: Set<string>): Node[] {
  const out: Node[] = [];
  const stack: [Node, number][] = roots.map((r) => [r, 0] as [Node, number]).reverse();
  while (stack.length) {
    const [n, depth] = stack.pop()!;
    n.depth = depth;
    out.push(n);
    if (!collapsed.has(n.span_id)) for (let i = n.children.length - 1; i >= 0; i--) stack.push([n.children[i], depth + 1]);
  }
  return out;
}

/** onSaved: after a change made here (tags, scores, review, expected, comments) is stored, so
 * that the table showing the trace can read its row again. */
export function TracePanel({
  project,
  source,
  rootSpanId,
  onSaved,
}: {
  project: Project;
  source: Source;
  rootSpanId: string;
  onSaved?: (rootSpanId: string) => void;
}) {
  const { params } = useRoute();
  const spanId = params.get("span");
  const [roots, setRoots] = useState<Node[] | null>(null);
  const [count, setCount] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());

  useEffect(() => {
    setRoots(null);
    loadSkeleton(source, rootSpanId)
      .then((rows) => {
        setCount(rows.length);
        setRoots(buildTree(rows));
      })
      .catch((e) => setError(e.message));
  }, [source.type, source.id, rootSpanId]);

  const flat = useMemo(() => (roots ? flatten(roots, collapsed) : []), [roots, collapsed]);
  const [t0, t1] = useMemo(() => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const n of flat) {
      if (n.start != null) lo = Math.min(lo, n.start);
      if (n.end != null) hi = Math.max(hi, n.end);
    }
    return [lo, hi > lo ? hi : lo + 1];
  }, [roots]); // eslint-disable-line react-hooks/exhaustive-deps

  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: flat.length, getScrollElement: () => scroller.current, estimateSize: () => 26, overscan: 20 });
  const selected = spanId || roots?.[0]?.id;
  // Keyboard: the selected span's row takes the Tab (one stop for the whole tree, however many
  // spans); ↑/↓ select the span above or below, ←/→ collapse or expand, Enter or Space selects.
  const focusSpan = useRef<string | null>(null);
  const selectedIndex = flat.findIndex((n) => n.id === selected);
  const focusIndex = selectedIndex >= 0 ? selectedIndex : 0;
  useEffect(() => {
    const id = focusSpan.current;
    if (!id) return;
    const i = flat.findIndex((n) => n.id === id);
    if (i < 0) return;
    virtualizer.scrollToIndex(i);
    // (drawn on the next frame once scrolled to)
    requestAnimationFrame(() => {
      const row = scroller.current?.querySelector<HTMLElement>(`[data-span-row-id="${CSS.escape(id)}"]`);
      if (row && focusSpan.current === id) {
        focusSpan.current = null;
        row.focus();
      }
    });
  }, [selected, flat]); // eslint-disable-line react-hooks/exhaustive-deps
  const toggle = (n: Node, open?: boolean) => {
    if (!n.children.length) return;
    const isOpen = !collapsed.has(n.span_id);
    if (open === isOpen) return;
    const next = new Set(collapsed);
    if (isOpen) next.add(n.span_id);
    else next.delete(n.span_id);
    setCollapsed(next);
  };
  const onRowKey = (e: KeyboardEvent, index: number) => {
    const n = flat[index];
    const go = (i: number) => {
      const to = flat[Math.max(0, Math.min(flat.length - 1, i))];
      if (!to) return;
      focusSpan.current = to.id;
      if (to.id === selected) virtualizer.scrollToIndex(i);
      setParams({ span: to.id });
    };
    if (e.key === "ArrowDown") go(index + 1);
    else if (e.key === "ArrowUp") go(index - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(flat.length - 1);
    else if (e.key === "ArrowRight") toggle(n, true);
    else if (e.key === "ArrowLeft") toggle(n, false);
    else if (e.key === "Enter" || e.key === " ") go(index);
    else return;
    e.preventDefault();
  };

  const full = params.get("full") === "1";
  // `pane`, not `view`: the logs screen's saved view is `view=` and must survive the panel.
  const thread = params.get("pane") === "thread";
  const close = () => setParams({ trace: undefined, span: undefined, full: undefined, pane: undefined });
  // Escape leaves full screen, then closes the panel, as a dialog closes (not while a
  // dialog, a popover or a field has it).
  useEffect(() => onFreeEscape(() => (full ? setParams({ full: undefined }) : close())), [full]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <div
      className={"trace-panel" + (full ? " full" : "")}
      data-testid="trace-panel"
      onKeyDown={(e) => {
        // Ctrl/Cmd+F anywhere in the panel (the Thread tab just clicked has the focus, in the
        // panel's head) searches the thread rather than opening the browser's find.
        if (thread && (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "f") {
          const search = e.currentTarget.querySelector<HTMLInputElement>("[data-testid=thread-search]");
          if (search) {
            e.preventDefault();
            search.focus();
          }
        }
      }}
    >
      <div className="trace-head">
        <strong>Trace</strong> <code>{rootSpanId}</code> · {count.toLocaleString()} span{count === 1 ? "" : "s"}
        <span className="tabs trace-tabs">
          <button className={thread ? "" : "on"} onClick={() => setParams({ pane: undefined })} data-testid="view-tree">
            Tree
          </button>
          <button className={thread ? "on" : ""} onClick={() => setParams({ pane: "thread" })} data-testid="view-thread">
            Thread
          </button>
        </span>
        <button className="icon" onClick={() => setParams({ full: full ? undefined : "1" })} title={full ? "Exit full screen" : "Full screen"} data-testid="fullscreen">
          {full ? "⤡" : "⤢"}
        </button>
        <button className="icon close" onClick={close} title="Close (Escape)" data-testid="close-trace">
          ×
        </button>
      </div>
      {error && <div className="error">{error}</div>}
      {thread && <TraceThread source={source} rootSpanId={rootSpanId} />}
      <div className="trace-body" style={thread ? { display: "none" } : undefined}>
        <div className="span-tree" ref={scroller} role="tree" aria-label="Spans" data-testid="span-tree">
          {!roots && !error && <div className="empty">Loading trace…</div>}
          {roots?.length === 0 && (
            <div className="empty" data-testid="trace-missing">
              No span of trace <code>{rootSpanId}</code> here: it was deleted, or the link is of another project or experiment.
            </div>
          )}
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((item) => {
              const n = flat[item.index];
              const left = n.start != null ? ((n.start - t0) / (t1 - t0)) * 100 : 0;
              const width = n.start != null && n.end != null ? Math.max(0.5, ((n.end - n.start) / (t1 - t0)) * 100) : 0.5;
              return (
                <div
                  key={n.id}
                  className={"span-row" + (n.id === selected ? " selected" : "") + (n.has_error ? " has-error" : "")}
                  style={{ transform: `translateY(${item.start}px)` }}
                  onClick={() => setParams({ span: n.id })}
                  tabIndex={item.index === focusIndex ? 0 : -1}
                  onKeyDown={(e) => onRowKey(e, item.index)}
                  role="treeitem"
                  aria-selected={n.id === selected}
                  aria-level={n.depth + 1}
                  aria-expanded={n.children.length ? !collapsed.has(n.span_id) : undefined}
                  data-span-row-id={n.id}
                  data-testid="span-row"
                >
                  <span className="span-name" style={{ paddingLeft: Math.min(n.depth, 30) * 12 }}>
                    {n.children.length > 0 ? (
                      <button
                        className="icon toggle"
                        tabIndex={-1}
                        onClick={(e) => {
                          e.stopPropagation();
                          toggle(n);
                        }}
                      >
                        {collapsed.has(n.span_id) ? "▸" : "▾"}
                      </button>
                    ) : (
                      <span className="toggle" />
                    )}
                    {n.type && <span className={`badge t-${n.type}`}>{n.type}</span>} {n.name}
                  </span>
                  <span className="timeline" title={n.start != null && n.end != null ? `${(n.end - n.start).toFixed(3)} s` : ""}>
                    <i className={`t-${n.type}`} style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} />
                  </span>
                </div>
              );
            })}
          </div>
        </div>
        {selected && !thread && <SpanDetail project={project} source={source} id={selected} onSaved={() => onSaved?.(rootSpanId)} />}
      </div>
    </div>
  );
}

function SpanDetail({ project, source, id, onSaved }: { project: Project; source: Source; id: string; onSaved?: () => void }) {
  // undefined while it loads; null when there is no such span (a deleted one, a link's typo).
  const [row, setRow] = useState<any>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [adding, setAdding] = useState(false);
  const [added, setAdded] = useState<Added | null>(null);
  useEffect(() => setAdded(null), [id]); // (the notice is of the span it was added from)
  useEffect(() => {
    setRow((r: any) => (r === null ? undefined : r));
    btql(`select: * | from: ${sourceExpr(source)} | filter: id = ${lit(id)} | limit: 1`)
      .then((r) => setRow(r.data[0] ?? null))
      .catch((e) => setError(e.message));
  }, [source.id, id, version]); // eslint-disable-line react-hooks/exhaustive-deps
  const reload = () => {
    setVersion(version + 1);
    onSaved?.();
  };
  if (error) return <div className="span-detail error">{error}</div>;
  if (row === null)
    return (
      <div className="span-detail empty" data-testid="span-missing">
        No span with id <code>{id}</code>: it was deleted, or the link names another one.
      </div>
    );
  if (!row) return <div className="span-detail empty">Loading span…</div>;
  const metrics = row.metrics || {};
  const dur = metrics.end != null && metrics.start != null ? metrics.end - metrics.start : null;
  return (
    <div className="span-detail" data-testid="span-detail">
      <h3>
        {row.span_attributes?.name || "span"} <span className="muted">{row.span_attributes?.type}</span>
      </h3>
      <div className="kv">
        {dur != null && <span>Duration {fmtNumber(dur, 3)} s</span>}
        {(metrics.total_tokens ?? metrics.tokens) != null && <span>Tokens {fmtNumber(metrics.total_tokens ?? metrics.tokens)}</span>}
        {metrics.estimated_cost != null && <span>Cost {fmtNumber(metrics.estimated_cost, 5)}</span>}
        <span className="muted">id {row.id}</span>
      </div>
      {row.is_root && <TagEditor key={row.id} source={source} row={row} onSaved={reload} />}
      <Section title="Scores" value={row.scores} testId="scores" />
      <ReviewFlag source={source} row={row} />
      <HumanReview projectId={project.id} source={source} row={row} onSaved={reload} />
      <ScoreForm source={source} id={row.id} onSaved={reload} />
      {row.error != null && <Section title="Error" value={row.error} />}
      <Section title="Input" value={row.input} />
      <Section title="Output" value={row.output} />
      <Section title="Expected" value={row.expected} />
      {row.output != null && JSON.stringify(row.output) !== JSON.stringify(row.expected) && <OutputToExpected key={row.id} source={source} row={row} onSaved={reload} />}
      <Section title="Metadata" value={row.metadata} />
      <Section title="Metrics" value={row.metrics} />
      <Comments source={source} row={row} onSaved={reload} />
      <button
        onClick={() => {
          setAdded(null);
          setAdding(true);
        }}
        data-testid="span-add-to-dataset"
      >
        Add this span to a dataset
      </button>
      {added && <AddedNotice project={project} added={added} />}
      {adding && (
        <AddToDataset
          project={project}
          source={source}
          spanIds={[row.id]}
          onClose={(done) => {
            setAdding(false);
            setAdded(done);
          }}
        />
      )}
    </div>
  );
}

function Section({ title, value, testId }: { title: string; value: unknown; testId?: string }) {
  if (value === null || value === undefined) return null;
  return (
    <section data-testid={testId}>
      <h4>{title}</h4>
      <div className="json">
        <Json value={value} />
      </div>
    </section>
  );
}

/** Copy the span's output to its expected value (feedback); a failure is shown, not dropped. */
function OutputToExpected({ source, row, onSaved }: { source: Source; row: any; onSaved: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const write = async () => {
    setBusy(true);
    setError(null);
    try {
      await request(`v1/${source.type}/${source.id}/feedback`, { body: { feedback: [{ id: row.id, expected: row.output, source: "app" }] } });
      onSaved();
    } catch (e: any) {
      setError(`Not written to expected: ${e.message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="output-to-expected">
      <button onClick={write} disabled={busy} data-testid="output-to-expected">
        {busy ? "Writing…" : "Write the output to expected"}
      </button>
      {error && (
        <div className="error" data-testid="output-to-expected-error">
          {error}
        </div>
      )}
    </div>
  );
}

function TagEditor({ source, row, onSaved }: { source: Source; row: any; onSaved: () => void }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The tags just stored, shown (and built on) until the span's row is read again.
  const [stored, setStored] = useState<string[] | null>(null);
  useEffect(() => setStored(null), [row]);
  const tags: string[] = stored ?? row.tags ?? [];
  const configured = useProjectTags().filter((t) => !tags.includes(t.name));
  // Tags are replaced as a whole (a merge that stops at "tags"), so removing one works. One
  // save at a time, each from the tags last stored: a second one started from the tags before
  // the first would drop its change. The box is emptied only once its tag is stored; on a
  // failure it keeps the text, the tags shown stay those stored, and the error says why.
  const save = async (next: string[], typed = false) => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await request(`v1/${source.type}/${source.id}/insert`, {
        body: { events: [{ id: row.id, tags: next, _is_merge: true, _merge_paths: [["tags"]] }] },
      });
      setStored(next);
      if (typed) setText("");
      onSaved();
    } catch (e: any) {
      setError(`Tags not saved: ${e.message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="tags-edit" data-testid="tag-editor">
      <h4>Tags</h4>
      {tags.map((t) => (
        <TagChip name={t} key={t}>
          {" "}
          <button className="icon" disabled={busy} onClick={() => save(tags.filter((x) => x !== t))} title={`Remove ${t}`}>
            ×
          </button>
        </TagChip>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const tag = text.trim();
          if (!tag) return;
          if (tags.includes(tag)) setText("");
          else save([...tags, tag], true);
        }}
      >
        <input value={text} onChange={(e) => setText(e.target.value)} readOnly={busy} placeholder="add a tag" list="configured-tags" data-testid="tag-input" />
        <datalist id="configured-tags">
          {configured.map((t) => (
            <option key={t.id} value={t.name}>
              {t.description || ""}
            </option>
          ))}
        </datalist>
      </form>
      {configured.length > 0 && (
        <div className="tag-suggestions" data-testid="tag-suggestions">
          {configured.slice(0, 12).map((t) => (
            <button key={t.id} className="link" disabled={busy} onClick={() => save([...tags, t.name])} title={t.description || `Add ${t.name}`} data-testid="tag-suggestion">
              <TagChip name={t.name}>+</TagChip>
            </button>
          ))}
        </div>
      )}
      {error && (
        <div className="error" data-testid="tag-error">
          {error}
        </div>
      )}
    </section>
  );
}

function ScoreForm({ source, id, onSaved }: { source: Source; id: string; onSaved: () => void }) {
  const [name, setName] = useState("");
  const [value, setValue] = useState(1);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="score-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setError(null);
        try {
          await request(`v1/${source.type}/${source.id}/feedback`, {
            body: { feedback: [{ id, scores: { [name.trim()]: value }, source: "app" }] },
          });
          setName("");
          onSaved();
        } catch (err: any) {
          setError(err.message);
        }
      }}
    >
      <input placeholder="human score name" value={name} onChange={(e) => setName(e.target.value)} data-testid="score-name" />
      <input type="range" min={0} max={1} step={0.05} value={value} onChange={(e) => setValue(Number(e.target.value))} />
      <input type="number" min={0} max={1} step={0.05} value={value} onChange={(e) => setValue(Number(e.target.value))} data-testid="score-value" className="num" />
      <button disabled={!name.trim()} data-testid="score-save">
        Add score
      </button>
      {error && <span className="error">{error}</span>}
    </form>
  );
}

/** One comment: its author and time, its text; ✎ edits the text in place (the author stays the
 * one who wrote it: the server keeps a comment's user_id), × deletes it. */
function Comment({ source, rowId, comment: c, onSaved, onError }: { source: Source; rowId: string; comment: any; onSaved: () => void; onError: (e: string | null) => void }) {
  const text = typeof c.comment?.text === "string" ? c.comment.text : null;
  const [draft, setDraft] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [editError, setEditError] = useState<string | null>(null);
  const save = async () => {
    if (draft === null || busy) return;
    setBusy(true);
    setEditError(null);
    try {
      // A comment is a row of its own id: a merge of its `comment` replaces the text and keeps
      // the rest of it, its `created` and its author (docs/write-semantics.md).
      await request(`v1/${source.type}/${source.id}/insert`, {
        body: { events: [{ id: c.id, origin: { id: rowId }, comment: { text: draft }, _is_merge: true }] },
      });
      setDraft(null);
      onSaved();
    } catch (err: any) {
      setEditError(`Comment not saved: ${err.message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="comment" data-testid="comment">
      {/* Who wrote it (the API key's name, the server's user_id; none for a comment stored
          before comments recorded it) and when. */}
      <div className="comment-head">
        <strong data-testid="comment-author">{c.user_id || "unknown author"}</strong>{" "}
        <span className="muted" title={c.created} data-testid="comment-time">
          {fmtTime(c.created)}
        </span>{" "}
        {draft === null && (
          <button
            className="icon"
            title="Edit this comment"
            data-testid="comment-edit"
            onClick={() => {
              setEditError(null);
              setDraft(text ?? "");
            }}
          >
            ✎
          </button>
        )}
        <button
          className="icon"
          title="Delete this comment"
          data-testid="comment-delete"
          onClick={async () => {
            if (!confirm("Delete this comment?")) return;
            onError(null);
            try {
              // A comment is deleted by its own id (docs/write-semantics.md).
              await request(`v1/${source.type}/${source.id}/insert`, { body: { events: [{ id: c.id, _object_delete: true }] } });
              onSaved();
            } catch (err: any) {
              onError(`Comment not deleted: ${err.message}`);
            }
          }}
        >
          ×
        </button>
      </div>
      {draft === null ? (
        <div data-testid="comment-text">{text ?? JSON.stringify(c.comment)}</div>
      ) : (
        <form
          className="comment-edit"
          onSubmit={(e) => {
            e.preventDefault();
            save();
          }}
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.stopPropagation();
              setDraft(null);
              setEditError(null);
            }
          }}
        >
          <textarea value={draft} onChange={(e) => setDraft(e.target.value)} rows={2} autoFocus data-testid="comment-edit-input" />
          {/* An empty comment is deleted with ×, not saved blank. */}
          <button disabled={busy || !draft.trim() || draft === text} data-testid="comment-edit-save">
            {busy ? "Saving…" : "Save"}
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(null);
              setEditError(null);
            }}
            data-testid="comment-edit-cancel"
          >
            Cancel
          </button>
        </form>
      )}
      {editError && (
        <div className="error" data-testid="comment-edit-error">
          {editError}
        </div>
      )}
    </div>
  );
}

function Comments({ source, row, onSaved }: { source: Source; row: any; onSaved: () => void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const comments: any[] = row.comments || [];
  return (
    <section data-testid="comments">
      <h4>Comments</h4>
      {comments.map((c) => (
        <Comment key={c.id} source={source} rowId={row.id} comment={c} onSaved={onSaved} onError={setError} />
      ))}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            await request(`v1/${source.type}/${source.id}/feedback`, { body: { feedback: [{ id: row.id, comment: text, source: "app" }] } });
            setText("");
            onSaved();
          } catch (err: any) {
            setError(err.message);
          }
        }}
      >
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder="add a comment" data-testid="comment-input" />
        <button disabled={!text.trim()}>Comment</button>
        {error && (
          <span className="error" data-testid="comment-error">
            {error}
          </span>
        )}
      </form>
    </section>
  );
}
