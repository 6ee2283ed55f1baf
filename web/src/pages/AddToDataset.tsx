// "Add to dataset": copy spans (input, output as expected, metadata) into a dataset, with the
// span as each new row's origin. A failure (the datasets not listed, a dataset deleted or a
// write refused) shows the server's message in the dialog, which stays open with its choice.
import { useEffect, useState } from "react";
import type { Project } from "../App";
import { btql, lit, request } from "../api";
import { href } from "../router";
import { Source, sourceExpr } from "./logsQuery";
import { Dialog } from "../components/Dialog";

export function AddToDataset({
  project,
  source,
  spanIds,
  onClose,
}: {
  project: Project;
  source: Source;
  spanIds: string[];
  /** The dataset written to and how many rows, or null when nothing was added. */
  onClose: (added: Added | null) => void;
}) {
  const [datasets, setDatasets] = useState<any[]>([]);
  const [choice, setChoice] = useState("");
  const [newName, setNewName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    request("v1/dataset", { query: { project_id: project.id, limit: "1000" } })
      .then((r) => {
        setDatasets(r.objects);
        // (a choice made while the list loaded, "New dataset…", stays)
        setChoice((c) => c || r.objects[0]?.id || "+");
      })
      .catch((e) => {
        setChoice("+");
        setError(`Datasets not listed: ${e.message}`);
      })
      .finally(() => setLoaded(true));
  }, [project.id]);
  const add = async () => {
    setBusy(true);
    setError(null);
    try {
      let datasetId = choice;
      let dataset = datasets.find((d) => d.id === choice);
      if (choice === "+") {
        // A taken name would add to that dataset (the server's POST answers it): pick it
        // instead, and say so, so that the user adds to it knowingly.
        const taken = datasets.find((d) => d.name === newName.trim());
        if (taken) {
          setChoice(taken.id);
          setError(`A dataset named “${taken.name}” already exists: it is picked above; Add adds the spans to it.`);
          return;
        }
        const d = await request("v1/dataset", { body: { project_id: project.id, name: newName.trim() } });
        datasetId = d.id;
        dataset = d;
        // Created: a retry after a failed insert writes into it rather than creating another.
        setDatasets((old) => [...old, d]);
        setChoice(d.id);
      }
      const res = await btql(
        `select: id, input, output, metadata | from: ${sourceExpr(source)} | filter: id IN [${spanIds.map(lit).join(", ")}] | limit: ${spanIds.length}`,
      );
      const events = res.data.map((r) => ({
        input: r.input,
        expected: r.output,
        metadata: r.metadata,
        origin: { object_type: source.type, object_id: source.id, id: r.id },
      }));
      await request(`v1/dataset/${datasetId}/insert`, { body: { events } });
      onClose({ dataset: { id: datasetId, name: dataset?.name ?? datasetId }, count: events.length });
    } catch (e: any) {
      setError(`Not added: ${e.message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog testId="add-dataset-dialog" onClose={() => onClose(null)}>
      <h3>Add {spanIds.length} span{spanIds.length === 1 ? "" : "s"} to a dataset</h3>
      <p className="muted">Input becomes the row's input, output its expected value; metadata is kept.</p>
      <select value={choice} onChange={(e) => setChoice(e.target.value)} data-testid="dataset-choice">
        {datasets.map((d) => (
          <option key={d.id} value={d.id}>
            {d.name}
          </option>
        ))}
        <option value="+">New dataset…</option>
      </select>
      {choice === "+" && <input placeholder="dataset name" value={newName} onChange={(e) => setNewName(e.target.value)} data-testid="new-dataset-name" />}
      <div className="buttons">
        <button onClick={add} disabled={!loaded || busy || (choice === "+" && !newName.trim())} data-testid="confirm-add">
          {busy ? "Adding…" : "Add"}
        </button>
        <button onClick={() => onClose(null)} data-testid="cancel-add">
          Cancel
        </button>
      </div>
      {error && (
        <div className="error" data-testid="add-dataset-error">
          {error}
        </div>
      )}
    </Dialog>
  );
}

export type Added = { dataset: { id: string; name: string }; count: number };

/** What an Add to dataset wrote, once its dialog closed: the count and a link to the dataset. */
export function AddedNotice({ project, added }: { project: Project; added: Added }) {
  return (
    <div className="ok" data-testid="added-to-dataset">
      Added {added.count} span{added.count === 1 ? "" : "s"} to <a href={href(["p", project.id, "datasets", added.dataset.id])}>{added.dataset.name}</a>.
    </div>
  );
}
