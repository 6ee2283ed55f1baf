// The datasets of a project: row counts, tags (in the project's tag colours; edited in place,
// stored on the dataset) and stars (kept on the server per API key, "starred by this key";
// starred datasets come first); "+ Dataset", and "Upload CSV/JSON" into a new dataset.
import { useCallback, useEffect, useRef, useState } from "react";
import type { Project } from "../App";
import { activeSession, request } from "../api";
import { fmtTime } from "../components/DataTable";
import { useProjectConfig, useProjectTags } from "../projectConfig";
import { href, navigate, setParams, useRoute } from "../router";
import { TagChip } from "./Tags";
import { UploadDialog } from "./Upload";
import { Dialog } from "../components/Dialog";

// Stars used to live in this browser's local storage (one list for every organization signed
// in here): each organization's key sends them to the server once; ids the server does not
// know for it (404: another organization's, or deleted) stay for the other organizations, and
// the list is dropped once every id found a home.
const LEGACY_STARS = "tracelake.starred-datasets";
const legacyDone = (orgId: string) => `${LEGACY_STARS}.sent.${orgId}`;

async function migrateLocalStars(): Promise<void> {
  const orgId = activeSession()?.orgId;
  if (!orgId || localStorage.getItem(legacyDone(orgId))) return;
  let ids: unknown = [];
  try {
    ids = JSON.parse(localStorage.getItem(LEGACY_STARS) || "[]");
  } catch {
    ids = [];
  }
  if (!Array.isArray(ids) || ids.length === 0) return;
  const results = await Promise.allSettled(ids.map((id) => request(`v1/dataset/${encodeURIComponent(String(id))}/star`, { method: "PUT" })));
  const status = (r: PromiseSettledResult<any>) => (r.status === "rejected" ? (r.reason as any)?.status : 200);
  if (results.some((r) => status(r) === 403)) return; // a read-only key: try again with another
  const left = ids.filter((_, i) => status(results[i]) === 404);
  if (left.length) localStorage.setItem(LEGACY_STARS, JSON.stringify(left));
  else localStorage.removeItem(LEGACY_STARS);
  localStorage.setItem(legacyDone(orgId), "1");
}

function TagCell({ dataset, onSaved }: { dataset: any; onSaved: () => void }) {
  const tags: string[] = dataset.tags || [];
  const [text, setText] = useState("");
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const configured = useProjectTags().filter((t) => !tags.includes(t.name));
  // Escape leaves the editor (what is typed is not added), the focus back on its ✎ button.
  const editButton = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  useEffect(() => {
    if (editing || !refocus.current) return;
    refocus.current = false;
    editButton.current?.focus();
  }, [editing]);
  const save = async (next: string[]) => {
    setError(null);
    try {
      await request(`v1/dataset/${dataset.id}`, { method: "PATCH", body: { tags: next } });
      onSaved();
    } catch (e: any) {
      setError(`Tags not saved: ${e.message}`);
    }
  };
  return (
    <span className="dataset-tags" data-testid="dataset-tags">
      {tags.map((t) => (
        <TagChip name={t} key={t}>
          {editing && (
            <button className="icon" onClick={() => save(tags.filter((x) => x !== t))} title={`Remove ${t}`}>
              ×
            </button>
          )}
        </TagChip>
      ))}
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (text.trim() && !tags.includes(text.trim())) save([...tags, text.trim()]);
            setText("");
          }}
          onKeyDown={(e) => {
            if (e.key !== "Escape" || e.defaultPrevented) return;
            e.preventDefault();
            setText("");
            refocus.current = true;
            setEditing(false);
          }}
        >
          <input value={text} onChange={(e) => setText(e.target.value)} placeholder="add a tag" list="dataset-configured-tags" data-testid="dataset-tag-input" autoFocus />
          <datalist id="dataset-configured-tags">
            {configured.map((t) => (
              <option key={t.id} value={t.name} />
            ))}
          </datalist>
          <button type="button" className="link" onClick={() => setEditing(false)}>
            done
          </button>
        </form>
      ) : (
        <button ref={editButton} className="link" onClick={() => setEditing(true)} title="Edit tags" data-testid="dataset-edit-tags">
          ✎
        </button>
      )}
      {error && <span className="error">{error}</span>}
    </span>
  );
}

/** Create a dataset of this name, unless the project has one (the server's POST would answer
 * that one: create-or-get); the message says why not. */
async function createDataset(project: Project, name: string): Promise<any> {
  const same = await request("v1/dataset", { query: { project_id: project.id, dataset_name: name } });
  if (same.objects.length) throw new Error(`A dataset named “${name}” already exists: open it from the list, or choose another name.`);
  return request("v1/dataset", { body: { project_id: project.id, name } });
}

/** "Upload CSV/JSON" on the list: name a new dataset, then the dataset screen's upload dialog
 * (the same column mapping) imports the file into it. The dataset is created when the name is
 * confirmed (the import routes are a dataset's); closed without importing, it is deleted again
 * if it is still empty, so a cancelled upload leaves nothing behind. */
function UploadNewDataset({ project, onClose }: { project: Project; onClose: () => void }) {
  const [name, setName] = useState("");
  const [dataset, setDataset] = useState<any | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (dataset)
    return (
      <UploadDialog
        datasetId={dataset.id}
        title={`Upload to the new dataset “${dataset.name}”`}
        onClose={async (imported) => {
          if (imported) return navigate(["p", project.id, "datasets", dataset.id]);
          await request(`v1/dataset/${dataset.id}`, { method: "DELETE", query: { if_empty: "true" } }).catch(() => null);
          onClose();
        }}
      />
    );
  return (
    <Dialog testId="upload-new-dataset" onClose={onClose}>
      <h3>Upload CSV/JSON into a new dataset</h3>
      <form
        className="form"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            setDataset(await createDataset(project, name.trim()));
          } catch (err: any) {
            setError(`Dataset not created: ${err.message}`);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Name of the new dataset
          <input autoFocus value={name} onChange={(e) => setName(e.target.value)} data-testid="upload-dataset-name" />
        </label>
        {error && (
          <div className="error" data-testid="upload-dataset-error">
            {error}
          </div>
        )}
        <div className="buttons">
          <button className="primary" disabled={busy || !name.trim()} data-testid="upload-dataset-next">
            Next: choose a file
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function DatasetList({ project }: { project: Project }) {
  useProjectConfig(project.id);
  const [list, setList] = useState<any[] | null>(null);
  const [counts, setCounts] = useState<Record<string, number | { error: string } | null>>({});
  const [name, setName] = useState("");
  const [stars, setStars] = useState<Set<string>>(new Set());
  const [starError, setStarError] = useState<string | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [createError, setCreateError] = useState<string | null>(null); // (the list's reload clears its own)
  // "Starred only" is in the URL (`starred=1`), as the other screens' filters: a reload or a link keeps it.
  const onlyStarred = useRoute().params.get("starred") === "1";
  const [uploading, setUploading] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const remove = async (d: any) => {
    const n = typeof counts[d.id] === "number" ? (counts[d.id] as number) : null;
    if (!confirm(`Delete the dataset “${d.name}”${n ? ` and its ${n.toLocaleString()} row${n === 1 ? "" : "s"}` : ""}?`)) return;
    setDeleteError(null);
    try {
      await request(`v1/dataset/${d.id}`, { method: "DELETE" });
    } catch (e: any) {
      setDeleteError(`${d.name} not deleted: ${e.message}`);
    }
    load();
  };
  const loadStars = useCallback(async () => {
    await migrateLocalStars();
    const r = await request("v1/dataset_star", { query: { project_id: project.id } });
    setStars(new Set(r.objects.map((s: any) => s.dataset_id)));
  }, [project.id]);
  useEffect(() => {
    loadStars().catch((e) => setStarError(e.message));
  }, [loadStars]);
  const load = useCallback(() => {
    request("v1/dataset", { query: { project_id: project.id, limit: "1000" } })
      .then(async (r) => {
        setList(r.objects);
        setListError(null);
        // A count that fails to load says so in its cell (it was blank, as if still loading).
        const sums = await Promise.all(r.objects.map((d: any) => request(`v1/dataset/${d.id}/summarize`).catch((e: any) => ({ error: e.message }))));
        setCounts(Object.fromEntries(r.objects.map((d: any, i: number) => [d.id, sums[i]?.error ? { error: sums[i].error } : sums[i]?.data_summary?.total_records ?? null])));
      })
      .catch((e) => setListError(`Datasets not loaded: ${e.message}`));
  }, [project.id]);
  useEffect(load, [load]);
  const toggleStar = async (id: string) => {
    const on = stars.has(id);
    try {
      await request(`v1/dataset/${id}/star`, { method: on ? "DELETE" : "PUT" });
      const next = new Set(stars);
      if (on) next.delete(id);
      else next.add(id);
      setStars(next);
      setStarError(null);
    } catch (e: any) {
      setStarError(e.message);
    }
  };
  const shown = (list || []).filter((d) => !onlyStarred || stars.has(d.id)).sort((a, b) => Number(stars.has(b.id)) - Number(stars.has(a.id)));
  return (
    <div className="page">
      <div className="toolbar">
        <h2>Datasets</h2>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            // The server answers a taken name with the dataset that has it (create-or-get, as
            // Braintrust's API): say so instead of opening it as if it were new (asked by name:
            // the list may not be loaded yet, or be older than a dataset made meanwhile).
            setCreateError(null);
            try {
              const d = await createDataset(project, name.trim());
              navigate(["p", project.id, "datasets", d.id]);
            } catch (err: any) {
              setCreateError(err.message.startsWith("A dataset named") ? err.message : `Dataset not created: ${err.message}`);
            }
          }}
        >
          <input placeholder="new dataset name" value={name} onChange={(e) => setName(e.target.value)} data-testid="new-dataset" />
          <button disabled={!name.trim()}>+ Dataset</button>
        </form>
        <button onClick={() => setUploading(true)} data-testid="upload-new-dataset-open" title="Create a dataset from a CSV, JSON or JSONL file">
          Upload CSV/JSON
        </button>
        <label>
          <input type="checkbox" checked={onlyStarred} onChange={() => setParams({ starred: onlyStarred ? undefined : "1" })} data-testid="only-starred" /> Starred only
        </label>
      </div>
      {starError && <div className="error" data-testid="star-error">{starError}</div>}
      {listError && <div className="error" data-testid="list-error">{listError}</div>}
      {createError && (
        <div className="error" data-testid="new-dataset-error">
          {createError}
        </div>
      )}
      {deleteError && (
        <div className="error" data-testid="dataset-delete-error">
          {deleteError}
        </div>
      )}
      <table className="simple" data-testid="datasets-table">
        <thead>
          <tr>
            <th />
            <th>Name</th>
            <th>Rows</th>
            <th>Tags</th>
            <th>Description</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {shown.map((d) => (
            <tr key={d.id} data-testid="dataset-row">
              <td>
                <button className={"icon star" + (stars.has(d.id) ? " on" : "")} onClick={() => toggleStar(d.id)} title={stars.has(d.id) ? "Starred by this key: unstar" : "Star (for this API key)"} data-testid="dataset-star">
                  {stars.has(d.id) ? "★" : "☆"}
                </button>
              </td>
              <td className="wrap">
                <a href={href(["p", project.id, "datasets", d.id])}>{d.name}</a>
              </td>
              <td data-testid="dataset-count">
                {typeof counts[d.id] === "object" && counts[d.id] !== null ? (
                  <span className="error-text" title={(counts[d.id] as { error: string }).error}>
                    not loaded: {(counts[d.id] as { error: string }).error}
                  </span>
                ) : (
                  (counts[d.id] as number | null | undefined) ?? ""
                )}
              </td>
              <td>
                <TagCell dataset={d} onSaved={load} />
              </td>
              <td className="wrap">{d.description}</td>
              <td>{fmtTime(d.created)}</td>
              <td>
                <button className="link" onClick={() => remove(d)} data-testid="dataset-delete" title="Delete this dataset">
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list && shown.length === 0 && <div className="empty">{onlyStarred ? "No starred datasets." : "No datasets yet."}</div>}
      {uploading && (
        <UploadNewDataset
          project={project}
          onClose={() => {
            setUploading(false);
            load();
          }}
        />
      )}
    </div>
  );
}
