// The review queue of a project: spans and dataset rows flagged for human review
// (/v1/review_item), Awaiting, Assigned to me or Completed; open one (a span in its trace, a
// dataset row in its editor), assign it, mark it reviewed, reopen or remove it. ReviewFlag is
// the "Flag for review" / "Assign to…" / "Mark reviewed" control of a span's detail and of a
// dataset row's editor. A user is an API key's name (/v1/user). A change the server refuses (or
// that fails) shows the server's message where it was made, and what is shown stays what is
// stored.
import { useEffect, useState } from "react";
import type { Project } from "../App";
import { activeSession, request } from "../api";
import { href, setParams, useRoute } from "../router";

/** What a review item is on: a project's logs, an experiment, or a dataset. */
export type ReviewSource = { type: "project_logs" | "experiment" | "dataset"; id: string };

export type Item = {
  id: string;
  object_type: string;
  object_id: string;
  row_id: string;
  root_span_id: string | null;
  span_name: string | null;
  status: "awaiting" | "completed";
  assignee: string | null;
  created: string;
  updated: string;
};

function openHref(project: Project, item: Item): string {
  if (item.object_type === "dataset") return href(["p", project.id, "datasets", item.object_id], { row: item.row_id });
  const params = { trace: item.root_span_id || item.row_id, span: item.row_id };
  return item.object_type === "experiment" ? href(["p", project.id, "experiments", item.object_id], params) : href(["p", project.id, "logs"], params);
}

export type User = { id: string; name: string; role: string; is_me: boolean };

let usersPromise: Promise<User[]> | null = null;
let usersKey: string | undefined;
/** The organization's users (API key names), asked once per signed-in key. */
export function useUsers(): User[] {
  const [users, setUsers] = useState<User[]>([]);
  useEffect(() => {
    const key = activeSession()?.key;
    if (!usersPromise || usersKey !== key) {
      usersKey = key;
      usersPromise = request("v1/user").then((r) => r.objects as User[]);
      usersPromise.catch(() => (usersPromise = null));
    }
    usersPromise.then(setUsers).catch(() => {});
  }, []);
  return users;
}

/** "Assign to…": a user, me, or nobody. */
export function AssignSelect({ value, onChange, testId, disabled }: { value: string | null; onChange: (v: string | null) => void; testId: string; disabled?: boolean }) {
  const users = useUsers();
  return (
    <select className="assign" value={value ?? ""} disabled={disabled} onChange={(e) => onChange(e.target.value || null)} data-testid={testId} title="Assign the review to a user (an API key's name)">
      <option value="">{value ? "Unassign" : "Assign to…"}</option>
      {users.map((u) => (
        <option key={u.id} value={u.name}>
          {u.name}
          {u.is_me ? " (me)" : ""}
        </option>
      ))}
    </select>
  );
}

const TABS = [
  ["awaiting", "Awaiting"],
  ["mine", "Assigned to me"],
  ["completed", "Completed"],
] as const;

export function Review({ project }: { project: Project }) {
  const { params } = useRoute();
  const tab = TABS.find((t) => t[0] === params.get("status"))?.[0] ?? "awaiting";
  const status = tab === "completed" ? "completed" : "awaiting";
  // The list and the (project, tab) it was read for: on a change of tab the first render
  // must not show the other tab's items, which the effects below replace only after it.
  const listKey = `${project.id}|${tab}`;
  const [loaded, setLoaded] = useState<{ key: string; items: Item[] } | null>(null);
  const items = loaded && loaded.key === listKey ? loaded.items : null;
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const [datasets, setDatasets] = useState<Record<string, string>>({});
  useEffect(() => {
    request("v1/dataset", { query: { project_id: project.id } })
      .then((r) => setDatasets(Object.fromEntries(r.objects.map((d: any) => [d.id, d.name]))))
      .catch(() => setDatasets({}));
  }, [project.id]);
  // The item a change is being saved for, and the last change that failed.
  const [busy, setBusy] = useState<string | null>(null);
  const [failed, setFailed] = useState<{ id: string; message: string } | null>(null);
  useEffect(() => {
    setLoaded(null);
    setFailed(null);
  }, [project.id, tab]);
  useEffect(() => {
    let gone = false;
    setError(null);
    request("v1/review_item", { query: { project_id: project.id, status, assignee: tab === "mine" ? "me" : undefined } })
      .then((r) => !gone && setLoaded({ key: listKey, items: r.objects }))
      .catch((e) => !gone && setError(e.message));
    return () => {
      gone = true;
    };
  }, [project.id, tab, version]); // eslint-disable-line react-hooks/exhaustive-deps
  // The list shows a change once the server stored it. A failure is shown on the item's row
  // (above the list once the row is gone) and the list is read again, so that it shows what is
  // stored: a controlled select goes back to the stored assignee, an item removed meanwhile goes.
  const act = async (item: Item, body: object | null, what: string) => {
    if (busy) return;
    setBusy(item.id);
    setFailed(null);
    try {
      await request(`v1/review_item/${item.id}`, body ? { method: "PATCH", body } : { method: "DELETE" });
    } catch (e: any) {
      setFailed({ id: item.id, message: `${what}: ${e.message}` });
    } finally {
      setBusy(null);
      setVersion((v) => v + 1);
    }
  };
  // Each tab's count, from the server (GET /v1/review_item_counts), read again with the list:
  // on a change of tab, after each change made here, and when the window gets the focus back
  // (list and counts: a span or a dataset row may have been flagged meanwhile in another one).
  const [counts, setCounts] = useState<{ key: string; data: Record<string, number> } | null>(null);
  useEffect(() => {
    const onFocus = () => setVersion((v) => v + 1);
    window.addEventListener("focus", onFocus);
    return () => window.removeEventListener("focus", onFocus);
  }, []);
  useEffect(() => {
    let gone = false;
    request("v1/review_item_counts", { query: { project_id: project.id } })
      .then((r) => !gone && setCounts({ key: project.id, data: r }))
      .catch(() => !gone && setCounts(null));
    return () => {
      gone = true;
    };
  }, [project.id, tab, version]);
  const countOf = (id: string) => (counts && counts.key === project.id ? counts.data[id === "mine" ? "assigned_to_me" : id] : undefined);
  const failedRowShown = !!failed && !!items?.some((i) => i.id === failed.id);
  return (
    <div className="page" data-testid="review-queue">
      <div className="toolbar">
        <h2>Review</h2>
        <span className="tabs">
          {TABS.map(([id, label]) => (
            <button key={id} className={tab === id ? "on" : ""} onClick={() => setParams({ status: id === "awaiting" ? undefined : id })} data-testid={`review-${id}`}>
              {label}
              {countOf(id) !== undefined && (
                <span className="tab-count" data-testid={`review-count-${id}`}>
                  {countOf(id)!.toLocaleString()}
                </span>
              )}
            </button>
          ))}
        </span>
      </div>
      {error && <div className="error">{error}</div>}
      {failed && !failedRowShown && (
        <div className="error" data-testid="review-item-error">
          {failed.message}
        </div>
      )}
      {items && items.length === 0 && (
        <div className="empty">
          {tab === "awaiting" ? "Nothing awaits review. Flag a span (from its detail) or a dataset row (from its editor) for review." : tab === "mine" ? "Nothing is assigned to you." : "No review completed yet."}
        </div>
      )}
      {items && items.length > 0 && (
        <table className="simple">
          <thead>
            <tr>
              <th>Item</th>
              <th>In</th>
              <th>Row</th>
              <th>Assignee</th>
              <th>{status === "awaiting" ? "Flagged" : "Completed"}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id} data-testid="review-item">
                <td className="wrap">
                  <a href={openHref(project, item)} data-testid="review-open">
                    {item.object_type === "dataset" ? datasets[item.object_id] || "dataset row" : item.span_name || "span"}
                  </a>
                </td>
                <td>{item.object_type === "project_logs" ? "logs" : item.object_type}</td>
                <td>
                  <code>{item.row_id}</code>
                </td>
                <td>
                  <AssignSelect
                    value={item.assignee}
                    disabled={busy === item.id}
                    onChange={(assignee) => act(item, { assignee }, assignee ? `Not assigned to ${assignee}` : "Not unassigned")}
                    testId="review-assignee"
                  />
                </td>
                <td className="muted">{(status === "awaiting" ? item.created : item.updated).replace("T", " ").slice(0, 19)}</td>
                <td>
                  {status === "awaiting" ? (
                    <button disabled={busy === item.id} onClick={() => act(item, { status: "completed" }, "Not marked reviewed")} data-testid="review-complete">
                      Mark reviewed
                    </button>
                  ) : (
                    <button disabled={busy === item.id} onClick={() => act(item, { status: "awaiting" }, "Not reopened")} data-testid="review-reopen">
                      Reopen
                    </button>
                  )}{" "}
                  <button className="icon" disabled={busy === item.id} onClick={() => act(item, null, "Not removed")} title="Remove from the queue" data-testid="review-remove">
                    ×
                  </button>
                  {failed?.id === item.id && (
                    <div className="error" data-testid="review-item-error">
                      {failed.message}
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The review state of a span (its row) or a dataset row, with flag, assign, mark reviewed and
 * reopen; `onChange` hears of every change. */
export function ReviewFlag({ source, row, onChange }: { source: ReviewSource; row: any; onChange?: (item: Item) => void }) {
  // undefined while it loads; null: not flagged.
  const [item, setItem] = useState<Item | null | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    request("v1/review_item", { query: { object_id: source.id, row_id: row.id } }).then((r) => {
      setItem(r.objects.find((i: Item) => i.object_type === source.type) ?? null);
      setLoadError(null);
    });
  useEffect(() => {
    setItem(undefined);
    setError(null);
    // Not knowing the review state is not "not flagged": say so instead of offering to flag.
    load().catch((e) => setLoadError(`Review state not loaded: ${e.message}`));
  }, [source.id, row.id]); // eslint-disable-line react-hooks/exhaustive-deps
  if (item === undefined)
    return loadError ? (
      <div className="review-flag error" data-testid="review-flag-error">
        {loadError}
      </div>
    ) : null;
  // A span's item names its trace and span; a dataset row's is the row alone.
  const target =
    source.type === "dataset"
      ? { object_type: source.type, object_id: source.id, row_id: row.id }
      : { object_type: source.type, object_id: source.id, row_id: row.id, root_span_id: row.root_span_id, span_name: row.span_attributes?.name ?? null };
  // One change at a time. The state shown changes only with the server's answer; on a failure
  // the error says why and the item is read again (another user may have changed or removed
  // it meanwhile), so what is shown is what is stored.
  const change = async (what: string, send: () => Promise<Item>) => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const next = await send();
      setItem(next);
      onChange?.(next);
    } catch (e: any) {
      setError(`${what}: ${e.message}`);
      await load().catch(() => {});
    } finally {
      setBusy(false);
    }
  };
  const flag = () => change("Not flagged", () => request("v1/review_item", { body: target }));
  const mark = (status: string) =>
    change(status === "completed" ? "Not marked reviewed" : "Not reopened", () => request(`v1/review_item/${item!.id}`, { method: "PATCH", body: { status } }));
  const assign = (assignee: string | null) => {
    const what = assignee ? `Not assigned to ${assignee}` : "Not unassigned";
    if (item) change(what, () => request(`v1/review_item/${item.id}`, { method: "PATCH", body: { assignee } }));
    else if (assignee) change(what, () => request("v1/review_item", { body: { ...target, assignee } }));
  };
  return (
    <div className="review-flag" data-testid="review-flag">
      {!item && (
        <button onClick={flag} disabled={busy} data-testid="flag-for-review">
          Flag for review
        </button>
      )}
      {item?.status === "awaiting" && (
        <>
          <span className="badge" data-testid="review-state">
            awaiting review
          </span>{" "}
          <button onClick={() => mark("completed")} disabled={busy} data-testid="mark-reviewed">
            Mark reviewed
          </button>
        </>
      )}
      {item?.status === "completed" && (
        <>
          <span className="badge" data-testid="review-state">
            reviewed ✓
          </span>{" "}
          <button onClick={() => mark("awaiting")} disabled={busy} data-testid="reopen-review">
            Reopen
          </button>
        </>
      )}
      <AssignSelect value={item?.assignee ?? null} onChange={assign} disabled={busy} testId="assign-review" />
      {item?.assignee && (
        <span className="badge" data-testid="assigned-to">
          assigned to {item.assignee}
        </span>
      )}
      {error && (
        <div className="error" data-testid="review-flag-error">
          {error}
        </div>
      )}
    </div>
  );
}
