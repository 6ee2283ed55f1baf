// The screen of one object (an experiment, a dataset) that could not be loaded: gone (deleted,
// or a link naming another one) or refused, with the way back to its list.
import type { ApiError } from "../api";

export function NotLoaded({ what, id, error, back, backLabel }: { what: string; id: string; error: ApiError; back: string; backLabel: string }) {
  return (
    <div className="page">
      <a href={back}>← {backLabel}</a>
      <div className={error.status === 404 ? "empty" : "error"} data-testid={`${what}-missing`}>
        {error.status === 404 ? (
          <>
            No {what} with id <code>{id}</code> in this project: it was deleted, or the link names another one.
          </>
        ) : (
          error.message
        )}
      </div>
    </div>
  );
}
