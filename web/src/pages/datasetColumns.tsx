// The columns of a dataset's rows table: the standard ones (shown, hidden and reordered with
// the column chooser), field-path columns ("f:metadata.category") and expression columns —
// the dataset's saved custom columns ("c:<name>", a BTQL expression stored on the server with
// PUT /v1/dataset/{id}/columns/{name}, so `select: *` returns it and `sort:` may name it).
// The choice is in the URL (cols=…, sort=<column>:asc|desc).
import { useState } from "react";
import { ApiError, request } from "../api";
import { attachmentNames } from "../components/Attachments";
import { fmtTime, preview } from "../components/DataTable";

export type DatasetCol = {
  id: string;
  label: string;
  get: (r: any) => any;
  render?: (v: any) => string;
  sort?: string; // the BTQL expression the server sorts by; none: not sortable
  size: number;
};

export const STANDARD_COLUMNS: DatasetCol[] = [
  { id: "id", label: "Id", get: (r) => r.id, sort: "id", size: 140 },
  { id: "created", label: "Created", get: (r) => r.created, render: fmtTime, sort: "created", size: 150 },
  { id: "input", label: "Input", get: (r) => r.input, size: 300 },
  { id: "expected", label: "Expected", get: (r) => r.expected, size: 240 },
  { id: "metadata", label: "Metadata", get: (r) => r.metadata, size: 200 },
  { id: "tags", label: "Tags", get: (r) => (r.tags || []).join(", "), size: 120 },
  { id: "attachments", label: "Attachments", get: attachmentNames, size: 160 },
  { id: "origin", label: "Origin", get: (r) => r.origin, size: 200 },
  { id: "version", label: "Version", get: (r) => r._xact_id, sort: "_xact_id", size: 170 },
];
export const DEFAULT_COLUMNS = ["created", "input", "expected", "metadata", "tags", "attachments"];

/** The value at a dotted path of a row (metadata.category, input."the question"). */
export function getPath(row: any, path: string): any {
  let v = row;
  for (const part of path.match(/"[^"]*"|[^.]+/g) || []) {
    if (v === null || v === undefined || typeof v !== "object") return undefined;
    v = v[part.replace(/^"|"$/g, "")];
  }
  return v;
}

/** The columns named in the URL: standard ones, field paths and saved expression columns. */
export function columnsFor(ids: string[], saved: { name: string; expr: string }[]): DatasetCol[] {
  const custom: DatasetCol[] = saved.map((c) => ({ id: "c:" + c.name, label: c.name, get: (r) => r[c.name], sort: c.name, size: 150 }));
  const fields: DatasetCol[] = ids
    .filter((id) => id.startsWith("f:"))
    .map((id) => ({ id, label: id.slice(2), get: (r) => getPath(r, id.slice(2)), sort: id.slice(2), size: 150 }));
  return [...STANDARD_COLUMNS, ...custom, ...fields];
}

export function cellText(col: DatasetCol, row: any): string {
  const v = col.get(row);
  return col.render ? col.render(v) : preview(v);
}

/** In the column chooser: the dataset's expression columns, add one, remove one. */
export function ExpressionColumns(props: {
  datasetId: string;
  saved: { name: string; expr: string }[];
  onSaved: (name: string | null) => void;
  readOnly: boolean;
}) {
  const [name, setName] = useState("");
  const [expr, setExpr] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="expr-columns" data-testid="expression-columns">
      <div className="muted">Expression columns (saved on the dataset)</div>
      {props.saved.map((c) => (
        <div key={c.name} className="chooser-row" data-testid="expression-column">
          <span>
            <b>{c.name}</b> = <code>{c.expr}</code>
          </span>
          {!props.readOnly && (
            <button
              className="icon"
              title={`Remove the column ${c.name} from the dataset`}
              onClick={async () => {
                try {
                  await request(`v1/dataset/${props.datasetId}/columns/${encodeURIComponent(c.name)}`, { method: "DELETE" });
                  props.onSaved(null);
                } catch (e: any) {
                  setError(e.message);
                }
              }}
            >
              ×
            </button>
          )}
        </div>
      ))}
      {!props.readOnly && (
        <form
          className="chooser-add"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            try {
              await request(`v1/dataset/${props.datasetId}/columns/${encodeURIComponent(name.trim())}`, { method: "PUT", body: { expr } });
              props.onSaved(name.trim());
              setName("");
              setExpr("");
            } catch (err: any) {
              setError((err as ApiError).message);
            }
          }}
        >
          <input placeholder="name: hard" value={name} onChange={(e) => setName(e.target.value)} data-testid="expr-column-name" />
          <input placeholder="BTQL: metadata.level > 2" value={expr} onChange={(e) => setExpr(e.target.value)} data-testid="expr-column-expr" />
          <button disabled={!name.trim() || !expr.trim()} data-testid="expr-column-add">
            Add column
          </button>
        </form>
      )}
      {error && <div className="error" data-testid="expr-column-error">{error}</div>}
    </div>
  );
}
