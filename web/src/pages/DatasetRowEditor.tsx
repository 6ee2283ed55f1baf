// The editor of one dataset row (or a new one): input, expected and metadata as JSON or plain
// text, validated as you type against the dataset's field schemas (Save is disabled while an
// enforced one is broken); tags; the row's attachments (shown, added by upload, removed); an
// existing row's review (flag for review, assign, mark reviewed, reopen) and human review with
// the project's score configurations (each answer a merge write of the row, read back into the
// editor's fields not edited meanwhile); its runs (experiment rows whose origin is this row).
import { useEffect, useMemo, useRef, useState } from "react";
import { ApiError, btql, lit, request } from "../api";
import { AttachmentView, findAttachments, uploadAttachment } from "../components/Attachments";
import { Json } from "../components/Json";
import { RowRuns } from "./DatasetRuns";
import { Violations } from "./DatasetSchemas";
import { HumanReview } from "./HumanReview";
import { Item, ReviewFlag } from "./Review";
import { fieldViolations, FieldSchema, loadFieldSchemas, parseFieldText, SCHEMA_FIELDS } from "./fieldValidation";
import { Dialog } from "../components/Dialog";

const toText = (v: unknown) => (v === undefined || v === null ? "" : JSON.stringify(v, null, 2));

/** A copy of value without the entry at path (a path of [] removes the whole value). */
function withoutPath(value: any, path: string[]): any {
  if (path.length === 0) return null;
  const copy = Array.isArray(value) ? [...value] : { ...value };
  const [head, ...rest] = path;
  if (rest.length === 0) {
    if (Array.isArray(copy)) copy.splice(Number(head), 1);
    else delete copy[head];
  } else copy[head] = withoutPath(copy[head], rest);
  return copy;
}

export function RowEditor({
  projectId,
  datasetId,
  row: initialRow,
  onClose,
  onReview,
}: {
  projectId?: string;
  datasetId: string;
  row: any;
  onClose: (changed: boolean) => void;
  onReview?: (item: Item) => void;
}) {
  // The row as stored: read again after each human review write (a merge, a new version).
  const [row, setRow] = useState<any>(initialRow);
  const [reviewed, setReviewed] = useState(false); // a review write changed the stored row
  const [texts, setTexts] = useState<Record<string, string>>(Object.fromEntries(SCHEMA_FIELDS.map((f) => [f, toText(initialRow[f])])));
  const [tags, setTags] = useState((initialRow.tags || []).join(", "));
  const [reloadError, setReloadError] = useState<string | null>(null);
  const rowRef = useRef(row);
  rowRef.current = row;
  const reload = async () => {
    const row = rowRef.current;
    setReviewed(true);
    setReloadError(null);
    try {
      const res = await btql(`select: * | from: dataset(${lit(datasetId)}) | filter: id = ${lit(row.id)} | limit: 1`);
      const fresh = res.data[0];
      if (!fresh) return setReloadError(`row ${row.id} is no longer in this dataset`);
      // A field the reviewer has not edited here shows what is stored now; an edited one keeps the edit.
      setTexts((t) => ({ ...t, ...Object.fromEntries(SCHEMA_FIELDS.filter((f) => t[f] === toText(row[f])).map((f) => [f, toText(fresh[f])])) }));
      rowRef.current = fresh;
      setRow(fresh);
    } catch (e: any) {
      setReloadError(`the row could not be read again: ${e.message}`);
    }
  };
  const [error, setError] = useState<ApiError | null>(null);
  const [schemas, setSchemas] = useState<Record<string, FieldSchema>>({});
  const [attachField, setAttachField] = useState<string>("metadata");
  const [attachName, setAttachName] = useState("");
  const [attachError, setAttachError] = useState<string | null>(null);
  const [uploading, setUploading] = useState(false);
  useEffect(() => {
    loadFieldSchemas(datasetId).then(setSchemas, () => setSchemas({}));
  }, [datasetId]);

  const values = useMemo(() => Object.fromEntries(SCHEMA_FIELDS.map((f) => [f, parseFieldText(texts[f])])), [texts]);
  const problems = useMemo(() => Object.fromEntries(SCHEMA_FIELDS.map((f) => [f, fieldViolations(schemas[f], values[f])])), [schemas, values]);
  const blocked = SCHEMA_FIELDS.some((f) => schemas[f]?.enforce && problems[f].length > 0);
  const attachments = findAttachments(values);

  const save = async () => {
    try {
      const event: any = row.id ? { id: row.id } : {};
      // The write replaces the row: what the editor does not show goes with it, or is lost
      // (an edit dropped the row's origin, and made its created the time of the edit).
      if (row.id && row.created) event.created = row.created;
      if (row.id && row.origin) event.origin = row.origin;
      for (const f of SCHEMA_FIELDS) event[f] = values[f];
      const tagList = tags.split(",").map((t: string) => t.trim()).filter(Boolean);
      if (tagList.length || row.tags) event.tags = tagList;
      await request(`v1/dataset/${datasetId}/insert`, { body: { events: [event] } });
      onClose(true);
    } catch (e: any) {
      setError(e);
    }
  };

  const attach = async (file: File) => {
    setAttachError(null);
    const current = values[attachField];
    if (current !== null && (typeof current !== "object" || Array.isArray(current))) {
      setAttachError(`${attachField} must be a JSON object (or empty) to hold an attachment`);
      return;
    }
    const name = attachName.trim() || file.name.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_]+/g, "_") || "file";
    setUploading(true);
    try {
      const ref = await uploadAttachment(file);
      setTexts((t) => ({ ...t, [attachField]: toText({ ...((parseFieldText(t[attachField]) as any) || {}), [name]: ref }) }));
      setAttachName("");
    } catch (e: any) {
      setAttachError(e.message);
    } finally {
      setUploading(false);
    }
  };

  return (
    <Dialog testId="row-editor" wide onClose={() => onClose(reviewed)}>
      <h3>{row.id ? "Edit row" : "New row"}</h3>
      {row.id && <ReviewFlag source={{ type: "dataset", id: datasetId }} row={row} onChange={onReview} />}
      {row.id && projectId && <HumanReview projectId={projectId} source={{ type: "dataset", id: datasetId }} row={row} onSaved={reload} />}
      {reloadError && (
        <div className="error" data-testid="row-reload-error">
          {reloadError}
        </div>
      )}
      {SCHEMA_FIELDS.map((f) => (
        <label key={f} className="block">
          {f} <span className="muted">(JSON, or plain text)</span>
          {schemas[f] && (
            <span className="muted" data-testid={`schema-badge-${f}`}>
              {" "}
              · schema{schemas[f].enforce ? ", enforced" : ""}
            </span>
          )}
          <textarea rows={5} value={texts[f]} onChange={(e) => setTexts({ ...texts, [f]: e.target.value })} data-testid={`edit-${f}`} />
          {problems[f].length > 0 && (
            <ul className={"violations" + (schemas[f]?.enforce ? "" : " warn")} data-testid={`field-violations-${f}`}>
              {problems[f].slice(0, 20).map((v, i) => (
                <li key={i} data-testid="field-violation">
                  <code>{v.path}</code>: {v.message}
                </li>
              ))}
            </ul>
          )}
        </label>
      ))}
      <label className="block">
        tags <input value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <div className="attachments" data-testid="row-attachments">
        <h4>Attachments</h4>
        {attachments.length === 0 && <div className="muted">None.</div>}
        {attachments.map((a) => (
          <AttachmentView
            key={a.field + "/" + a.path.join("/")}
            refValue={a.ref}
            where={[a.field, ...a.path].join(".")}
            onRemove={() => setTexts((t) => ({ ...t, [a.field]: toText(withoutPath(parseFieldText(t[a.field]), a.path)) }))}
          />
        ))}
        <div className="toolbar">
          <span>Attach a file to</span>
          <select value={attachField} onChange={(e) => setAttachField(e.target.value)} data-testid="attach-field">
            {SCHEMA_FIELDS.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
          <span>.</span>
          <input placeholder="key (the file's name)" value={attachName} onChange={(e) => setAttachName(e.target.value)} data-testid="attach-name" />
          <input
            type="file"
            disabled={uploading}
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) attach(file);
              e.target.value = "";
            }}
            data-testid="attach-file"
          />
          {uploading && <span className="muted">uploading…</span>}
        </div>
        {attachError && <div className="error" data-testid="attach-error">{attachError}</div>}
      </div>
      {row.id && projectId && <RowRuns projectId={projectId} datasetId={datasetId} rowId={row.id} />}
      {row.id && (
        <details>
          <summary>Whole row</summary>
          <div className="json">
            <Json value={row} />
          </div>
        </details>
      )}
      {error && (
        <div className="error" data-testid="row-error">
          {error.message}
          {error.violations && <Violations violations={error.violations} />}
        </div>
      )}
      <div className="buttons">
        <button className="primary" onClick={save} disabled={blocked || uploading} title={blocked ? "The row breaks an enforced field schema" : undefined} data-testid="save-row">
          Save
        </button>
        <button onClick={() => onClose(reviewed)}>Cancel</button>
      </div>
    </Dialog>
  );
}
