import { useEffect, useState } from "react";
import { Session, sessions } from "../api";
import { linkOrg, resolveLink } from "../links";
import { href, navigate, replaceRoute } from "../router";

/** `#/open?link=…`: a link in the Braintrust app's form (see links.ts), opened where it
 * points. A link of another organization whose key this browser holds switches to it. */
export function OpenLink({ link, session, onUseOrg }: { link: string; session: Session; onUseOrg: (orgId: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const org = linkOrg(link);
  const other = org !== null && org !== session.org ? sessions().find((s) => s.org === org) : undefined;
  const foreign = org !== null && org !== session.org && !other;
  useEffect(() => {
    setError(null);
    if (other) return onUseOrg(other.orgId);
    if (foreign) return;
    let live = true;
    resolveLink(link)
      .then((target) => live && replaceRoute(target.path, target.params))
      .catch((e) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [link, session.orgId]); // eslint-disable-line react-hooks/exhaustive-deps
  const home = <a href={href([])}>Go to the first project</a>;
  if (foreign)
    return (
      <div className="error" data-testid="link-error">
        This link is for the organization '{org}', and this browser is signed in to '{session.org}'.{" "}
        <button onClick={() => navigate(["login"], { next: `#/open?link=${encodeURIComponent(link)}` })}>Sign in to '{org}'</button> {home}
      </div>
    );
  if (error)
    return (
      <div className="error" data-testid="link-error">
        {error} <span className="muted">({link})</span> {home}
      </div>
    );
  return (
    <div className="empty" data-testid="link-opening">
      Opening {link}…
    </div>
  );
}
