// A JSON viewer that stays fast on big values: long strings are cut, long arrays and objects
// show their first entries, and nodes below the first levels start collapsed.
import { useState } from "react";

const MAX_STRING = 2000;
const MAX_ENTRIES = 100;

export function Json({ value, depth = 0 }: { value: unknown; depth?: number }) {
  if (value === null || value === undefined) return <span className="j-null">null</span>;
  if (typeof value === "string") return <JsonString value={value} />;
  if (typeof value === "number") return <span className="j-num">{value}</span>;
  if (typeof value === "boolean") return <span className="j-bool">{String(value)}</span>;
  return <JsonNode value={value as object} depth={depth} />;
}

function JsonString({ value }: { value: string }) {
  const [all, setAll] = useState(false);
  if (value.length <= MAX_STRING || all) return <span className="j-str">{value}</span>;
  return (
    <span className="j-str">
      {value.slice(0, MAX_STRING)}
      <button className="link" onClick={() => setAll(true)}>
        … show {value.length - MAX_STRING} more characters
      </button>
    </span>
  );
}

function JsonNode({ value, depth }: { value: object; depth: number }) {
  const [open, setOpen] = useState(depth < 2);
  const [limit, setLimit] = useState(MAX_ENTRIES);
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const brackets = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) return <span>{brackets.join("")}</span>;
  if (!open)
    return (
      <button className="link" onClick={() => setOpen(true)}>
        {brackets[0]} {entries.length} {Array.isArray(value) ? "items" : "keys"} {brackets[1]}
      </button>
    );
  return (
    <div className="j-node">
      <button className="link" onClick={() => setOpen(false)}>
        {brackets[0]}
      </button>
      {entries.slice(0, limit).map(([k, v]) => (
        <div key={k} className="j-entry">
          <span className="j-key">{k}:</span> <Json value={v} depth={depth + 1} />
        </div>
      ))}
      {entries.length > limit && (
        <button className="link" onClick={() => setLimit(limit + MAX_ENTRIES * 10)}>
          show more ({entries.length - limit} left)
        </button>
      )}
      <span>{brackets[1]}</span>
    </div>
  );
}
