// Links in the Braintrust app's form, as the SDK prints them and the summarize routes return
// them: `<app url>/app/<org>/p/<project>[/experiments/<name> | /datasets/<name> | /logs?oid=<row>]`
// and `<app url>/app/<org>/object?object_type=…&object_id=…&id=<row>`. The server sends a
// browser that opens one to `#/open?link=<the link's path and query>` (it holds no API key);
// here the objects the link names are found, with the signed-in key, and turned into a route.
import { btql, lit, request } from "./api";

export type Target = { path: string[]; params: Record<string, string | undefined> };

/** The link's path segments (decoded) and query. */
function parts(link: string): { segments: string[]; query: URLSearchParams } {
  const u = new URL(link, "http://link.invalid/");
  const segments = u.pathname
    .split("/")
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, query: u.searchParams };
}

/** The organization a link names, or null when it is not a link in the app's form. */
export function linkOrg(link: string): string | null {
  const { segments } = parts(link);
  return segments[0] === "app" && segments.length >= 2 ? segments[1] : null;
}

const CANNOT = "tracelake cannot open this link";

export async function resolveLink(link: string): Promise<Target> {
  const { segments, query } = parts(link);
  const rest = segments.slice(2);
  if (linkOrg(link) === null) throw new Error(CANNOT);
  if (rest.length === 1 && rest[0] === "object") return objectTarget(query);
  if (rest[0] !== "p" || !rest[1] || rest.length > 4) throw new Error(CANNOT);
  const project = await named("v1/project", { project_name: rest[1] }, `project '${rest[1]}'`);
  const [screen = "logs", name] = rest.slice(2);
  if (screen === "logs" && name === undefined) {
    const oid = query.get("oid");
    const params = oid ? await spanParams(`project_logs(${lit(project.id)})`, oid, "the project's logs") : {};
    return { path: ["p", project.id, "logs"], params };
  }
  if (screen === "experiments" || screen === "datasets") {
    if (name === undefined) return { path: ["p", project.id, screen], params: {} };
    const kind = screen === "experiments" ? "experiment" : "dataset";
    const found = await named(`v1/${kind}`, { project_id: project.id, [`${kind}_name`]: name }, `${kind} '${name}' in project '${project.name}'`);
    return { path: ["p", project.id, screen, found.id], params: {} };
  }
  throw new Error(CANNOT);
}

/** The one object a list route finds by name, or an error naming what is missing. */
async function named(path: string, query: Record<string, string>, what: string): Promise<any> {
  const found = (await request(path, { query: { ...query, limit: "1" } })).objects;
  if (!found.length) throw new Error(`There is no ${what} in this organization.`);
  return found[0];
}

/** The route parameters that open a row's span in its trace. */
async function spanParams(source: string, id: string, where: string): Promise<Record<string, string>> {
  const { data } = await btql(`select: id, root_span_id | from: ${source} | filter: id = ${lit(id)} | limit: 1`);
  if (!data.length) throw new Error(`There is no row '${id}' in ${where}.`);
  return { trace: data[0].root_span_id, span: data[0].id };
}

async function objectTarget(query: URLSearchParams): Promise<Target> {
  const type = query.get("object_type");
  const objectId = query.get("object_id") || "";
  const id = query.get("id") || "";
  if (!objectId || !id) throw new Error(CANNOT);
  if (type === "project_logs") {
    await request(`v1/project/${encodeURIComponent(objectId)}`);
    const params = await spanParams(`project_logs(${lit(objectId)})`, id, "the project's logs");
    return { path: ["p", objectId, "logs"], params };
  }
  if (type === "experiment") {
    const experiment = await request(`v1/experiment/${encodeURIComponent(objectId)}`);
    const params = await spanParams(`experiment(${lit(objectId)})`, id, `experiment '${experiment.name}'`);
    return { path: ["p", experiment.project_id, "experiments", objectId], params };
  }
  if (type === "dataset") {
    const dataset = await request(`v1/dataset/${encodeURIComponent(objectId)}`);
    return { path: ["p", dataset.project_id, "datasets", objectId], params: { row: id } };
  }
  throw new Error(CANNOT);
}
