// Saved sandbox queries: on the server as views (`/v1/view`, view_type "sandbox", object the
// project, view_data {query}), shared by everyone in the organization. Queries saved in this
// browser before (local storage) are sent to the server once, then dropped. A server without
// the /v1/view route (a bare 404 "Not Found") keeps them in this browser, as before.
import { ApiError, request } from "../api";

export type Saved = { id?: string; name: string; query: string };
export type SavedStore = {
  where: "server" | "browser";
  list: () => Promise<Saved[]>;
  save: (name: string, query: string, existing?: Saved) => Promise<void>;
  rename: (s: Saved, name: string) => Promise<void>;
  remove: (s: Saved) => Promise<void>;
};

export function localKey(projectId: string) {
  return `tracelake.saved-queries.${projectId}`;
}

export function loadLocal(projectId: string): Saved[] {
  try {
    const found = JSON.parse(localStorage.getItem(localKey(projectId)) || "[]");
    return Array.isArray(found) ? found.filter((s) => s && typeof s.name === "string" && typeof s.query === "string") : [];
  } catch {
    return [];
  }
}

function browserStore(projectId: string): SavedStore {
  const write = (next: Saved[]) => localStorage.setItem(localKey(projectId), JSON.stringify(next));
  return {
    where: "browser",
    list: async () => loadLocal(projectId),
    save: async (name, query) => write([...loadLocal(projectId).filter((s) => s.name !== name), { name, query }]),
    rename: async (s, name) => write(loadLocal(projectId).map((x) => (x.name === s.name ? { ...x, name } : x))),
    remove: async (s) => write(loadLocal(projectId).filter((x) => x.name !== s.name)),
  };
}

function serverStore(projectId: string): SavedStore {
  const list = async (): Promise<Saved[]> => {
    const r = await request("v1/view", { query: { object_type: "project", object_id: projectId, view_type: "sandbox", limit: "1000" } });
    return r.objects
      .map((v: any) => ({ id: v.id, name: v.name, query: v.view_data?.query ?? "" }))
      .sort((a: Saved, b: Saved) => a.name.localeCompare(b.name));
  };
  return {
    where: "server",
    list,
    save: async (name, query, existing) => {
      if (existing?.id) await request(`v1/view/${existing.id}`, { method: "PATCH", body: { view_data: { query } } });
      else await request("v1/view", { body: { object_type: "project", object_id: projectId, view_type: "sandbox", name, view_data: { query } } });
    },
    rename: async (s, name) => {
      await request(`v1/view/${s.id}`, { method: "PATCH", body: { name } });
    },
    remove: async (s) => {
      await request(`v1/view/${s.id}`, { method: "DELETE" });
    },
  };
}

/** Send this browser's saved queries to the server once (names already there are kept). */
async function migrateLocal(projectId: string, store: SavedStore): Promise<void> {
  const local = loadLocal(projectId);
  if (local.length === 0) return;
  const names = new Set((await store.list()).map((s) => s.name));
  for (const s of local) if (!names.has(s.name)) await store.save(s.name, s.query);
  localStorage.removeItem(localKey(projectId));
}

/** The store of the project's saved queries: the server's, or this browser's when the server
 * has no /v1/view route. */
export async function savedStore(projectId: string): Promise<SavedStore> {
  const server = serverStore(projectId);
  try {
    await server.list();
  } catch (e) {
    const err = e as ApiError;
    // A route the server lacks answers a bare "Not Found" (our own 404s name what is missing).
    if (err.status === 404 && err.message === "Not Found") return browserStore(projectId);
    throw e;
  }
  try {
    await migrateLocal(projectId, server);
  } catch {
    /* a read-only key cannot save: the local queries stay for a later try */
  }
  return server;
}
