import { FormEvent, useState } from "react";
import { request, saveSession, Session } from "../api";
import { navigate } from "../router";

export function Login({ onSignedIn, canCancel }: { onSignedIn: (s: Session) => void; canCancel: boolean }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await request("api/apikey/login", { method: "POST", body: {}, key: key.trim() });
      const org = res.org_info[0];
      const session = { key: key.trim(), org: org.name, orgId: org.id };
      saveSession(session);
      onSignedIn(session);
    } catch (err: any) {
      setError(err.status === 401 ? "That API key is not valid." : err.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="login">
      <form onSubmit={submit}>
        <h1>tracelake</h1>
        <p>Sign in with an API key (printed by the server on first start, or made with <code>tracelake keys create</code>).</p>
        <input
          type="password"
          placeholder="tl-…"
          value={key}
          autoFocus
          onChange={(e) => setKey(e.target.value)}
          data-testid="api-key"
        />
        <button type="submit" disabled={!key.trim() || busy} data-testid="sign-in">
          Sign in
        </button>
        {canCancel && (
          <button type="button" onClick={() => navigate([])}>
            Cancel
          </button>
        )}
        {error && <div className="error">{error}</div>}
      </form>
    </div>
  );
}
