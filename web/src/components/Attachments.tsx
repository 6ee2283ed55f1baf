// Attachments in rows: references the SDK writes for Attachment values
// ({type: "braintrust_attachment", key, filename, content_type}), found anywhere in a row's
// input, expected and metadata; shown with name, type, size, a download link and, for images,
// an inline preview. Uploads go through the server's attachment routes (as the SDK does).
import { useEffect, useState } from "react";
import { request } from "../api";

export type AttachmentRef =
  | { type: "braintrust_attachment"; key: string; filename: string; content_type: string }
  | { type: "external_attachment"; url: string; filename: string; content_type: string; key?: undefined };
export type Found = { field: string; path: string[]; ref: AttachmentRef };

const FIELDS = ["input", "expected", "metadata"];

export function isAttachment(v: any): v is AttachmentRef {
  if (v === null || typeof v !== "object") return false;
  // ExternalAttachment: the SDK's reference to a file in the user's own store (s3://…, https://…).
  return (v.type === "braintrust_attachment" && typeof v.key === "string") || (v.type === "external_attachment" && typeof v.url === "string");
}

/** Every attachment reference in a row's input, expected and metadata, with its path. */
export function findAttachments(row: any, fields = FIELDS): Found[] {
  const found: Found[] = [];
  const walk = (field: string, v: any, path: string[], depth: number) => {
    if (v === null || typeof v !== "object" || depth > 8 || found.length > 100) return;
    if (isAttachment(v)) {
      found.push({ field, path, ref: v });
      return;
    }
    for (const [k, child] of Object.entries(v)) walk(field, child, [...path, k], depth + 1);
  };
  for (const f of fields) walk(f, row?.[f], [], 0);
  return found;
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A new attachment key: random, in the server's key alphabet. */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "ui-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Upload a file as the SDK does: ask for a signed URL, PUT the bytes, report "done". */
export async function uploadAttachment(file: File): Promise<AttachmentRef> {
  const key = newKey();
  const contentType = file.type || "application/octet-stream";
  const { signedUrl, headers } = await request("attachment", { body: { key, filename: file.name, content_type: contentType } });
  const res = await fetch(signedUrl, { method: "PUT", headers, body: file });
  if (!res.ok) throw new Error(`upload failed: HTTP ${res.status}`);
  await request("attachment/status", { body: { key, status: { upload_status: "done" } } });
  return { type: "braintrust_attachment", key, filename: file.name, content_type: contentType };
}

/** One attachment: name, type, size, download link; images previewed inline. */
export function AttachmentView({ refValue, onRemove, where }: { refValue: AttachmentRef; onRemove?: () => void; where?: string }) {
  const [meta, setMeta] = useState<any | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (refValue.type !== "braintrust_attachment") return;
    request("attachment", { query: { key: refValue.key } })
      .then(setMeta)
      .catch((e) => setError(e.message));
  }, [refValue]);
  const type = meta?.content_type || refValue.content_type;
  const done = meta?.status?.upload_status === "done" || meta?.size != null;
  return (
    <div className="attachment" data-testid="attachment" data-key={refValue.key ?? refValue.url}>
      <div className="attachment-head">
        <span className="attachment-name" data-testid="attachment-name">📎 {meta?.filename || refValue.filename}</span>
        <span className="muted" data-testid="attachment-type">{type}</span>
        <span className="muted" data-testid="attachment-size">{fmtBytes(meta?.size)}</span>
        {where && <code className="muted">{where}</code>}
        {meta && done && (
          <a href={meta.downloadUrl} download={meta.filename || refValue.filename} data-testid="attachment-download">
            download
          </a>
        )}
        {refValue.type === "external_attachment" &&
          (/^https?:\/\//.test(refValue.url) ? (
            <a href={refValue.url} target="_blank" rel="noreferrer" data-testid="attachment-external">
              {refValue.url}
            </a>
          ) : (
            <code className="muted" data-testid="attachment-external">
              {refValue.url}
            </code>
          ))}
        {onRemove && (
          <button className="link" onClick={onRemove} data-testid="attachment-remove">
            remove
          </button>
        )}
      </div>
      {error && <span className="error">{error}</span>}
      {meta && done && /^image\//.test(type || "") && (
        <img className="attachment-preview" src={meta.downloadUrl} alt={meta.filename || refValue.filename} data-testid="attachment-preview" />
      )}
    </div>
  );
}

/** A table cell: the names of a row's attachments. */
export function attachmentNames(row: any): string {
  return findAttachments(row)
    .map((a) => "📎 " + a.ref.filename)
    .join(" ");
}
