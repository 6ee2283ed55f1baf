// Human review on a span or a dataset row: one control per score configuration of the project
// (/v1/project_score): a 0-1 slider, the categories of a categorical score (a click writes the
// category's value as a score, or its name to the configuration's destination: "write to
// expected" labels the row; with several such scores expected holds {score name: category
// name}), a text box for a free-form score (written to expected or a metadata path); sliders and text save themselves shortly after the last change.
// A dataset row has no scores: there every answer is a merge write of the row (a new version),
// a slider's value and a category without a destination at metadata.<name>.
// "Configure" adds and deletes configurations.
import { useEffect, useState } from "react";
import { request } from "../api";
import { existingNamed, reloadProjectConfig, ScoreConfig, useProjectConfig, useScoreConfigs } from "../projectConfig";
import type { ReviewSource } from "./Review";

function getPath(value: any, path: string[]): any {
  return path.reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), value);
}

/** Where a control's answer is written: `expected`, a metadata path, or null for a score. */
export function destinationOf(config: ScoreConfig, source: ReviewSource): string | null {
  const destination = config.config?.destination || null;
  if (config.score_type === "free-form") return destination || `metadata.${config.name}`;
  if (config.score_type === "categorical" && destination) return destination;
  // A dataset row has no scores field (Braintrust's neither): the answer goes into its metadata.
  return source.type === "dataset" ? `metadata.${config.name}` : null;
}

function readDestination(row: any, dest: string): any {
  return dest === "expected" ? row.expected : getPath(row.metadata, dest.split(".").slice(1));
}

/** Write `value` to `dest` of the row: a merge (a span's expected through feedback). */
async function writeDestination(source: ReviewSource, row: any, dest: string, value: unknown) {
  if (dest === "expected" && source.type !== "dataset") {
    await request(`v1/${source.type}/${source.id}/feedback`, { body: { feedback: [{ id: row.id, expected: value, source: "app" }] } });
    return;
  }
  // metadata.a.b -> {metadata: {a: {b: value}}}, merged into the row.
  const event: any = { id: row.id, _is_merge: true };
  if (dest === "expected") event.expected = value;
  else event.metadata = dest.split(".").slice(1).reduceRight<any>((inner, key) => ({ [key]: inner }), value);
  await request(`v1/${source.type}/${source.id}/insert`, { body: { events: [event] } });
}

async function writeScore(source: ReviewSource, row: any, name: string, value: number | null) {
  await request(`v1/${source.type}/${source.id}/feedback`, { body: { feedback: [{ id: row.id, scores: { [name]: value }, source: "app" }] } });
}

type Props = { source: ReviewSource; row: any; onSaved: () => void | Promise<void> };

/** Autosave: `save(value)` runs `delay` ms after the last change the reviewer made. */
function useAutosave<T>(value: T, touched: boolean, save: (v: T) => Promise<void>, delay: number) {
  const [status, setStatus] = useState("");
  useEffect(() => {
    if (!touched) return;
    setStatus("unsaved");
    const timer = setTimeout(async () => {
      setStatus("saving…");
      try {
        await save(value);
        setStatus("saved");
      } catch (e: any) {
        setStatus(`not saved: ${e.message}`);
      }
    }, delay);
    return () => clearTimeout(timer);
  }, [value, touched]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <span className={"muted autosave" + (status.startsWith("not") ? " error" : "")} data-testid="autosave" data-status={status}>
      {status}
    </span>
  );
}

function Slider({ config, source, row, onSaved }: Props & { config: ScoreConfig }) {
  const dest = destinationOf(config, source);
  const current = dest ? readDestination(row, dest) : row.scores?.[config.name];
  const [value, setValue] = useState<number>(typeof current === "number" ? current : 0.5);
  const [touched, setTouched] = useState(false);
  const status = useAutosave(
    value,
    touched,
    async (v) => {
      if (dest) await writeDestination(source, row, dest, v);
      else await writeScore(source, row, config.name, v);
      await onSaved(); // (the row read again: a dataset row's editor awaits it)
    },
    500,
  );
  return (
    <span className="review-control">
      <input
        type="range"
        min={0}
        max={1}
        step={0.05}
        value={value}
        onChange={(e) => {
          setValue(Number(e.target.value));
          setTouched(true);
        }}
        data-testid="review-slider"
      />
      <span className="num">{typeof current === "number" || touched ? `${Math.round(value * 100)}%` : "not scored"}</span>
      {status}
    </span>
  );
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

function Categorical({ config, source, row, onSaved, keyed }: Props & { config: ScoreConfig; keyed: boolean }) {
  // Written to a destination, a category is its name (a label); else its value, a score.
  // `keyed`: several categorical scores write to expected, which then holds {score name: category
  // name} (as Braintrust stores them; one alone writes a plain string).
  const dest = destinationOf(config, source);
  const stored = dest ? readDestination(row, dest) : row.scores?.[config.name];
  const current = keyed ? (isObject(stored) ? stored[config.name] : undefined) : stored;
  const [error, setError] = useState<string | null>(null);
  const pick = async (category: { name: string; value: number }) => {
    setError(null);
    try {
      if (dest && keyed) await writeDestination(source, row, dest, { ...(isObject(stored) ? stored : {}), [config.name]: category.name });
      else if (dest) await writeDestination(source, row, dest, category.name);
      else await writeScore(source, row, config.name, category.value);
      await onSaved();
    } catch (e: any) {
      setError(`not saved: ${e.message}`);
    }
  };
  return (
    <span className="review-control">
      <span className="segmented">
        {(config.categories || []).map((c) => (
          <button
            key={c.name}
            className={(dest ? current === c.name : current === c.value) ? "on" : ""}
            onClick={() => pick(c)}
            title={dest ? `write “${c.name}” to ${dest}${keyed ? `.${config.name}` : ""}` : `score ${c.value}`}
            data-testid="review-category"
          >
            {c.name}
          </button>
        ))}
      </span>
      {error && (
        <span className="error" data-testid="review-error">
          {error}
        </span>
      )}
    </span>
  );
}

function FreeForm({ config, source, row, onSaved }: Props & { config: ScoreConfig }) {
  const dest = destinationOf(config, source)!;
  const stored = readDestination(row, dest);
  const [text, setText] = useState(stored == null ? "" : typeof stored === "string" ? stored : JSON.stringify(stored));
  const [touched, setTouched] = useState(false);
  const status = useAutosave(
    text,
    touched,
    async (value) => {
      await writeDestination(source, row, dest, value);
      await onSaved();
    },
    800,
  );
  return (
    <span className="review-control free">
      <textarea
        rows={2}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setTouched(true);
        }}
        placeholder={`written to ${dest}`}
        data-testid="review-text"
      />
      {status}
    </span>
  );
}

function ConfigForm({ projectId }: { projectId: string }) {
  const [name, setName] = useState("");
  const [type, setType] = useState("slider");
  const [cats, setCats] = useState("good=1, bad=0");
  const [dest, setDest] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    const body: any = { project_id: projectId, name: name.trim(), score_type: type };
    if (type === "categorical")
      body.categories = cats
        .split(",")
        .map((c) => c.trim())
        .filter(Boolean)
        .map((c) => {
          const [n, v] = c.split("=");
          return { name: n.trim(), value: Number(v) };
        });
    if ((type === "free-form" || type === "categorical") && dest.trim()) body.config = { destination: dest.trim() };
    try {
      if (await existingNamed(projectId, "scores", name.trim()))
        return setError(`A score named “${name.trim()}” is already configured: choose another name, or delete that one first.`);
      await request("v1/project_score", { body });
      await reloadProjectConfig(projectId);
      setName("");
    } catch (e: any) {
      setError(e.message);
    }
  };
  return (
    <div className="row-form" data-testid="score-config-form">
      <input value={name} onChange={(e) => setName(e.target.value)} placeholder="score name" data-testid="config-name" />
      <select value={type} onChange={(e) => setType(e.target.value)} data-testid="config-type">
        <option value="slider">slider (0–1)</option>
        <option value="categorical">categorical</option>
        <option value="free-form">free-form</option>
      </select>
      {type === "categorical" && <input value={cats} onChange={(e) => setCats(e.target.value)} title="name=value, …" data-testid="config-categories" />}
      {(type === "free-form" || type === "categorical") && (
        <input
          value={dest}
          onChange={(e) => setDest(e.target.value)}
          placeholder={type === "categorical" ? "a score, or write to expected / metadata.path" : "expected or metadata.path"}
          title={type === "categorical" ? "Empty: the category's value is a score. expected or metadata.path: its name is written there (a label)." : undefined}
          data-testid="config-destination"
        />
      )}
      <button disabled={!name.trim()} onClick={submit} data-testid="config-save">
        Add
      </button>
      {error && (
        <span className="error" data-testid="config-form-error">
          {error}
        </span>
      )}
    </div>
  );
}

export function HumanReview({ projectId, ...props }: Props & { projectId: string }) {
  const row = props.row;
  useProjectConfig(projectId); // (a dataset row's editor may be the first screen opened)
  const configs = useScoreConfigs().filter((c) => c.score_type !== "online");
  const onDataset = props.source.type === "dataset";
  const labelsInExpected = configs.filter((c) => c.score_type === "categorical" && c.config?.destination === "expected").length;
  const [configuring, setConfiguring] = useState(false);
  // Deleting a configuration: the one being deleted, and why the last one was not.
  const [deleting, setDeleting] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const remove = async (c: ScoreConfig) => {
    setDeleting(c.id);
    setDeleteError(null);
    try {
      await request(`v1/project_score/${c.id}`, { method: "DELETE" });
      await reloadProjectConfig(projectId);
    } catch (e: any) {
      setDeleteError(`${c.name} not deleted: ${e.message}`);
      // (another user may have deleted it meanwhile: show what is stored)
      await reloadProjectConfig(projectId).catch(() => undefined);
    } finally {
      setDeleting(null);
    }
  };
  return (
    <section className="review" data-testid="human-review">
      <h4>
        Human review{" "}
        <button className="link" onClick={() => setConfiguring(!configuring)} data-testid="configure-scores">
          {configuring ? "done" : "configure"}
        </button>
      </h4>
      {configs.length === 0 && !configuring && <div className="muted">No score configurations in this project: “configure” adds one.</div>}
      {onDataset && configs.length > 0 && (
        <div className="muted" data-testid="review-dataset-note">
          A dataset row has no scores: each answer is written into the row (a new version), at the place shown beside it — a slider's value and a category without a
          destination at <code>metadata.&lt;name&gt;</code>.
        </div>
      )}
      {configs.map((c) => (
        <div key={c.id + row.id} className="review-row" data-testid="review-score" data-name={c.name}>
          <span className="review-name" title={c.description || undefined}>
            {c.name} <span className="muted">{c.score_type}</span>
            {destinationOf(c, props.source) && (
              <span className="muted" data-testid="review-destination">
                {" "}
                → {destinationOf(c, props.source)}
                {c.score_type === "categorical" && labelsInExpected > 1 && c.config?.destination === "expected" ? `.${c.name}` : ""}
              </span>
            )}
          </span>
          {c.score_type === "slider" && <Slider config={c} {...props} />}
          {c.score_type === "categorical" && <Categorical config={c} keyed={labelsInExpected > 1 && c.config?.destination === "expected"} {...props} />}
          {c.score_type === "free-form" && <FreeForm config={c} {...props} />}
          {configuring && (
            <button className="icon" title={`Delete the configuration ${c.name}`} disabled={deleting !== null} onClick={() => remove(c)} data-testid="config-delete">
              ×
            </button>
          )}
        </div>
      ))}
      {configuring && deleteError && (
        <div className="error" data-testid="config-error">
          {deleteError}
        </div>
      )}
      {configuring && <ConfigForm projectId={projectId} />}
    </section>
  );
}
