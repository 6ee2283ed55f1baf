// Saved views of the logs screen (/v1/view): the built-in views (All, Errors, Non-errors,
// Unreviewed, Assigned to me) and the table's saved ones; save the current filters, columns,
// sort, row type and Group by as a view, rename or delete it, and make a view your default
// (/v1/view_default, per user = per API key name). The selected view is in the URL (`view`).
// Group by is stored as Braintrust's views store it, `options.grouping` (the field), and the
// group picked, if any, as `view_data.search.group` ({ value }); a view without them (saved
// before they were kept) opens without Group by, as a view without columns opens with the
// default ones.
import { useEffect, useRef, useState } from "react";
import { lit, request } from "../api";
import { setParams } from "../router";
import { parseGroupValue } from "./Groups";
import { Cond, Source } from "./logsQuery";

export type SavedView = {
  id: string;
  name: string;
  view_data: { search?: { filter?: string; conds?: Cond[]; q?: string; range?: string; sort?: string; group?: { value?: unknown } } } | null;
  options: { rows?: string; columns?: string; grouping?: string | null } | null;
};

// The URL parameters a view sets (all of them, so a view replaces the previous one's state).
export const VIEW_PARAMS = ["rows", "filter", "conds", "q", "range", "sort", "cols", "group", "gval", "tab"] as const;

type Builtin = { id: string; name: string; params: Record<string, string | undefined> };
// The server accepts these ids as a personal default (BUILTIN_VIEWS in store/views.py).
export const BUILTIN_VIEWS: Builtin[] = [
  { id: "builtin:all", name: "All", params: {} },
  { id: "builtin:errors", name: "Errors", params: { conds: JSON.stringify([{ field: "error", op: "is not null", value: "" }]) } },
  // "Non-errors" must hold for every span of a trace, which the Basic tab cannot say.
  { id: "builtin:non_errors", name: "Non-errors", params: { filter: "NOT ANY_SPAN(error IS NOT NULL)", tab: "btql" } },
  { id: "builtin:unreviewed", name: "Unreviewed", params: {} },
  { id: "builtin:assigned", name: "Assigned to me", params: {} },
];

/** The table a logs screen shows, as /v1/view names it. */
export function viewTable(source: Source): { object_type: string; object_id: string; view_type: string } {
  return source.type === "experiment"
    ? { object_type: "experiment", object_id: source.id, view_type: "experiment" }
    : { object_type: "project", object_id: source.id, view_type: "logs" };
}

/** The URL parameters of a view (built-in or saved). */
export function viewParams(view: SavedView | Builtin): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = Object.fromEntries(VIEW_PARAMS.map((k) => [k, undefined]));
  if ("params" in view) return { ...out, ...view.params, view: view.id };
  const s = view.view_data?.search || {};
  const grouping = typeof view.options?.grouping === "string" && view.options.grouping ? view.options.grouping : undefined;
  const picked = grouping && s.group && typeof s.group === "object" ? JSON.stringify(s.group.value ?? null) : undefined;
  return {
    ...out,
    filter: s.filter || undefined,
    conds: s.conds?.length ? JSON.stringify(s.conds) : undefined,
    q: s.q || undefined,
    range: s.range || undefined,
    sort: s.sort || undefined,
    rows: view.options?.rows === "spans" ? "spans" : undefined,
    cols: view.options?.columns || undefined,
    group: grouping,
    gval: picked,
    tab: s.filter ? "btql" : undefined,
    view: view.id,
  };
}

/** A view's stored form, from the current URL parameters. */
function viewBody(params: URLSearchParams) {
  let conds: Cond[] = [];
  try {
    conds = JSON.parse(params.get("conds") || "[]");
  } catch {
    /* keep none */
  }
  const grouping = params.get("group") || "";
  const picked = grouping ? parseGroupValue(params.get("gval")) : null;
  return {
    view_data: {
      search: {
        filter: params.get("filter") || "",
        conds,
        q: params.get("q") || "",
        range: params.get("range") || "",
        sort: params.get("sort") || "",
        ...(picked ? { group: { value: picked.value } } : {}),
      },
    },
    options: { rows: params.get("rows") === "spans" ? "spans" : "traces", columns: params.get("cols") || "", ...(grouping ? { grouping } : {}) },
  };
}

function sameState(view: SavedView, params: URLSearchParams): boolean {
  const want = viewParams(view);
  return VIEW_PARAMS.filter((k) => k !== "tab").every((k) => (want[k] || "") === (params.get(k) || ""));
}

/** The review filter of the Unreviewed and Assigned-to-me views: null when the view has none,
 * undefined while the ids load. Unreviewed = no completed review item; assigned = an item
 * assigned to the caller (any status). In Live mode the review items are asked for again
 * every few seconds, and the filter changes (so the rows reload) only when they did. */
export function useReviewFilter(viewId: string | null, source: Source, spans: boolean, live = false): string | null | undefined {
  const needed = viewId === "builtin:unreviewed" || viewId === "builtin:assigned";
  const key = `${viewId}|${source.type}|${source.id}|${spans}`;
  // Keyed by what it was asked for, so a view change never shows the previous view's filter.
  const [got, setGot] = useState<{ key: string; filter: string | null } | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!needed || !live) return;
    const timer = setInterval(() => setTick((t) => t + 1), 4000);
    return () => clearInterval(timer);
  }, [needed, live]);
  useEffect(() => {
    if (!needed) return;
    const unreviewed = viewId === "builtin:unreviewed";
    const query = { object_id: source.id, ...(unreviewed ? { status: "completed" } : { assignee: "me" }) };
    const keep = (filter: string | null) =>
      setGot((old) => (old && old.key === key && old.filter === filter ? old : { key, filter }));
    request("v1/review_item", { query })
      .then((r) => {
        const items = r.objects.filter((i: any) => i.object_type === source.type);
        const ids: string[] = [...new Set<string>(items.map((i: any) => (spans ? i.row_id : i.root_span_id || i.row_id)))];
        ids.sort();
        const list = `${spans ? "id" : "root_span_id"} IN (${ids.map(lit).join(", ")})`;
        keep(unreviewed ? (ids.length ? `NOT (${list})` : null) : ids.length ? list : "false");
      })
      .catch(() => keep("false"));
  }, [key, tick]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!needed) return null;
  return got && got.key === key ? got.filter : undefined;
}

/** On a first visit without any state in the URL, apply the user's default view. */
export function useDefaultView(source: Source, params: URLSearchParams) {
  useEffect(() => {
    if (params.get("view") || VIEW_PARAMS.some((k) => params.get(k))) return;
    let gone = false;
    request("v1/view_default", { query: viewTable(source) })
      .then(async (d) => {
        if (gone || !d.view_id) return;
        const builtin = BUILTIN_VIEWS.find((b) => b.id === d.view_id);
        const view = builtin ?? (await request(`v1/view/${d.view_id}`));
        if (!gone) setParams(viewParams(view));
      })
      .catch(() => {});
    return () => {
      gone = true;
    };
  }, [source.id]); // eslint-disable-line react-hooks/exhaustive-deps
}

export function ViewBar({ source, params }: { source: Source; params: URLSearchParams }) {
  const table = viewTable(source);
  const [views, setViews] = useState<SavedView[]>([]);
  const [defaultId, setDefaultId] = useState<string | null>(null);
  const [naming, setNaming] = useState<null | "save" | "rename">(null);
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const current = params.get("view");
  // The form cancelled: the button that opened it takes the focus back (it was in the form).
  const refocus = useRef<null | "save" | "rename">(null);
  const saveButton = useRef<HTMLButtonElement>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (naming || !refocus.current) return;
    (refocus.current === "rename" ? renameButton : saveButton).current?.focus();
    refocus.current = null;
  }, [naming]);
  useEffect(() => {
    request("v1/view", { query: table })
      .then((r) => setViews(r.objects.sort((a: SavedView, b: SavedView) => a.name.localeCompare(b.name))))
      .catch((e) => setError(e.message));
    request("v1/view_default", { query: table })
      .then((d) => setDefaultId(d.view_id))
      .catch(() => {});
  }, [source.id, version]); // eslint-disable-line react-hooks/exhaustive-deps
  const saved = views.find((v) => v.id === current);
  const modified = saved ? !sameState(saved, params) : false;
  const act = async (fn: () => Promise<any>) => {
    setError(null);
    try {
      await fn();
      setVersion((v) => v + 1);
    } catch (e: any) {
      setError(e.message);
    }
  };
  const submitName = () =>
    act(async () => {
      if (naming === "rename" && saved) await request(`v1/view/${saved.id}`, { method: "PATCH", body: { name: name.trim() } });
      else {
        // The server answers a taken name with the view that has it (create-or-get, as
        // Braintrust's API): say so instead of switching to that view.
        // (One saved meanwhile, by another tab or user, is asked for by name.)
        const taken =
          views.find((v) => v.name === name.trim()) ?? (await request("v1/view", { query: { ...table, view_name: name.trim() } })).objects[0];
        if (taken) {
          setVersion((v) => v + 1);
          throw new Error(`A view named “${taken.name}” already exists: choose another name, or pick that view and update it.`);
        }
        const view = await request("v1/view", { body: { ...table, name: name.trim(), ...viewBody(params) } });
        setParams({ view: view.id });
      }
      setNaming(null);
    });
  return (
    <span className="viewbar" data-testid="view-bar">
      <select
        value={current ?? ""}
        data-testid="view-picker"
        title="Views: built-in and saved"
        onChange={(e) => {
          const id = e.target.value;
          const view = BUILTIN_VIEWS.find((b) => b.id === id) ?? views.find((v) => v.id === id);
          if (view) setParams(viewParams(view));
        }}
      >
        {!current && <option value="">View…</option>}
        <optgroup label="Built-in">
          {BUILTIN_VIEWS.map((b) => (
            <option key={b.id} value={b.id}>
              {b.name}
              {defaultId === b.id ? " ★" : ""}
            </option>
          ))}
        </optgroup>
        {views.length > 0 && (
          <optgroup label="Saved">
            {views.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name}
                {defaultId === v.id ? " ★" : ""}
                {v.id === current && modified ? " (modified)" : ""}
              </option>
            ))}
          </optgroup>
        )}
      </select>
      {naming ? (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (name.trim()) submitName();
          }}
          // Escape cancels, as it closes a dialog (taken: a trace panel behind stays open),
          // and the focus goes back to the button that opened the form.
          onKeyDown={(e) => {
            if (e.key !== "Escape" || e.defaultPrevented) return;
            e.preventDefault();
            refocus.current = naming;
            setNaming(null);
          }}
        >
          <input autoFocus value={name} onChange={(e) => setName(e.target.value)} placeholder="View name" data-testid="view-name" />
          <button type="submit" data-testid="view-name-ok">
            {naming === "save" ? "Save" : "Rename"}
          </button>
          <button
            type="button"
            onClick={() => {
              refocus.current = naming;
              setNaming(null);
            }}
          >
            Cancel
          </button>
        </form>
      ) : (
        <>
          <button
            ref={saveButton}
            onClick={() => {
              setName("");
              setNaming("save");
            }}
            data-testid="save-view"
            title="Save the filters, search, time range, columns, sort, row type and Group by as a view"
          >
            Save view
          </button>
          {saved && modified && (
            <button onClick={() => act(() => request(`v1/view/${saved.id}`, { method: "PATCH", body: viewBody(params) }))} data-testid="update-view">
              Update “{saved.name}”
            </button>
          )}
          {saved && (
            <>
              <button
                ref={renameButton}
                onClick={() => {
                  setName(saved.name);
                  setNaming("rename");
                }}
                data-testid="rename-view"
              >
                Rename
              </button>
              <button
                onClick={() =>
                  // Shared with the organization: deleted only once the user says so, as every delete.
                  confirm(`Delete the view “${saved.name}”? It is shared with the organization.`) &&
                  act(async () => {
                    await request(`v1/view/${saved.id}`, { method: "DELETE" });
                    setParams({ view: undefined });
                  })
                }
                data-testid="delete-view"
              >
                Delete
              </button>
            </>
          )}
          {current && (
            <button
              className={defaultId === current ? "on" : ""}
              onClick={() => act(() => request("v1/view_default", { method: "PUT", body: { ...table, view_id: defaultId === current ? null : current } }))}
              data-testid="default-view"
              title="Open this view when you come to this screen (your default; other users keep theirs)"
            >
              {defaultId === current ? "★ My default" : "☆ Make default"}
            </button>
          )}
        </>
      )}
      {error && (
        <span className="error" data-testid="view-error">
          {error}
        </span>
      )}
    </span>
  );
}
