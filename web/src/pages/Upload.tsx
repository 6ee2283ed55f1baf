// Upload a CSV, JSON or JSONL file into a dataset through the server's import routes: the
// preview shows the file's columns (with the types of their cells) and the records the
// mapping makes; each column is dragged (or moved with its menu) to Input, Expected, Metadata,
// Tags, Row id or Do not import; the import writes the whole file as one version, or nothing.
import { DragEvent, useEffect, useState } from "react";
import { ApiError, postFile } from "../api";
import { preview } from "../components/DataTable";
import { Json } from "../components/Json";
import { Violations } from "./DatasetSchemas";
import { Dialog } from "../components/Dialog";

export const BUCKETS = ["input", "expected", "metadata", "tags", "id", "skip"] as const;
type Bucket = (typeof BUCKETS)[number];
const LABELS: Record<Bucket, string> = {
  input: "Input",
  expected: "Expected",
  metadata: "Metadata",
  tags: "Tags",
  id: "Row id",
  skip: "Do not import",
};

/** A key as a target writes it (the server's quote_key): double-quoted, as in BTQL paths,
 * when it would not read back as that one key (a column `a.b` is the key `metadata."a.b"`,
 * not `a` holding `b`). */
function quoteKey(key: string): string {
  if (key && key === key.trim() && !/[."=\\]/.test(key)) return key;
  return `"${key.replace(/\\/g, "\\\\").replace(/"/g, '""')}"`;
}

/** The server's mapping: a metadata column goes under its own name (metadata is an object),
 * but a column named `metadata` alone in Metadata (a dataset export's, a JSON record's own
 * metadata object) is the whole field, as the server maps it by default. */
function targets(mapping: Record<string, Bucket>): string {
  const metadataColumns = Object.values(mapping).filter((b) => b === "metadata").length;
  const target = (c: string, b: Bucket) => (b !== "metadata" ? b : c === "metadata" && metadataColumns === 1 ? "metadata" : `metadata.${quoteKey(c)}`);
  return JSON.stringify(Object.fromEntries(Object.entries(mapping).map(([c, b]) => [c, target(c, b)])));
}

type Preview = { format: string; columns: { name: string; types: string[] }[]; proposed_mapping: Record<string, string>; rows: any[]; records: any[]; warnings?: string[] };

export function UploadDialog({ datasetId, title = "Upload to the dataset", onClose }: { datasetId: string; title?: string; onClose: (imported: number) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [data, setData] = useState<Preview | null>(null);
  const [mapping, setMapping] = useState<Record<string, Bucket>>({});
  const [over, setOver] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const choose = async (f: File) => {
    setError(null);
    setFile(f);
    try {
      const p: Preview = await postFile(`v1/dataset/${datasetId}/import/preview`, f, { filename: f.name });
      setData(p);
      setMapping(Object.fromEntries(Object.entries(p.proposed_mapping).map(([c, t]) => [c, (BUCKETS as readonly string[]).includes(t) ? (t as Bucket) : t.startsWith("metadata") ? "metadata" : t.startsWith("expected") ? "expected" : "input"])));
    } catch (e: any) {
      setError(e);
      setData(null);
    }
  };

  // The records as the current mapping makes them (the server maps; nothing is written).
  useEffect(() => {
    if (!file || !data) return;
    const timer = setTimeout(() => {
      postFile(`v1/dataset/${datasetId}/import/preview`, file, { filename: file.name, mapping: targets(mapping) })
        .then((p) => setData((d) => (d ? { ...d, records: p.records } : d)))
        .catch((e) => setError(e));
    }, 150);
    return () => clearTimeout(timer);
  }, [mapping]); // eslint-disable-line react-hooks/exhaustive-deps

  const importFile = async () => {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const res = await postFile(`v1/dataset/${datasetId}/import`, file, { filename: file.name, mapping: targets(mapping) });
      onClose(res.rows_written);
    } catch (e: any) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const dropOn = (b: Bucket) => (e: DragEvent) => {
    e.preventDefault();
    const col = e.dataTransfer.getData("text/x-column");
    if (col) setMapping({ ...mapping, [col]: b });
  };
  const columns = data?.columns || [];

  return (
    <Dialog testId="upload-dialog" wide onClose={() => onClose(0)}>
      <h3>{title}</h3>
      {!data && (
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
            if (f) choose(f);
          }}
        >
          Drop a CSV, JSON or JSONL file here, or click to choose one
          <input type="file" accept=".csv,.json,.jsonl,text/csv,application/json" hidden onChange={(e) => e.target.files?.[0] && choose(e.target.files[0])} data-testid="upload-file" />
        </label>
      )}
      {data && file && (
        <>
          <div className="muted">
            {file.name} ({data.format}): {columns.length} columns; the first {data.rows.length} rows below. Drag each column into a box.
          </div>
          {!!data.warnings?.length && (
            <ul className="muted" data-testid="upload-warnings">
              {data.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
          <div className="buckets">
            {BUCKETS.map((b) => (
              <div key={b} className="bucket" onDragOver={(e) => e.preventDefault()} onDrop={dropOn(b)} data-testid={`bucket-${b}`}>
                <div className="bucket-title">{LABELS[b]}</div>
                {columns
                  .filter((c) => mapping[c.name] === b)
                  .map((c) => (
                    <span key={c.name} className="column-chip" draggable onDragStart={(e) => e.dataTransfer.setData("text/x-column", c.name)} data-testid={`column-${c.name}`} title={c.types.join(" | ")}>
                      <span className="column-name" title={`${c.name} (${c.types.join(" | ")})`}>
                        {c.name}
                      </span>
                      <select value={b} onChange={(e) => setMapping({ ...mapping, [c.name]: e.target.value as Bucket })} title="Move to">
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
                  {columns.map((c) => (
                    <th key={c.name}>
                      {c.name} <span className="muted">{c.types.join("|")}</span>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.rows.slice(0, 5).map((r, i) => (
                  <tr key={i}>
                    {columns.map((c) => (
                      <td key={c.name}>{preview(r[c.name], 60)}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h4>First records as they will be stored</h4>
          <div className="json" data-testid="upload-preview">
            <Json value={data.records.slice(0, 2)} depth={-1} />
          </div>
        </>
      )}
      {error && (
        <div className="error" data-testid="upload-error">
          {error.message}
          {error.violations && <Violations violations={error.violations} />}
        </div>
      )}
      <div className="buttons">
        <button className="primary" disabled={!data || busy} onClick={importFile} data-testid="import">
          {busy ? "Importing…" : "Import"}
        </button>
        {data && (
          <button
            onClick={() => {
              setData(null);
              setFile(null);
            }}
          >
            Another file
          </button>
        )}
        <button onClick={() => onClose(0)}>Cancel</button>
      </div>
    </Dialog>
  );
}
