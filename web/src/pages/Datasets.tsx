// Datasets: the list, and a dataset's rows with inline edit, delete and copy to another dataset.
import { ColumnDef } from "@tanstack/react-table";
import { useCallback, useEffect, useMemo, useState } from "react";
import type { Project } from "../App";
import { btql, downloadExport, FORMATS, lit, request } from "../api";
import { DataTable, fmtTime, preview } from "../components/DataTable";
import { Json } from "../components/Json";
import { href, navigate } from "../router";
import { UploadDialog } from "./Upload";

export function Datasets({ project, sub }: { project: Project; sub: string[] }) {
  if (sub[0]) return <DatasetRows project={project} datasetId={sub[0]} />;
  return <DatasetList project={project} />;
}

function DatasetList({ project }: { project: Project }) {
  const [list, setList] = useState<any[] | null>(null);
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [name, setName] = useState("");
  const load = useCallback(() => {
    request("v1/dataset", { query: { project_id: project.id, limit: "1000" } }).then(async (r) => {
      setList(r.objects);
      const sums = await Promise.all(r.objects.map((d: any) => request(`v1/dataset/${d.id}/summarize`).catch(() => null)));
      setCounts(Object.fromEntries(r.objects.map((d: any, i: number) => [d.id, sums[i]?.data_summary?.total_records ?? null])));
    });
  }, [project.id]);
  useEffect(load, [load]);
  return (
    <div className="page">
      <div className="toolbar">
        <h2>Datasets</h2>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const d = await request("v1/dataset", { body: { project_id: project.id, name: name.trim() } });
            navigate(["p", project.id, "datasets", d.id]);
          }}
        >
          <input placeholder="new dataset name" value={name} onChange={(e) => setName(e.target.value)} data-testid="new-dataset" />
          <button disabled={!name.trim()}>+ Dataset</button>
        </form>
      </div>
      <table className="simple" data-testid="datasets-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Rows</th>
            <th>Description</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {(list || []).map((d) => (
            <tr key={d.id}>
              <td>
                <a href={href(["p", project.id, "datasets", d.id])}>{d.name}</a>
              </td>
              <td>{counts[d.id] ?? ""}</td>
              <td>{d.description}</td>
              <td>{fmtTime(d.created)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list && list.length === 0 && <div className="empty">No datasets yet.</div>}
    </div>
  );
}

function DatasetRows({ project, datasetId }: { project: Project; datasetId: string }) {
  const [dataset, setDataset] = useState<any>(null);
  const [rows, setRows] = useState<any[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [editing, setEditing] = useState<any | null>(null);
  const [copying, setCopying] = useState<any | null>(null);
  const [fmt, setFmt] = useState("csv");
  const [error, setError] = useState<string | null>(null);
  const [uploading, setUploading] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(
    async (c: string | null) => {
      setLoading(true);
      try {
        const res = await btql(`select: * | from: dataset(${lit(datasetId)}) | limit: 100${c ? ` | cursor: ${lit(c)}` : ""}`);
        setRows((old) => (c ? [...old, ...res.data] : res.data));
        setCursor(res.cursor);
      } catch (e: any) {
        setError(e.message);
      } finally {
        setLoading(false);
      }
    },
    [datasetId],
  );
  useEffect(() => {
    request(`v1/dataset/${datasetId}`).then(setDataset);
    load(null);
  }, [datasetId, load]);

  const remove = async (r: any) => {
    if (!confirm("Delete this row?")) return;
    await request(`v1/dataset/${datasetId}/insert`, { body: { events: [{ id: r.id, _object_delete: true }] } });
    setRows(rows.filter((x) => x.id !== r.id));
  };

  const columns: ColumnDef<any, any>[] = useMemo(
    () => [
      { id: "created", header: "Created", size: 150, accessorFn: (r) => r.created, cell: (i) => fmtTime(i.getValue()) },
      { id: "input", header: "Input", size: 300, accessorFn: (r) => preview(r.input), cell: (i) => i.getValue() },
      { id: "expected", header: "Expected", size: 240, accessorFn: (r) => preview(r.expected), cell: (i) => i.getValue() },
      { id: "metadata", header: "Metadata", size: 200, accessorFn: (r) => preview(r.metadata), cell: (i) => i.getValue() },
      { id: "tags", header: "Tags", size: 120, accessorFn: (r) => (r.tags || []).join(", "), cell: (i) => i.getValue() },
      {
        id: "actions",
        header: "",
        size: 230,
        enableSorting: false,
        cell: ({ row }) => (
          <span onClick={(e) => e.stopPropagation()}>
            <button onClick={() => setEditing(row.original)} data-testid="edit-row">Edit</button>{" "}
            <button onClick={() => setCopying(row.original)}>Copy</button>{" "}
            <button onClick={() => remove(row.original)} data-testid="delete-row">Delete</button>
          </span>
        ),
      },
    ],
    [rows], // eslint-disable-line react-hooks/exhaustive-deps
  );

  return (
    <div className="page">
      <div className="toolbar">
        <a href={href(["p", project.id, "datasets"])}>← Datasets</a>
        <h2>{dataset?.name}</h2>
        <select value={fmt} onChange={(e) => setFmt(e.target.value)}>
          {FORMATS.map((f) => (
            <option key={f}>{f}</option>
          ))}
        </select>
        <button onClick={() => downloadExport("dataset", datasetId, fmt, "", "spans", `${dataset?.name || "dataset"}.${fmt}`)}>Export</button>
        <button onClick={() => setEditing({})} data-testid="add-row">+ Row</button>
        <button onClick={() => setUploading(true)} data-testid="upload">Upload CSV/JSON</button>
      </div>
      {error && <div className="error">{error}</div>}
      {notice && <div className="ok" data-testid="notice">{notice}</div>}
      <DataTable
        testId="dataset-rows"
        columns={columns}
        data={rows}
        onEndReached={() => cursor && !loading && load(cursor)}
        onRowClick={setEditing}
        empty={loading ? "Loading…" : "No rows"}
      />
      {editing && (
        <RowEditor
          datasetId={datasetId}
          row={editing}
          onClose={(changed) => {
            setEditing(null);
            if (changed) load(null);
          }}
        />
      )}
      {uploading && (
        <UploadDialog
          datasetId={datasetId}
          onClose={(n) => {
            setUploading(false);
            if (n) {
              setNotice(`Imported ${n.toLocaleString()} rows.`);
              load(null);
            }
          }}
        />
      )}
      {copying && <CopyRow project={project} row={copying} onClose={() => setCopying(null)} />}
    </div>
  );
}

function RowEditor({ datasetId, row, onClose }: { datasetId: string; row: any; onClose: (changed: boolean) => void }) {
  const fields = ["input", "expected", "metadata"] as const;
  const [texts, setTexts] = useState<Record<string, string>>(
    Object.fromEntries(fields.map((f) => [f, row[f] === undefined || row[f] === null ? "" : JSON.stringify(row[f], null, 2)])),
  );
  const [tags, setTags] = useState((row.tags || []).join(", "));
  const [error, setError] = useState<string | null>(null);
  const save = async () => {
    try {
      const event: any = row.id ? { id: row.id } : {};
      for (const f of fields) {
        const t = texts[f].trim();
        try {
          event[f] = t === "" ? null : JSON.parse(t);
        } catch {
          event[f] = t; // plain text is a string value
        }
      }
      event.tags = tags.split(",").map((t: string) => t.trim()).filter(Boolean);
      await request(`v1/dataset/${datasetId}/insert`, { body: { events: [event] } });
      onClose(true);
    } catch (e: any) {
      setError(e.message);
    }
  };
  return (
    <div className="modal-back">
      <div className="modal wide" data-testid="row-editor">
        <h3>{row.id ? "Edit row" : "New row"}</h3>
        {fields.map((f) => (
          <label key={f} className="block">
            {f} <span className="muted">(JSON, or plain text)</span>
            <textarea rows={5} value={texts[f]} onChange={(e) => setTexts({ ...texts, [f]: e.target.value })} data-testid={`edit-${f}`} />
          </label>
        ))}
        <label className="block">
          tags <input value={tags} onChange={(e) => setTags(e.target.value)} />
        </label>
        {row.id && (
          <details>
            <summary>Whole row</summary>
            <div className="json">
              <Json value={row} />
            </div>
          </details>
        )}
        {error && <div className="error">{error}</div>}
        <div className="buttons">
          <button className="primary" onClick={save} data-testid="save-row">Save</button>
          <button onClick={() => onClose(false)}>Cancel</button>
        </div>
      </div>
    </div>
  );
}

function CopyRow({ project, row, onClose }: { project: Project; row: any; onClose: () => void }) {
  const [datasets, setDatasets] = useState<any[]>([]);
  const [target, setTarget] = useState("");
  const [done, setDone] = useState(false);
  useEffect(() => {
    request("v1/dataset", { query: { project_id: project.id } }).then((r) => {
      setDatasets(r.objects);
      setTarget(r.objects[0]?.id || "");
    });
  }, [project.id]);
  return (
    <div className="modal-back">
      <div className="modal">
        <h3>Copy the row to a dataset</h3>
        <select value={target} onChange={(e) => setTarget(e.target.value)}>
          {datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
        <div className="buttons">
          <button
            onClick={async () => {
              await request(`v1/dataset/${target}/insert`, {
                body: { events: [{ input: row.input, expected: row.expected, metadata: row.metadata, tags: row.tags, origin: row.origin }] },
              });
              setDone(true);
            }}
          >
            Copy
          </button>
          <button onClick={onClose}>Close</button>
        </div>
        {done && <div className="ok">Copied.</div>}
      </div>
    </div>
  );
}
