// The project's configuration shared by every screen: its tags (with colours) and its score
// configurations (/v1/project_tag, /v1/project_score), loaded once per project and reloaded
// after a change; components read them with useProjectTags / useScoreConfigs.
import { useEffect, useSyncExternalStore } from "react";
import { request } from "./api";

export type ProjectTag = { id: string; project_id: string; name: string; color: string | null; description: string | null };
export type ScoreConfig = {
  id: string;
  project_id: string;
  name: string;
  description: string | null;
  score_type: "slider" | "categorical" | "free-form" | "online";
  categories: { name: string; value: number }[] | null;
  config: { destination?: string | null } | null;
};

type State = { projectId: string | null; tags: ProjectTag[]; scores: ScoreConfig[] };
let state: State = { projectId: null, tags: [], scores: [] };
const listeners = new Set<() => void>();
const subscribe = (f: () => void) => {
  listeners.add(f);
  return () => listeners.delete(f);
};

export async function reloadProjectConfig(projectId: string) {
  const [tags, scores] = await Promise.all([
    request("v1/project_tag", { query: { project_id: projectId } }),
    request("v1/project_score", { query: { project_id: projectId } }),
  ]);
  const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
  state = { projectId, tags: tags.objects.sort(byName), scores: scores.objects.sort(byName) };
  listeners.forEach((f) => f());
}

/** The tag or score configuration already named `name`, from the lists asked for again (one
 * may have been added meanwhile): the server's POST answers a taken name with that one
 * (create-or-get, as Braintrust's API), so the UI asks first to say the name is taken. */
export async function existingNamed(projectId: string, kind: "tags" | "scores", name: string): Promise<{ name: string } | undefined> {
  await reloadProjectConfig(projectId);
  return state[kind].find((x) => x.name === name);
}

/** Load the project's configuration when the project changes. */
export function useProjectConfig(projectId: string) {
  useEffect(() => {
    if (state.projectId !== projectId) reloadProjectConfig(projectId).catch(() => undefined);
  }, [projectId]);
  return useSyncExternalStore(subscribe, () => state);
}

export function useProjectTags(): ProjectTag[] {
  return useSyncExternalStore(subscribe, () => state.tags);
}

export function useScoreConfigs(): ScoreConfig[] {
  return useSyncExternalStore(subscribe, () => state.scores);
}

/** Black or white text, whichever reads better on the colour. */
export function textOn(color: string): string {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return "inherit";
  const [r, g, b] = m.slice(1).map((h) => parseInt(h, 16));
  return r * 0.299 + g * 0.587 + b * 0.114 > 150 ? "#1d2330" : "#fff";
}
