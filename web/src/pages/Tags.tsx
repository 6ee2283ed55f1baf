// Project tags: a chip in the tag's configured colour (everywhere a tag is shown), and the
// tag manager of a project (name, colour, description; add, edit, delete).
import { MouseEvent, ReactNode, useEffect, useRef, useState } from "react";
import { request } from "../api";
import { existingNamed, ProjectTag, reloadProjectConfig, textOn, useProjectTags } from "../projectConfig";
import { Dialog } from "../components/Dialog";

export function TagChip({ name, children, onClick }: { name: string; children?: ReactNode; onClick?: (e: MouseEvent) => void }) {
  const tag = useProjectTags().find((t) => t.name === name);
  const style = tag?.color ? { background: tag.color, color: textOn(tag.color) } : undefined;
  const title = [tag?.description, onClick ? `Filter by ${name}` : ""].filter(Boolean).join(" · ");
  return (
    <span className={"tag" + (onClick ? " clickable" : "")} style={style} title={title || undefined} onClick={onClick} data-testid="tag-chip" data-color={tag?.color || ""}>
      {name}
      {children}
    </span>
  );
}

const PALETTE = ["#4f6bed", "#1f8a55", "#c63a3a", "#d98e04", "#8e44ad", "#00838f", "#6b7385"];

function TagRow({ tag, projectId }: { tag: ProjectTag; projectId: string }) {
  // The colour picked, or null while the tag has none and none was picked: a colourless tag
  // shows grey in the input, and focusing and leaving it stores nothing.
  const [color, setColor] = useState<string | null>(tag.color || null);
  const [description, setDescription] = useState(tag.description || "");
  const [error, setError] = useState<string | null>(null);
  const save = async (patch: object) => {
    setError(null);
    try {
      await request(`v1/project_tag/${tag.id}`, { method: "PATCH", body: patch });
      await reloadProjectConfig(projectId);
    } catch (e: any) {
      setError(e.message);
    }
  };
  // A picked colour is saved when the input is left, and otherwise a moment after the pick (a
  // picker closed with Escape, which also closes the manager, leaves no blur behind) or when the
  // row goes away; only a real change is saved, once.
  const pending = useRef<string | null>(null);
  const timer = useRef<number | undefined>(undefined);
  const flush = () => {
    window.clearTimeout(timer.current);
    const picked = pending.current;
    pending.current = null;
    if (picked !== null && picked !== (tag.color || null)) save({ color: picked });
  };
  const flushRef = useRef(flush);
  flushRef.current = flush;
  useEffect(() => () => flushRef.current(), []);
  const pick = (value: string) => {
    setColor(value);
    pending.current = value;
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => flushRef.current(), 400);
  };
  return (
    <tr data-testid="tag-config-row">
      <td>
        <TagChip name={tag.name} />
      </td>
      <td>
        <input type="color" value={color || "#6b7385"} onChange={(e) => pick(e.target.value)} onBlur={flush} data-testid="tag-config-color" data-color={color || ""} />
      </td>
      <td>
        <input value={description} onChange={(e) => setDescription(e.target.value)} onBlur={() => description !== (tag.description || "") && save({ description })} placeholder="description" />
        {error && <div className="error">{error}</div>}
      </td>
      <td>
        <button
          className="icon"
          title={`Delete ${tag.name}`}
          onClick={async () => {
            setError(null);
            try {
              await request(`v1/project_tag/${tag.id}`, { method: "DELETE" });
              await reloadProjectConfig(projectId);
            } catch (e: any) {
              setError(`Not deleted: ${e.message}`);
            }
          }}
        >
          ×
        </button>
      </td>
    </tr>
  );
}

export function TagManager({ projectId, onClose }: { projectId: string; onClose: () => void }) {
  const tags = useProjectTags();
  const [name, setName] = useState("");
  const [color, setColor] = useState(PALETTE[tags.length % PALETTE.length]);
  const [description, setDescription] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog testId="tag-manager" wide closeOnBackdrop onClose={onClose}>
      <h3>Project tags</h3>
      <p className="muted">A configured tag is shown in its colour in tables and traces, and suggested when tagging.</p>
      <table className="simple">
        <tbody>
          {tags.map((t) => (
            // Keyed on the id alone: a colour saved while its picker is still open does not
            // remount the row (which closed the picker); the row's fields hold what was saved.
            <TagRow key={t.id} tag={t} projectId={projectId} />
          ))}
        </tbody>
      </table>
      <form
        className="row-form"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            if (await existingNamed(projectId, "tags", name.trim()))
              return setError(`A tag named “${name.trim()}” already exists: change its colour or description in the list above.`);
            await request("v1/project_tag", { body: { project_id: projectId, name: name.trim(), color, description: description.trim() || null } });
            await reloadProjectConfig(projectId);
            setName("");
            setDescription("");
            setColor(PALETTE[(tags.length + 1) % PALETTE.length]);
          } catch (err: any) {
            setError(err.message);
          }
        }}
      >
        <input value={name} onChange={(e) => setName(e.target.value)} placeholder="tag name" data-testid="new-tag-name" />
        <input type="color" value={color} onChange={(e) => setColor(e.target.value)} data-testid="new-tag-color" />
        <input value={description} onChange={(e) => setDescription(e.target.value)} placeholder="description" />
        <button className="primary" disabled={!name.trim()} data-testid="new-tag-save">
          Add tag
        </button>
      </form>
      {error && (
        <div className="error" data-testid="tag-manager-error">
          {error}
        </div>
      )}
      <div>
        <button onClick={onClose} data-testid="tag-manager-close">
          Close
        </button>
      </div>
    </Dialog>
  );
}
