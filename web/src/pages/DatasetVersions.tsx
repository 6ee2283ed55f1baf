// A dataset's history: every version with its author and counts, named versions (snapshots),
// the diff of a version against the current rows, viewing a version read-only, and restore.
import { useEffect, useState } from "react";
import { request } from "../api";
import { fmtTime } from "../components/DataTable";
import { Json } from "../components/Json";

export function DatasetVersions({ datasetId, onView, onRestored }: { datasetId: string; onView: (version: string) => void; onRestored: () => void }) {
  const [versions, setVersions] = useState<any[] | null>(null);
  const [snapshots, setSnapshots] = useState<any[]>([]);
  const [diff, setDiff] = useState<any | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const load = () => {
    // A failure says why (the history stayed empty, or a Diff click did nothing, without a word).
    request(`v1/dataset/${datasetId}/versions`)
      .then((r) => setVersions(r.objects))
      .catch((e) => setMessage(`Versions: ${e.message}`));
    request(`v1/dataset/${datasetId}/snapshots`)
      .then((r) => setSnapshots(r.objects))
      .catch((e) => setMessage(`Named versions: ${e.message}`));
  };
  useEffect(load, [datasetId]); // eslint-disable-line react-hooks/exhaustive-deps
  const showDiff = (from: string) =>
    request(`v1/dataset/${datasetId}/diff`, { query: { from } })
      .then(setDiff)
      .catch((e) => setMessage(`Diff: ${e.message}`));
  const act = async (what: string, fn: () => Promise<any>) => {
    setMessage(null);
    try {
      const r = await fn();
      setMessage(`${what}: done${r?.counts ? ` (${Object.entries(r.counts).map(([k, v]) => `${v} ${k}`).join(", ")})` : ""}`);
    } catch (e: any) {
      setMessage(`${what}: ${e.message}`);
    }
    load();
    // An open diff is "to now": a restore changed now, so it is asked for again.
    if (diff) showDiff(diff.from);
  };
  return (
    <div className="versions" data-testid="versions">
      {message && <div className="muted" data-testid="versions-message">{message}</div>}
      <h4>Named versions</h4>
      {snapshots.length === 0 && <div className="muted">None yet: name a version below.</div>}
      {snapshots.map((s) => (
        <div key={s.name} className="snapshot" data-testid="snapshot">
          <strong>{s.name}</strong> <code>{s.version ?? s._xact_id}</code> <span className="muted">{s.description}</span>{" "}
          <button onClick={() => onView(String(s.version ?? s._xact_id))} data-testid="view-snapshot" title="The rows of this version, read-only">
            View
          </button>{" "}
          <button
            onClick={() => {
              const name = prompt("New name for this version", s.name)?.trim();
              if (name && name !== s.name)
                act("Rename", () => request(`v1/dataset/${datasetId}/snapshots/${encodeURIComponent(s.name)}`, { method: "PATCH", body: { name } }));
            }}
            data-testid="rename-snapshot"
            title="Rename this version (experiments pinned to the old name follow)"
          >
            Rename…
          </button>{" "}
          <button className="icon" title="Remove the name" onClick={() => act("Remove name", () => request(`v1/dataset/${datasetId}/snapshots/${encodeURIComponent(s.name)}`, { method: "DELETE" }))}>
            ×
          </button>
        </div>
      ))}
      <h4>History</h4>
      <table className="simple">
        <thead>
          <tr>
            <th>Version</th>
            <th>When</th>
            <th>Author</th>
            <th>Inserted</th>
            <th>Updated</th>
            <th>Deleted</th>
            <th>Names</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(versions || []).map((v, i) => (
            <tr key={v._xact_id} data-testid="version-row">
              <td>
                <code>{v._xact_id}</code>
              </td>
              <td>{fmtTime(v.created)}</td>
              <td>{v.author?.key_name || v.author?.key_id || ""}</td>
              <td>{v.inserted}</td>
              <td>{v.updated}</td>
              <td>{v.deleted}</td>
              <td>{(v.snapshots || []).join(", ")}</td>
              <td className="nowrap">
                <button onClick={() => onView(v._xact_id)} data-testid="view-version">View</button>{" "}
                {i > 0 && (
                  <>
                    <button
                      onClick={() => showDiff(v._xact_id)}
                      data-testid="diff-version"
                    >
                      Diff to now
                    </button>{" "}
                    <button
                      onClick={() =>
                        confirm(`Make the rows of version ${v._xact_id} current again (as a new version)?`) &&
                        act("Restore", () => request(`v1/dataset/${datasetId}/restore`, { body: { version: v._xact_id } })).then(onRestored)
                      }
                      data-testid="restore-version"
                    >
                      Restore
                    </button>{" "}
                  </>
                )}
                <button
                  onClick={() => {
                    const name = prompt("Name for this version")?.trim();
                    if (name) act("Name", () => request(`v1/dataset/${datasetId}/snapshots`, { body: { name, version: v._xact_id } }));
                  }}
                  data-testid="name-version"
                >
                  Name…
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {diff && (
        <div className="diff-panel" data-testid="version-diff">
          <h4>
            Changes from <code>{diff.from}</code> to now: {diff.counts.added} added, {diff.counts.removed} removed, {diff.counts.changed} changed{" "}
            <button className="icon" onClick={() => setDiff(null)}>×</button>
          </h4>
          {diff.added.map((r: any) => (
            <div key={"a" + r.id} className="diff-row added">
              + <code>{r.id}</code> <Json value={r.input} />
            </div>
          ))}
          {diff.removed.map((r: any) => (
            <div key={"r" + r.id} className="diff-row removed">
              − <code>{r.id}</code> <Json value={r.input} />
            </div>
          ))}
          {diff.changed.map((r: any) => (
            <div key={"c" + r.id} className="diff-row changed">
              ~ <code>{r.id}</code>
              {(r.fields || []).map((f: string) => (
                <div key={f} className="diff-field">
                  <span className="j-key">{f}:</span> <span className="removed"><Json value={r.before?.[f]} /></span> → <span className="added"><Json value={r.after?.[f]} /></span>
                </div>
              ))}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
