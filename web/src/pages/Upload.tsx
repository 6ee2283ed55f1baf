// Upload a CSV, JSON or JSONL file into a dataset: preview the file, map its columns onto
// Input, Expected, Metadata or Tags (drag a column into a box, or pick from its menu), import.
// A column named "id" also becomes the row id, so re-importing a file updates its rows.
import { DragEvent, useMemo, useState } from "react";
import { request } from "../api";
import { preview } from "../components/DataTable";
import { Json } from "../components/Json";

export const BUCKETS = ["input", "expected", "metadata", "tags", "skip"] as const;
type Bucket = (typeof BUCKETS)[number];
const LABELS: Record<Bucket, string> = { input: "Input", expected: "Expected", metadata: "Metadata", tags: "Tags", skip: "Do not import" };

/** RFC 4180 CSV: quoted fields may hold commas, quotes and new lines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.length > 1 || r[0] !== "");
}

/** The file as records (column → value). */
export function parseFile(name: string, text: string): { columns: string[]; records: Record<string, any>[] } {
  const trimmed = text.trim();
  if (/\.jsonl?$/i.test(name) || trimmed.startsWith("[") || trimmed.startsWith("{")) {
    const records: any[] = trimmed.startsWith("[") ? JSON.parse(trimmed) : trimmed.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l));
    const columns: string[] = [];
    for (const r of records) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
    return { columns, records };
  }
  const [header, ...rows] = parseCsv(text);
  return { columns: header, records: rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""]))) };
}

/** A CSV cell that holds JSON (an object or array) becomes that value. */
function cell(v: any): any {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if ((t.startsWith("{") && t.endsWith("}")) || (t.startsWith("[") && t.endsWith("]"))) {
    try {
      return JSON.parse(t);
    } catch {
      return v;
    }
  }
  return v;
}

export function toRow(record: Record<string, any>, mapping: Record<string, Bucket>): any {
  const row: any = {};
  const of = (b: Bucket) => Object.keys(mapping).filter((c) => mapping[c] === b);
  for (const b of ["input", "expected"] as const) {
    const cols = of(b);
    if (cols.length === 1) row[b] = cell(record[cols[0]]);
    else if (cols.length > 1) row[b] = Object.fromEntries(cols.map((c) => [c, cell(record[c])]));
  }
  const meta = of("metadata");
  if (meta.length) row.metadata = Object.fromEntries(meta.map((c) => [c, cell(record[c])]));
  const tags = of("tags").flatMap((c) => {
    const v = cell(record[c]);
    return Array.isArray(v) ? v.map(String) : String(v ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  });
  if (tags.length) row.tags = [...new Set(tags)];
  if (record.id !== undefined && record.id !== "") row.id = String(record.id);
  return row;
}

export function UploadDialog({ datasetId, onClose }: { datasetId: string; onClose: (imported: number) => void }) {
  const [file, setFile] = useState<{ name: string; columns: string[]; records: any[] } | null>(null);
  const [mapping, setMapping] = useState<Record<string, Bucket>>({});
  const [over, setOver] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<string | null>(null);

  const load = async (f: File) => {
    setError(null);
    try {
      const parsed = parseFile(f.name, await f.text());
      setFile({ name: f.name, ...parsed });
      // Every column starts in Input (as Braintrust); an "id" column is the row id only.
      setMapping(Object.fromEntries(parsed.columns.map((c) => [c, c === "id" ? "skip" : "input"])));
    } catch (e: any) {
      setError(`Cannot read ${f.name}: ${e.message}`);
    }
  };
  const rows = useMemo(() => (file ? file.records.map((r) => toRow(r, mapping)) : []), [file, mapping]);

  const importRows = async () => {
    try {
      for (let i = 0; i < rows.length; i += 1000) {
        setProgress(`Importing ${Math.min(i + 1000, rows.length)} of ${rows.length}…`);
        await request(`v1/dataset/${datasetId}/insert`, { body: { events: rows.slice(i, i + 1000) } });
      }
      onClose(rows.length);
    } catch (e: any) {
      setError(e.message);
      setProgress(null);
    }
  };

  const dropOnBucket = (b: Bucket) => (e: DragEvent) => {
    e.preventDefault();
    const col = e.dataTransfer.getData("text/x-column");
    if (col) setMapping({ ...mapping, [col]: b });
  };

  return (
    <div className="modal-back">
      <div className="modal wide" data-testid="upload-dialog">
        <h3>Upload to the dataset</h3>
        {!file && (
          <label
            className={"dropzone" + (over ? " over" : "")}
            onDragOver={(e) => {
              e.preventDefault();
              setOver(true);
            }}
            onDragLeave={() => setOver(false)}
            onDrop={(e) => {
              e.preventDefault();
              setOver(false);
              const f = e.dataTransfer.files[0];
              if (f) load(f);
            }}
          >
            Drop a CSV, JSON or JSONL file here, or click to choose one
            <input type="file" accept=".csv,.json,.jsonl,text/csv,application/json" hidden onChange={(e) => e.target.files?.[0] && load(e.target.files[0])} data-testid="upload-file" />
          </label>
        )}
        {file && (
          <>
            <div className="muted">
              {file.name}: {file.records.length.toLocaleString()} rows, {file.columns.length} columns. Drag each column into a box.
            </div>
            <div className="buckets">
              {BUCKETS.map((b) => (
                <div key={b} className="bucket" onDragOver={(e) => e.preventDefault()} onDrop={dropOnBucket(b)} data-testid={`bucket-${b}`}>
                  <div className="bucket-title">{LABELS[b]}</div>
                  {file.columns
                    .filter((c) => mapping[c] === b)
                    .map((c) => (
                      <span key={c} className="column-chip" draggable onDragStart={(e) => e.dataTransfer.setData("text/x-column", c)} data-testid={`column-${c}`}>
                        {c}
                        <select value={b} onChange={(e) => setMapping({ ...mapping, [c]: e.target.value as Bucket })} title="Move to">
                          {BUCKETS.map((x) => (
                            <option key={x} value={x}>
                              {LABELS[x]}
                            </option>
                          ))}
                        </select>
                      </span>
                    ))}
                </div>
              ))}
            </div>
            <h4>File preview</h4>
            <div className="preview-table">
              <table className="simple">
                <thead>
                  <tr>
                    {file.columns.map((c) => (
                      <th key={c}>{c}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {file.records.slice(0, 5).map((r, i) => (
                    <tr key={i}>
                      {file.columns.map((c) => (
                        <td key={c}>{preview(r[c], 60)}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <h4>First rows as they will be stored</h4>
            <div className="json" data-testid="upload-preview">
              <Json value={rows.slice(0, 2)} />
            </div>
          </>
        )}
        {error && <div className="error">{error}</div>}
        {progress && <div className="muted">{progress}</div>}
        <div className="buttons">
          <button className="primary" disabled={!file || !rows.length || !!progress} onClick={importRows} data-testid="import">
            Import {rows.length ? rows.length.toLocaleString() + " rows" : ""}
          </button>
          <button onClick={() => onClose(0)}>Cancel</button>
        </div>
      </div>
    </div>
  );
}
