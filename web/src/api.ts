// The HTTP client: every call carries the signed-in API key; errors keep the server's shape.

export type Session = { key: string; org: string; orgId: string };

const SESSIONS = "tracelake.sessions";
const ACTIVE = "tracelake.active";

export function sessions(): Session[] {
  try {
    return JSON.parse(localStorage.getItem(SESSIONS) || "[]");
  } catch {
    return [];
  }
}

export function activeSession(): Session | null {
  const all = sessions();
  const active = localStorage.getItem(ACTIVE);
  return all.find((s) => s.orgId === active) || all[0] || null;
}

export function saveSession(session: Session) {
  const rest = sessions().filter((s) => s.orgId !== session.orgId);
  localStorage.setItem(SESSIONS, JSON.stringify([...rest, session]));
  localStorage.setItem(ACTIVE, session.orgId);
}

export function useSession(orgId: string) {
  localStorage.setItem(ACTIVE, orgId);
}

export function signOut(orgId: string) {
  localStorage.setItem(SESSIONS, JSON.stringify(sessions().filter((s) => s.orgId !== orgId)));
  localStorage.removeItem(ACTIVE);
}

export class ApiError extends Error {
  status: number;
  type: string;
  line?: number;
  col?: number;
  detail: string;
  violations?: { row?: number; id?: string; field?: string; path?: string; message: string }[];
  /** `status` 0: no answer (the server could not be reached); `statusText` names a status
   * whose body is not the server's JSON error (a proxy's HTML page). */
  constructor(status: number, body: any, statusText = "") {
    const err = body?.error || {};
    super(err.message || `HTTP ${status}${statusText ? ` ${statusText}` : ""}`);
    this.status = status;
    this.type = err.type || "HTTPError";
    this.line = err.line;
    this.col = err.col;
    this.violations = err.violations;
    // the message without its " at L:C" suffix
    this.detail = (err.message || "").replace(/ at \d+:\d+$/, "");
  }
}

// Relative to the page, so the UI works behind a path prefix.
export function url(path: string, query?: Record<string, string | undefined>): string {
  const u = new URL(path.replace(/^\//, ""), document.baseURI.split("#")[0]);
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== "") u.searchParams.set(k, v);
  return u.toString();
}

type Options = {
  method?: string;
  body?: unknown;
  query?: Record<string, string | undefined>;
  key?: string;
  raw?: boolean;
};

/** fetch, with a network failure (no answer at all) as an ApiError that says so: the
 * browser's own message ("Failed to fetch") does not. */
async function send(input: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch (e: any) {
    throw new ApiError(0, { error: { type: "NetworkError", message: `Could not reach the server (${e?.message || e})` } });
  }
}

export async function request(path: string, opts: Options = {}): Promise<any> {
  const key = opts.key ?? activeSession()?.key;
  const res = await send(url(path, opts.query), {
    method: opts.method || (opts.body !== undefined ? "POST" : "GET"),
    headers: {
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
      ...(opts.body !== undefined ? { "Content-Type": "application/json" } : {}),
    },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  if (!res.ok) {
    let body: any = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, body, res.statusText);
  }
  if (opts.raw) return res;
  return res.json();
}

export type BtqlResult = { data: any[]; schema: any; cursor: string | null };

export function btql(query: string, version?: string): Promise<BtqlResult> {
  return request("btql", { body: { query, fmt: "json", ...(version ? { version } : {}) } });
}

/** POST a file as the raw request body (dataset imports). */
export async function postFile(path: string, file: Blob, query: Record<string, string | undefined>): Promise<any> {
  const key = activeSession()?.key;
  const res = await send(url(path, query), {
    method: "POST",
    headers: { ...(key ? { Authorization: `Bearer ${key}` } : {}), "Content-Type": "application/octet-stream" },
    body: file,
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body, res.statusText);
  return body;
}

/** Quote a string as a BTQL literal. */
export function lit(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

export const FORMATS = ["json", "jsonl", "csv", "parquet"] as const;

/** Save a response body as a file (the browser's download). */
export async function saveResponse(res: Response, filename: string) {
  const blob = await res.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export async function downloadBtql(query: string, fmt: string, filename: string) {
  const res = await request("btql", { body: { query, fmt }, raw: true });
  await saveResponse(res, filename);
}

export async function downloadExport(
  objectType: string,
  id: string,
  fmt: string,
  filter: string,
  shape: string,
  filename: string,
  version?: string,
) {
  const res = await request(`v1/${objectType}/${id}/export`, {
    query: { format: fmt, filter: filter || undefined, shape, version },
    raw: true,
  });
  await saveResponse(res, filename);
}
