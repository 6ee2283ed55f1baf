// Automations: scheduled exports and retention policies, their forms, Test, and the status
// view with run history, Run once, Reset and Restore.
import { useEffect, useState } from "react";
import type { Project } from "../App";
import { request } from "../api";
import { fmtNumber, fmtTime } from "../components/DataTable";
import { Dialog } from "../components/Dialog";

const INTERVALS: [number, string][] = [
  [300, "5 minutes"],
  [1800, "30 minutes"],
  [3600, "1 hour"],
  [4 * 3600, "4 hours"],
  [12 * 3600, "12 hours"],
  [86400, "24 hours"],
];

function kind(a: any) {
  return a.config?.event_type === "retention" || a.config?.retention_days !== undefined ? "retention" : "export";
}

export function Automations({ project }: { project: Project }) {
  const [list, setList] = useState<any[] | null>(null);
  const [lastRuns, setLastRuns] = useState<Record<string, any>>({});
  const [editing, setEditing] = useState<any | "new-export" | "new-retention" | null>(null);
  const [statusOf, setStatusOf] = useState<any | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = async () => {
    try {
      const r = await request("v1/project_automation", { query: { project_id: project.id } });
      setList(r.objects);
      // A run history that fails to load says so in its row ("never" said there was no run).
      const runs = await Promise.all(
        r.objects.map((a: any) => request(`v1/project_automation/${a.id}/runs`, { query: { limit: "1" } }).catch((e: any) => ({ error: e.message }))),
      );
      setLastRuns(Object.fromEntries(r.objects.map((a: any, i: number) => [a.id, runs[i]])));
    } catch (e: any) {
      setError(e.message);
    }
  };
  useEffect(() => {
    reload();
  }, [project.id]); // eslint-disable-line react-hooks/exhaustive-deps
  const remove = async (a: any) => {
    if (!confirm(`Delete the automation “${a.name}”?`)) return;
    setError(null);
    try {
      await request(`v1/project_automation/${a.id}`, { method: "DELETE" });
    } catch (e: any) {
      setError(`${a.name} not deleted: ${e.message}`);
    }
    reload();
  };

  return (
    <div className="page">
      <div className="toolbar">
        <h2>Automations</h2>
        <button onClick={() => setEditing("new-export")} data-testid="new-export">
          + S3 export
        </button>
        <button onClick={() => setEditing("new-retention")} data-testid="new-retention">
          + Data retention
        </button>
      </div>
      {error && (
        <div className="error" data-testid="automations-error">
          {error}
        </div>
      )}
      <table className="simple" data-testid="automations-table">
        <thead>
          <tr>
            <th>Status</th>
            <th>Name</th>
            <th>Kind</th>
            <th>Target</th>
            <th>Last run</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(list || []).map((a) => {
            const runs = lastRuns[a.id];
            const last = runs?.objects?.[0];
            const status = a.config?.status || "active";
            return (
              <tr key={a.id} data-testid="automation-row">
                <td>
                  <span className={`dot ${last?.status === "failed" ? "bad" : status === "paused" ? "paused" : "ok"}`} title={last?.status || status} /> {status}
                </td>
                <td className="wrap">{a.name}</td>
                <td>{kind(a) === "retention" ? "Retention" : "Export"}</td>
                <td className="wrap">{kind(a) === "retention" ? `${a.config.object_type}, ${a.config.retention_days} days` : a.config.export_path}</td>
                <td data-testid="last-run">
                  {runs?.error ? <span className="error-text">not loaded: {runs.error}</span> : last ? `${last.status} · ${fmtTime(last.start)} · ${last.note ? "no new rows" : `${fmtNumber(last.rows)} rows`}` : runs ? "never" : ""}
                </td>
                <td>
                  <button onClick={() => setEditing(a)}>Edit</button> <button onClick={() => setStatusOf(a)} data-testid="open-status">Status</button>{" "}
                  <button onClick={() => remove(a)} data-testid="delete-automation" title="Delete this automation (its exported files and deleted rows stay as they are)">
                    Delete
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {list && list.length === 0 && <div className="empty">No automations yet.</div>}
      {editing && (
        <AutomationForm
          project={project}
          automation={typeof editing === "string" ? null : editing}
          newKind={editing === "new-retention" ? "retention" : "export"}
          onSaved={reload}
          onClose={() => {
            setEditing(null);
            reload();
          }}
        />
      )}
      {statusOf && (
        <StatusView
          automation={statusOf}
          onClose={() => {
            setStatusOf(null);
            reload();
          }}
        />
      )}
    </div>
  );
}

/** onSaved: after each save (the form stays open as the automation's editor; the list behind
 * it is read again). */
function AutomationForm({
  project,
  automation,
  newKind,
  onSaved,
  onClose,
}: {
  project: Project;
  automation: any | null;
  newKind: string;
  onSaved: () => void;
  onClose: () => void;
}) {
  const [saved, setSaved] = useState<any | null>(automation);
  const [savedNote, setSavedNote] = useState(false);
  const k = saved ? kind(saved) : newKind;
  const c = saved?.config || {};
  const [nameText, setName] = useState(saved?.name || "");
  const [description, setDescription] = useState(saved?.description || "");
  const [definition, setDefinition] = useState(c.export_definition?.type || "log_traces");
  const [query, setQuery] = useState(c.export_definition?.btql_query || "");
  const [path, setPath] = useState(c.export_path || "");
  const [format, setFormat] = useState(c.format || "jsonl");
  const [interval, setIntervalS] = useState(c.interval_seconds || 3600);
  const [maxRows, setMaxRows] = useState(c.max_rows ?? 100000);
  const [rowsPerFile, setRowsPerFile] = useState(c.rows_per_file ?? 100000);
  const [batchSize, setBatchSize] = useState(c.batch_size ?? 10000);
  const cred = c.credentials || { type: "environment" };
  const [credType, setCredType] = useState(cred.type || "environment");
  const [creds, setCreds] = useState<Record<string, string>>(cred);
  const [status, setStatus] = useState(c.status || "active");
  const [objectType, setObjectType] = useState(c.object_type || "project_logs");
  const [days, setDays] = useState(c.retention_days ?? 30);
  const [grace, setGrace] = useState(c.grace_period_hours ?? 24);
  const [error, setError] = useState<string | null>(null);
  const [test, setTest] = useState<{ ok: boolean; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const config = () => {
    // A blank field is an error, not 0 (Number("") is 0: a cleared Retention saved a policy
    // deleting everything, a cleared grace period purged at once).
    const required = (value: any, label: string) => {
      if (String(value).trim() === "") throw new Error(`${label} is required`);
      return Number(value);
    };
    if (k === "retention")
      return {
        event_type: "retention",
        object_type: objectType,
        retention_days: required(days, "Retention (days)"),
        grace_period_hours: required(grace, "Grace period (hours)"),
        status,
      };
    const credentials: Record<string, string> = { type: credType };
    const keys: Record<string, string[]> = {
      aws_static: ["access_key_id", "secret_access_key", "session_token"],
      aws_iam: ["role_arn", "external_id"],
      profile: ["profile"],
      environment: [],
    };
    for (const key of [...keys[credType], "region", "endpoint_url"]) if (creds[key]) credentials[key] = creds[key];
    const s3 = path.startsWith("s3://");
    return {
      event_type: "btql_export",
      export_definition: definition === "btql_query" ? { type: definition, btql_query: query } : { type: definition },
      export_path: path,
      format,
      interval_seconds: Number(interval),
      max_rows: Number(maxRows),
      rows_per_file: Number(rowsPerFile),
      batch_size: Number(batchSize),
      ...(s3 ? { credentials } : {}), // a file:// path takes no credentials
      status,
    };
  };

  const save = async () => {
    setBusy(true);
    setError(null);
    setSavedNote(false);
    // Names are stored without surrounding spaces (the server refuses them): " nightly " is
    // saved as "nightly", and the field shows what was saved.
    const name = nameText.trim();
    try {
      const body = { project_id: project.id, name, description: description || undefined, config: config() };
      // The server answers a taken name with that automation, unmodified (create-or-get): the
      // form became its editor, and the next Save overwrote it with this form's settings.
      if (!saved) {
        const same = await request("v1/project_automation", { query: { project_id: project.id, project_automation_name: name } });
        if (same.objects.length) throw new Error(`An automation named “${name}” already exists: open it from the list, or choose another name.`);
      }
      const res = saved
        ? await request(`v1/project_automation/${saved.id}`, { method: "PATCH", body: { name, description, config: config() } })
        : await request("v1/project_automation", { body });
      setSaved(res);
      setName(res.name);
      setSavedNote(true);
      onSaved();
      return res;
    } catch (e: any) {
      setError(e.message);
      return null;
    } finally {
      setBusy(false);
    }
  };

  const runTest = async () => {
    const a = await save();
    if (!a) return;
    setTest(null);
    try {
      const r = await request(`v1/project_automation/${a.id}/test`, { method: "POST" });
      setTest({ ok: !!r.success, message: r.message || "OK" });
    } catch (e: any) {
      setTest({ ok: false, message: e.message });
    }
  };

  const credField = (key: string, label: string, secret = false) => (
    <label key={key}>
      {label}
      <input type={secret ? "password" : "text"} value={creds[key] || ""} onChange={(e) => setCreds({ ...creds, [key]: e.target.value })} data-testid={`cred-${key}`} />
    </label>
  );

  return (
    <Dialog testId="automation-form" wide onClose={onClose}>
      <h3>{saved ? `Edit ${saved.name}` : k === "retention" ? "New data retention policy" : "New S3 export"}</h3>
      <div className="form">
        <label>
          Name
          <input value={nameText} onChange={(e) => setName(e.target.value)} data-testid="automation-name" />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        {k === "retention" ? (
          <>
            <label>
              Object type
              <select value={objectType} onChange={(e) => setObjectType(e.target.value)}>
                <option value="project_logs">Logs</option>
                <option value="experiment">Experiments</option>
                <option value="dataset">Datasets</option>
              </select>
            </label>
            <label>
              Retention (days)
              {/* As the server takes it (MAX_RETENTION_DAYS in model/automations.py): 0 keeps nothing. */}
              <input type="number" min={0} max={36500} step={1} value={days} onChange={(e) => setDays(e.target.value)} data-testid="retention-days" />
            </label>
            <label>
              Grace period (hours)
              <input type="number" min={0} max={8760} value={grace} onChange={(e) => setGrace(e.target.value)} data-testid="grace-hours" />
            </label>
            <div className="warning">Rows older than the retention period are deleted; after the grace period the deletion is permanent.</div>
            {String(days).trim() !== "" && Number(days) === 0 && (
              <div className="warning" data-testid="retention-zero">
                0 days keeps nothing: each run deletes everything written before it.
              </div>
            )}
          </>
        ) : (
          <>
            <label>
              Data
              <select value={definition} onChange={(e) => setDefinition(e.target.value)} data-testid="export-definition">
                <option value="log_traces">Traces (one summary row per trace)</option>
                <option value="log_spans">Spans</option>
                <option value="btql_query">Custom BTQL query</option>
              </select>
            </label>
            {definition === "btql_query" && (
              <label>
                Query
                <textarea value={query} onChange={(e) => setQuery(e.target.value)} rows={3} />
              </label>
            )}
            <label>
              Path {saved && <span className="muted">(fixed after creation)</span>}
              <input value={path} onChange={(e) => setPath(e.target.value)} readOnly={!!saved} placeholder="s3://bucket/prefix or file:///dir" data-testid="export-path" />
            </label>
            <label>
              Format
              <select value={format} onChange={(e) => setFormat(e.target.value)}>
                <option value="jsonl">JSONL</option>
                <option value="parquet">Parquet</option>
              </select>
            </label>
            <label>
              Interval
              <select value={interval} onChange={(e) => setIntervalS(Number(e.target.value))}>
                {INTERVALS.map(([s, l]) => (
                  <option key={s} value={s}>
                    {l}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Max rows per run
              <input type="number" value={maxRows} onChange={(e) => setMaxRows(e.target.value)} />
            </label>
            <label>
              Rows per file
              <input type="number" value={rowsPerFile} onChange={(e) => setRowsPerFile(e.target.value)} />
            </label>
            <label>
              Batch size
              <input type="number" value={batchSize} onChange={(e) => setBatchSize(e.target.value)} />
            </label>
            {!path.startsWith("file://") && <>
            <label>
              Credentials
              <select value={credType} onChange={(e) => setCredType(e.target.value)} data-testid="cred-type">
                <option value="environment">Server environment / instance role</option>
                <option value="aws_iam">IAM role (assume role)</option>
                <option value="aws_static">Access key</option>
                <option value="profile">AWS profile</option>
              </select>
            </label>
            {credType === "aws_iam" && [credField("role_arn", "Role ARN"), credField("external_id", "External id")]}
            {credType === "aws_iam" && <div className="muted">The server assumes this role through STS with its own AWS credentials; allow it in the role's trust policy with this external id.</div>}
            {credType === "aws_static" && [credField("access_key_id", "Access key id"), credField("secret_access_key", "Secret access key", true), credField("session_token", "Session token", true)]}
            {credType === "profile" && credField("profile", "Profile")}
            {credField("region", "Region")}
            {credField("endpoint_url", "Endpoint URL (S3-compatible stores)")}
            </>}
          </>
        )}
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="active">Active</option>
            <option value="paused">Paused</option>
          </select>
        </label>
      </div>
      {error && <div className="error" data-testid="automation-error">{error}</div>}
      {test && (
        <div className={test.ok ? "ok" : "error"} data-testid="test-result">
          {test.ok ? "Test passed: " : "Test failed: "}
          {test.message}
        </div>
      )}
      <div className="buttons">
        <button className="primary" onClick={() => save()} disabled={busy || !nameText.trim()} data-testid="save-automation">
          {saved ? "Save" : "Create"}
        </button>
        {k !== "retention" && (
          <button onClick={runTest} disabled={busy || !nameText.trim()} data-testid="test-automation" title="Saves, then writes, reads back and deletes a test object at the path">
            Test
          </button>
        )}
        <button onClick={onClose} data-testid="close-form">
          Close
        </button>
        {savedNote && (
          <span className="muted" data-testid="save-status">
            Saved.
          </span>
        )}
      </div>
    </Dialog>
  );
}

function StatusView({ automation, onClose }: { automation: any; onClose: () => void }) {
  const [runs, setRuns] = useState<any | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = () =>
    request(`v1/project_automation/${automation.id}/runs`)
      .then(setRuns)
      .catch((e) => setMessage(`Run history not loaded: ${e.message}`));
  useEffect(() => {
    load();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps
  const act = async (what: string, fn: () => Promise<any>) => {
    setBusy(true);
    setMessage(null);
    try {
      const res = await fn();
      // A run the server ended as failed is no "done" (it said so over a failed run).
      const run = res?.run;
      if (run?.status === "failed") setMessage(`${what}: the run failed: ${run.error || "no error recorded"}`);
      else setMessage(`${what}: done`);
    } catch (e: any) {
      setMessage(`${what}: ${e.message}`);
    } finally {
      setBusy(false);
      load();
    }
  };
  const isRetention = kind(automation) === "retention";
  return (
    <Dialog testId="status-view" wide onClose={onClose}>
      <h3>{automation.name}: status</h3>
      {runs && (
        <div className="kv">
          <span>State {runs.state?.status}</span>
          {runs.state?.cursor && <span>Exported up to {runs.state.cursor}</span>}
          {runs.state?.next_run_at && <span>Next run {fmtTime(runs.state.next_run_at)}</span>}
          {runs.state?.running && <span>Running now</span>}
        </div>
      )}
      <div className="buttons">
        <button disabled={busy} onClick={() => act("Run once", () => request(`v1/project_automation/${automation.id}/run`, { method: "POST" }))} data-testid="run-once">
          Run once
        </button>
        {!isRetention && (
          <button
            disabled={busy}
            onClick={() => confirm("Clear the run history and export everything again from the start?") && act("Reset", () => request(`v1/project_automation/${automation.id}/reset`, { method: "POST" }))}
            data-testid="reset"
          >
            Reset
          </button>
        )}
        {isRetention && (
          <button disabled={busy} onClick={() => act("Restore", () => request(`v1/project_automation/${automation.id}/restore`, { method: "POST", body: {} }))} data-testid="restore">
            Restore deleted rows
          </button>
        )}
        <button onClick={onClose}>Close</button>
      </div>
      {message && <div className="muted" data-testid="status-message">{message}</div>}
      <table className="simple" data-testid="run-history">
        <thead>
          <tr>
            <th>#</th>
            <th>Status</th>
            <th>Trigger</th>
            <th>Started</th>
            <th>Took (s)</th>
            <th>Rows</th>
            <th>Bytes</th>
            <th>Files</th>
            <th>Backlog</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {(runs?.objects || []).map((r: any) => (
            <tr key={r.id} data-testid="run-row">
              <td>{r.seq}</td>
              <td data-testid="run-status">
                {r.status}
                {r.note && (
                  <span className="muted" data-testid="run-note" title={r.note}>
                    {" "}
                    · no new rows
                  </span>
                )}
              </td>
              <td data-testid="run-trigger" title={r.resumes ? `finishes run #${r.resumes}, which a server stop interrupted` : undefined}>
                {r.trigger}
                {r.resumes ? ` (resumes #${r.resumes})` : ""}
              </td>
              <td>{fmtTime(r.start)}</td>
              <td>{r.start && r.end ? ((Date.parse(r.end) - Date.parse(r.start)) / 1000).toFixed(2) : ""}</td>
              <td>{fmtNumber(r.rows)}</td>
              <td>{fmtNumber(r.bytes)}</td>
              <td>{Array.isArray(r.files) ? r.files.length : fmtNumber(r.files)}</td>
              <td title="rows left after this run hit its row cap (catching up)">{r.backlog ? `${fmtNumber(r.backlog)} (max rows reached)` : ""}</td>
              <td className="error-text" title={r.error || ""}>{r.error || ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs && runs.objects.length === 0 && <div className="empty">No runs yet.</div>}
    </Dialog>
  );
}
