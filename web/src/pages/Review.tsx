// The review queue of a project: spans flagged for human review (/v1/review_item), Awaiting
// or Completed; open one in its trace, mark it reviewed, reopen or remove it. ReviewFlag is the
// span detail's "Flag for review" / "Mark reviewed" control.
import { useEffect, useState } from "react";
import type { Project } from "../App";
import { request } from "../api";
import { href, setParams, useRoute } from "../router";
import { Source } from "./logsQuery";

type Item = {
  id: string;
  object_type: string;
  object_id: string;
  row_id: string;
  root_span_id: string | null;
  span_name: string | null;
  status: "awaiting" | "completed";
  created: string;
  updated: string;
};

function openHref(project: Project, item: Item): string {
  const params = { trace: item.root_span_id || item.row_id, span: item.row_id };
  return item.object_type === "experiment" ? href(["p", project.id, "experiments", item.object_id], params) : href(["p", project.id, "logs"], params);
}

export function Review({ project }: { project: Project }) {
  const { params } = useRoute();
  const status = params.get("status") === "completed" ? "completed" : "awaiting";
  const [items, setItems] = useState<Item[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    setItems(null);
    request("v1/review_item", { query: { project_id: project.id, status } })
      .then((r) => setItems(r.objects))
      .catch((e) => setError(e.message));
  }, [project.id, status, version]);
  const act = async (item: Item, body: object | null) => {
    await request(`v1/review_item/${item.id}`, body ? { method: "PATCH", body } : { method: "DELETE" });
    setVersion(version + 1);
  };
  return (
    <div className="page" data-testid="review-queue">
      <div className="toolbar">
        <h2>Review</h2>
        <span className="tabs">
          <button className={status === "awaiting" ? "on" : ""} onClick={() => setParams({ status: undefined })} data-testid="review-awaiting">
            Awaiting
          </button>
          <button className={status === "completed" ? "on" : ""} onClick={() => setParams({ status: "completed" })} data-testid="review-completed">
            Completed
          </button>
        </span>
      </div>
      {error && <div className="error">{error}</div>}
      {items && items.length === 0 && <div className="empty">{status === "awaiting" ? "Nothing awaits review. Flag a span for review from its detail." : "No review completed yet."}</div>}
      {items && items.length > 0 && (
        <table className="simple">
          <thead>
            <tr>
              <th>Span</th>
              <th>In</th>
              <th>Row</th>
              <th>{status === "awaiting" ? "Flagged" : "Completed"}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.id} data-testid="review-item">
                <td>
                  <a href={openHref(project, item)} data-testid="review-open">
                    {item.span_name || "span"}
                  </a>
                </td>
                <td>{item.object_type === "experiment" ? "experiment" : "logs"}</td>
                <td>
                  <code>{item.row_id}</code>
                </td>
                <td className="muted">{(status === "awaiting" ? item.created : item.updated).replace("T", " ").slice(0, 19)}</td>
                <td>
                  {status === "awaiting" ? (
                    <button onClick={() => act(item, { status: "completed" })} data-testid="review-complete">
                      Mark reviewed
                    </button>
                  ) : (
                    <button onClick={() => act(item, { status: "awaiting" })}>Reopen</button>
                  )}{" "}
                  <button className="icon" onClick={() => act(item, null)} title="Remove from the queue">
                    ×
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

export function ReviewFlag({ source, row }: { source: Source; row: any }) {
  const [item, setItem] = useState<Item | null | undefined>(undefined);
  const load = () =>
    request("v1/review_item", { query: { object_id: source.id, row_id: row.id } })
      .then((r) => setItem(r.objects.find((i: Item) => i.object_type === source.type) ?? null))
      .catch(() => setItem(null));
  useEffect(() => {
    load();
  }, [source.id, row.id]); // eslint-disable-line react-hooks/exhaustive-deps
  if (item === undefined) return null;
  const flag = async () => {
    setItem(
      await request("v1/review_item", {
        body: { object_type: source.type, object_id: source.id, row_id: row.id, root_span_id: row.root_span_id, span_name: row.span_attributes?.name ?? null },
      }),
    );
  };
  const mark = async (status: string) => setItem(await request(`v1/review_item/${item!.id}`, { method: "PATCH", body: { status } }));
  return (
    <div className="review-flag" data-testid="review-flag">
      {!item && (
        <button onClick={flag} data-testid="flag-for-review">
          Flag for review
        </button>
      )}
      {item?.status === "awaiting" && (
        <>
          <span className="badge">awaiting review</span>{" "}
          <button onClick={() => mark("completed")} data-testid="mark-reviewed">
            Mark reviewed
          </button>
        </>
      )}
      {item?.status === "completed" && (
        <>
          <span className="badge">reviewed ✓</span> <button onClick={() => mark("awaiting")}>Reopen</button>
        </>
      )}
    </div>
  );
}
