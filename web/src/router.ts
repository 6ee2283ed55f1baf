// Routing in the URL fragment: #/p/<project id>/<screen>?<state>. The server serves one page,
// so no catch-all route can shadow the API, and deep links work behind a path prefix.
import { useEffect, useState } from "react";

export type Route = { path: string[]; params: URLSearchParams };

function parse(): Route {
  const hash = window.location.hash.replace(/^#/, "");
  const [p, q] = hash.split("?", 2);
  return { path: p.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q || "") };
}

export function href(path: string[], params?: Record<string, string | undefined> | URLSearchParams): string {
  const p = "#/" + path.map(encodeURIComponent).join("/");
  const q = new URLSearchParams();
  if (params instanceof URLSearchParams) params.forEach((v, k) => q.set(k, v));
  else for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `${p}?${s}` : p;
}

export function navigate(path: string[], params?: Record<string, string | undefined>) {
  window.location.hash = href(path, params);
}

/** Change some query parameters of the current route (undefined or "" removes one). */
export function setParams(changes: Record<string, string | undefined>, push = false) {
  const { path, params } = parse();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === "") params.delete(k);
    else params.set(k, v);
  }
  const next = href(path, params);
  if (push) window.location.hash = next;
  else {
    history.replaceState(null, "", next);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** Go to a route in place of the current one (the back button skips the current one). */
export function replaceRoute(path: string[], params?: Record<string, string | undefined>) {
  history.replaceState(null, "", href(path, params));
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
