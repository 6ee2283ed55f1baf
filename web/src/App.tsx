import { useEffect, useRef, useState } from "react";
import { activeSession, request, Session, sessions, signOut, useSession } from "./api";
import { href, navigate, replaceRoute, useRoute } from "./router";
import { Login } from "./pages/Login";
import { Logs } from "./pages/Logs";
import { Experiments } from "./pages/Experiments";
import { Sandbox } from "./pages/Sandbox";
import { Automations } from "./pages/Automations";
import { Review } from "./pages/Review";
import { Datasets } from "./pages/Datasets";
import { OpenLink } from "./pages/OpenLink";
import { ApiKeys } from "./pages/ApiKeys";
import { Dialog } from "./components/Dialog";

export type Project = { id: string; name: string; org_id: string };

const SCREENS = [
  ["logs", "Logs"],
  ["experiments", "Experiments"],
  ["datasets", "Datasets"],
  ["sandbox", "BTQL sandbox"],
  ["review", "Review"],
  ["automations", "Automations"],
  ["keys", "API keys"], // (the organization's, shown under each project)
] as const;

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null>(activeSession);
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  // Sign out of the organization in use: the Sign out button, and the API keys screen once the
  // key this session is signed in with is revoked (the screen stayed, every call refused).
  const endSession = () => {
    if (!session) return;
    signOut(session.orgId);
    const next = activeSession();
    setSession(next);
    // Another organization's session goes on: to its first project (the URL named
    // a project of the one signed out of: "No project with id … in this organization").
    // None left: the sign-in screen, whose URL names no project of the old one.
    if (next) navigate([]);
    else replaceRoute(["login"]);
  };

  // The session's key refused (revoked or deleted since the sign-in): offered to sign in again.
  const [keyRefused, setKeyRefused] = useState(false);
  useEffect(() => {
    // (an error of the session before, such as its refused key, is not this one's)
    setProjects(null);
    setError(null);
    setKeyRefused(false);
    if (!session) return;
    request("v1/project", { query: { limit: "1000" } })
      .then((r) => setProjects(r.objects))
      .catch((e) => {
        setError(e.message);
        setKeyRefused(e.status === 401);
      });
  }, [session]);
  const signInAgain = () => {
    if (session) signOut(session.orgId);
    setSession(activeSession());
    replaceRoute(["login"]);
  };
  // Projects created since the list loaded (by the SDK, another user) appear when the
  // switcher is opened; a failure keeps the list it has.
  const refreshProjects = () =>
    request("v1/project", { query: { limit: "1000" } })
      .then((r) => setProjects(r.objects))
      .catch(() => {});

  // A project the URL names that is not in the list may be newer than the list (created by the
  // SDK or another user since this page loaded, opened by a link in this tab): ask again once
  // before saying there is none.
  const projectId = route.path[0] === "p" ? route.path[1] : undefined;
  const asked = useRef<string | null>(null);
  const [rechecked, setRechecked] = useState<string | null>(null);
  useEffect(() => {
    if (!session || !projects || !projectId || projects.some((p) => p.id === projectId) || asked.current === projectId) return;
    asked.current = projectId;
    request("v1/project", { query: { limit: "1000" } })
      .then((r) => setProjects(r.objects))
      .catch((e) => setError(e.message))
      .finally(() => setRechecked(projectId));
  }, [session, projects, projectId]);

  // Without a project in the URL: the first project's logs (a link being opened names one).
  // (Of this session's organization: right after a sign-in to another one, the list is still
  // the previous organization's until the new one arrives, and its first project was opened.)
  const first = projects?.find((p) => p.org_id === session?.orgId)?.id;
  const noProject = route.path.length === 0;
  // A path that names no screen (a mistyped or cut-short URL) says so; it opened the logs.
  const unknownPath = !noProject && !["login", "open"].includes(route.path[0]) && !(route.path[0] === "p" && route.path[1]);
  useEffect(() => {
    // In place of the URL naming no project: a new history entry made Back land on that URL,
    // which came straight back here (Back could not leave the first screen).
    if (session && noProject && first) replaceRoute(["p", first, "logs"]);
  }, [session, noProject, first]);

  if (!session || route.path[0] === "login")
    return (
      <Login
        onSignedIn={(s) => {
          setSession(s);
          // A link being opened stays; a sign-in asked for by one returns to it.
          const next = route.path[0] === "login" ? route.params.get("next") : null;
          if (next?.startsWith("#/")) window.location.hash = next;
          else if (route.path[0] !== "open") navigate([]);
        }}
        canCancel={!!session}
      />
    );

  const project = projects?.find((p) => p.id === projectId);
  const screen = route.path[2] || "logs";
  const unknownScreen = !SCREENS.some(([id]) => id === screen);

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">tracelake</span>
        <label className="switcher">
          <span>Organization</span>
          <select
            data-testid="org-switcher"
            value={session.orgId}
            onChange={(e) => {
              if (e.target.value === "+") return navigate(["login"]);
              useSession(e.target.value);
              setSession(activeSession());
              navigate([]);
            }}
          >
            {sessions().map((s) => (
              <option key={s.orgId} value={s.orgId}>
                {s.org}
              </option>
            ))}
            <option value="+">Add an organization…</option>
          </select>
        </label>
        <label className="switcher">
          <span>Project</span>
          <select
            data-testid="project-switcher"
            value={project?.id || ""}
            onFocus={refreshProjects}
            onChange={(e) => (e.target.value === "+" ? setCreating(true) : navigate(["p", e.target.value, screen]))}
          >
            {!project && <option value="">…</option>}
            {(projects || []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
            <option value="+">New project…</option>
          </select>
        </label>
        <nav>
          {project &&
            SCREENS.map(([id, label]) => (
              <a key={id} href={href(["p", project.id, id])} className={screen === id ? "active" : ""} data-testid={`nav-${id}`}>
                {label}
              </a>
            ))}
        </nav>
        <button className="signout" onClick={endSession}>
          Sign out
        </button>
      </header>
      <main>
        {error && (
          <div className="error" data-testid="app-error">
            {error}
            {keyRefused && (
              <>
                {" "}
                — the API key this browser signed in to {session.org} with is no longer accepted (revoked or deleted).{" "}
                <button onClick={signInAgain} data-testid="sign-in-again">
                  Sign in again
                </button>
              </>
            )}
          </div>
        )}
        {projects && projectId && !project && rechecked === projectId && <div className="error">No project with id {projectId} in this organization.</div>}
        {projects && projects.length === 0 && (
          <div className="empty">
            No projects yet: log data with the SDK, run <code>tracelake demo</code>, or{" "}
            <button onClick={() => setCreating(true)} data-testid="first-project">
              + Project
            </button>
          </div>
        )}
        {creating && (
          <NewProject
            onClose={(made) => {
              setCreating(false);
              if (!made) return;
              setProjects((list) => [...(list || []).filter((p) => p.id !== made.id), made]);
              navigate(["p", made.id, "logs"]);
            }}
          />
        )}
        {route.path[0] === "open" && (
          <OpenLink
            link={route.params.get("link") || ""}
            session={session}
            onUseOrg={(orgId) => {
              useSession(orgId);
              setSession(activeSession());
            }}
          />
        )}
        {unknownPath && <NotFound path={route.path} back={href([])} backLabel="the first project" />}
        {project && unknownScreen && <NotFound path={route.path} back={href(["p", project.id, "logs"])} backLabel={`${project.name}'s logs`} />}
        {project && !unknownScreen && (
          <Screen key={project.id + screen} screen={screen} project={project} route={route.path.slice(3)} onSignedOut={endSession} />
        )}
      </main>
    </div>
  );
}

/** "New project…" in the project switcher: a name (without the spaces around it, as the server
 * stores names); a name another project of the organization has says so (the server's POST
 * would answer that project: create-or-get). */
function NewProject({ onClose }: { onClose: (made: Project | null) => void }) {
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog testId="new-project" onClose={() => onClose(null)}>
      <h3>New project</h3>
      <form
        className="form"
        onSubmit={async (e) => {
          e.preventDefault();
          const trimmed = name.trim();
          setBusy(true);
          setError(null);
          try {
            const same = await request("v1/project", { query: { project_name: trimmed } });
            if (same.objects.length) throw new Error(`A project named “${trimmed}” already exists: pick it in the switcher, or choose another name.`);
            onClose(await request("v1/project", { body: { name: trimmed } }));
          } catch (err: any) {
            setError(err.message.startsWith("A project named") ? err.message : `Project not created: ${err.message}`);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label>
          Name
          <input autoFocus value={name} onChange={(e) => setName(e.target.value)} data-testid="new-project-name" />
        </label>
        {error && (
          <div className="error" data-testid="new-project-error">
            {error}
          </div>
        )}
        <div className="buttons">
          <button className="primary" disabled={busy || !name.trim()} data-testid="create-project">
            Create
          </button>
          <button type="button" onClick={() => onClose(null)}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function NotFound({ path, back, backLabel }: { path: string[]; back: string; backLabel: string }) {
  return (
    <div className="page" data-testid="not-found">
      <h2>Page not found</h2>
      <p>
        There is no screen at <code>#/{path.join("/")}</code>: the link may be mistyped or cut short.
      </p>
      <a href={back} data-testid="not-found-back">
        ← Back to {backLabel}
      </a>
    </div>
  );
}

function Screen({ screen, project, route, onSignedOut }: { screen: string; project: Project; route: string[]; onSignedOut: () => void }) {
  switch (screen) {
    case "experiments":
      return <Experiments project={project} sub={route} />;
    case "datasets":
      return <Datasets project={project} sub={route} />;
    case "sandbox":
      return <Sandbox project={project} />;
    case "review":
      return <Review project={project} />;
    case "automations":
      return <Automations project={project} />;
    case "keys":
      return <ApiKeys onOwnKeyRevoked={onSignedOut} />;
    default: // "logs" (another name is not found before it gets here)
      return <Logs project={project} />;
  }
}
