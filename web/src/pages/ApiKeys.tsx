// The organization's API keys (`/v1/api_key`, admin keys only): list them (never a secret),
// create one (a name, stored trimmed, and a role; its secret shown once) and revoke one.
import { useEffect, useState } from "react";
import { activeSession, request } from "../api";
import { fmtTime } from "../components/DataTable";

const ROLES = [
  ["read", "read: query only"],
  ["write", "write: log, annotate, edit"],
  ["admin", "admin: also keys and automations"],
] as const;

/** onOwnKeyRevoked: the key this session is signed in with was revoked (its session ends). */
export function ApiKeys({ onOwnKeyRevoked }: { onOwnKeyRevoked: () => void }) {
  const [keys, setKeys] = useState<any[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [role, setRole] = useState("write");
  const [made, setMade] = useState<{ name: string; key: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const mine = activeSession()?.key;
  const load = () =>
    request("v1/api_key", { query: { limit: "1000" } })
      .then((r) => {
        setKeys(r.objects);
        setLoadError(null);
      })
      .catch((e) => setLoadError(e.status === 403 ? `Only an admin key can see and manage API keys (${e.message}).` : `API keys not loaded: ${e.message}`));
  useEffect(() => {
    load();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps
  // The key signed in with, told by its preview (the list never has secrets).
  const isMine = (k: any) => !!mine && !!k.preview_name && mine.startsWith(k.preview_name.split("…")[0]) && mine.endsWith(k.preview_name.split("…")[1] ?? "");

  return (
    <div className="page" data-testid="api-keys">
      <div className="toolbar">
        <h2>API keys</h2>
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            setMade(null);
            try {
              const k = await request("v1/api_key", { body: { name: name.trim(), role } });
              setMade({ name: k.name, key: k.key });
              setName("");
              load();
            } catch (err: any) {
              setError(`Key not created: ${err.message}`);
            } finally {
              setBusy(false);
            }
          }}
        >
          <input placeholder="name (the user it acts as)" value={name} onChange={(e) => setName(e.target.value)} data-testid="new-key-name" />{" "}
          <select value={role} onChange={(e) => setRole(e.target.value)} data-testid="new-key-role">
            {ROLES.map(([r, label]) => (
              <option key={r} value={r}>
                {label}
              </option>
            ))}
          </select>{" "}
          <button disabled={busy || !name.trim() || !keys} data-testid="create-key">
            + API key
          </button>
        </form>
      </div>
      {made && (
        <div className="ok" data-testid="new-key">
          The key of {made.name}, shown only now: <code data-testid="new-key-secret">{made.key}</code>
        </div>
      )}
      {loadError && (
        <div className="error" data-testid="keys-load-error">
          {loadError}
        </div>
      )}
      {error && (
        <div className="error" data-testid="keys-error">
          {error}
        </div>
      )}
      {keys && (
        <table className="simple" data-testid="keys-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>Key</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id} data-testid="key-row">
                <td className="wrap">
                  {k.name} {isMine(k) && <span className="badge">this session</span>}
                </td>
                <td>{k.role}</td>
                <td>
                  <code>{k.preview_name}</code>
                </td>
                <td>{fmtTime(k.created)}</td>
                <td>
                  <button
                    className="link"
                    data-testid="revoke-key"
                    onClick={async () => {
                      const warning = isMine(k) ? " It is the key this session is signed in with: this session ends, and you sign in again with another key." : "";
                      if (!confirm(`Revoke the key ${k.preview_name} of ${k.name}? It stops working at once.${warning}`)) return;
                      setError(null);
                      try {
                        await request(`v1/api_key/${k.id}`, { method: "DELETE" });
                      } catch (err: any) {
                        setError(`Key not revoked: ${err.message}`);
                        load();
                        return;
                      }
                      // This session's own key no longer works: sign out of it.
                      if (isMine(k)) onOwnKeyRevoked();
                      else load();
                    }}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
