// Field schemas of a dataset: a JSON Schema per input / expected / metadata, inferred from the
// first records or written by hand, enforced on every write when asked; rows that do not
// conform are listed with each violation.
import { useEffect, useState } from "react";
import { ApiError, request } from "../api";

const FIELDS = ["input", "expected", "metadata"] as const;

export function Violations({ violations }: { violations: { row?: number; id?: string; field?: string; path?: string; message: string }[] }) {
  return (
    <ul className="violations" data-testid="violations">
      {violations.slice(0, 50).map((v, i) => (
        <li key={i}>
          {v.id ? <code>{v.id}</code> : v.row !== undefined ? `row ${v.row}` : ""} {v.field}
          {v.path ? <code>{v.path}</code> : null}: {v.message}
        </li>
      ))}
      {violations.length > 50 && <li>… {violations.length - 50} more</li>}
    </ul>
  );
}

export function DatasetSchemas({ datasetId }: { datasetId: string }) {
  const [schemas, setSchemas] = useState<Record<string, any> | null>(null);
  const [check, setCheck] = useState<any | null>(null);
  // A failure says why (the tab said "Loading…" for ever, or kept the last check).
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    request(`v1/dataset/${datasetId}/schema`)
      .then((r) => (setSchemas(r), setError(null)))
      .catch((e) => setError(e.message));
  const runCheck = () =>
    request(`v1/dataset/${datasetId}/schema/check`)
      .then(setCheck)
      .catch((e) => setError(`Check the rows: ${e.message}`));
  useEffect(() => {
    load();
    runCheck();
  }, [datasetId]); // eslint-disable-line react-hooks/exhaustive-deps
  if (!schemas)
    return error ? (
      <div className="error" data-testid="schemas-error">
        {error}
      </div>
    ) : (
      <div className="empty">Loading…</div>
    );
  const anySchema = FIELDS.some((f) => schemas[f] != null);
  return (
    <div className="schemas" data-testid="schemas">
      <div className="schema-grid">
        {FIELDS.map((f) => (
          <SchemaEditor
            key={f}
            datasetId={datasetId}
            field={f}
            current={schemas[f]}
            onSaved={() => {
              load();
              runCheck();
            }}
          />
        ))}
      </div>
      <div className="toolbar">
        <button onClick={runCheck} disabled={!anySchema} data-testid="check-rows">
          Check the rows
        </button>
        {/* Without a schema the server checks no row: "0 rows checked" read as an empty dataset. */}
        {!anySchema ? (
          <span className="muted" data-testid="check-result">
            No field schema yet: nothing to check the rows against.
          </span>
        ) : (
          check && (
            <span data-testid="check-result">
              {check.checked} rows checked, {check.nonconforming} do not conform
            </span>
          )
        )}
      </div>
      {error && (
        <div className="error" data-testid="schemas-error">
          {error}
        </div>
      )}
      {check && check.rows.length > 0 && (
        <Violations violations={check.rows.flatMap((r: any) => r.violations.map((v: any) => ({ ...v, id: r.id })))} />
      )}
    </div>
  );
}

function SchemaEditor({ datasetId, field, current, onSaved }: { datasetId: string; field: string; current: any; onSaved: () => void }) {
  const [text, setText] = useState(current ? JSON.stringify(current.schema, null, 2) : "");
  const [enforce, setEnforce] = useState(!!current?.enforce);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  let parseError: string | null = null;
  if (text.trim()) {
    try {
      JSON.parse(text);
    } catch (e: any) {
      parseError = e.message;
    }
  }
  const act = async (fn: () => Promise<any>) => {
    setError(null);
    setSaved(false);
    try {
      await fn();
      setSaved(true);
      onSaved();
    } catch (e: any) {
      setError((e as ApiError).message);
    }
  };
  return (
    <div className="schema-editor" data-testid={`schema-${field}`}>
      <h4>{field}</h4>
      <textarea rows={12} value={text} onChange={(e) => setText(e.target.value)} placeholder="no schema: any value" data-testid={`schema-text-${field}`} />
      {parseError && <div className="error">not JSON: {parseError}</div>}
      <label>
        <input type="checkbox" checked={enforce} onChange={(e) => setEnforce(e.target.checked)} data-testid={`schema-enforce-${field}`} /> Enforce on every write
      </label>
      <div className="buttons">
        <button
          onClick={async () => {
            setError(null);
            try {
              const r = await request(`v1/dataset/${datasetId}/schema/${field}/infer`, { body: {} });
              setText(JSON.stringify(r.schema, null, 2));
            } catch (e: any) {
              setError(e.message);
            }
          }}
          data-testid={`schema-infer-${field}`}
        >
          Infer
        </button>
        <button
          className="primary"
          disabled={!text.trim() || !!parseError}
          onClick={() => act(() => request(`v1/dataset/${datasetId}/schema/${field}`, { method: "PUT", body: { schema: JSON.parse(text), enforce } }))}
          data-testid={`schema-save-${field}`}
        >
          Save
        </button>
        {current && (
          <button
            onClick={() =>
              act(async () => {
                await request(`v1/dataset/${datasetId}/schema/${field}`, { method: "DELETE" });
                setText("");
                setEnforce(false);
              })
            }
          >
            Remove
          </button>
        )}
      </div>
      {saved && <div className="ok">Saved.</div>}
      {error && <div className="error">{error}</div>}
    </div>
  );
}
